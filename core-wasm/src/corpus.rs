//! The file contents of a workspace, held in memory and kept in the order
//! rg's `--sort path` walks them.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use crate::sketch::{GramCounts, Sketch};

/// One file: its absolute path and its bytes.
#[derive(Debug)]
pub struct FileEntry {
    pub path: String,
    pub data: Box<[u8]>,
    /// Offset of the first NUL byte (rg's binary test), found once by
    /// [`Corpus::prepare`] so searches need not rescan.
    pub first_nul: Option<usize>,
    /// Holds ſ or the Kelvin sign, which `(?i)s` and `(?i)k` match (see
    /// [`crate::prefilter::holds_wide_folds`]); found with `first_nul`.
    pub wide_folds: bool,
    /// Found by walking a directory (not only named as a file): only such
    /// files are searched when their directory is.
    pub walked: bool,
    /// Trigram sketch, once [`Corpus::build_sketches`] has made one.
    pub sketch: Option<Sketch>,
    scanned: bool,
}

#[derive(Debug, Default)]
pub struct Corpus {
    files: Vec<FileEntry>,
    by_path: HashMap<String, usize>,
    /// Files are in walk order and indexed: no file was added or removed
    /// since the last [`Corpus::prepare`].
    sorted: bool,
    /// Some file's bytes changed in place (same path): only those files
    /// need scanning again; order, index and selections still hold. An
    /// edit rewrites one file, and re-sorting every file after it made the
    /// next search twice as slow.
    rescan: bool,
    bytes: usize,
    /// Trigram frequencies of the sketched files (never decreased: a
    /// heuristic for choosing needles, not an index).
    gram_counts: GramCounts,
    /// Recent filter verdicts, most recent first (see [`Corpus::selection`]).
    selections: RefCell<Vec<(String, Rc<[u32]>)>>,
}

/// How many filter verdicts [`Corpus::selection`] keeps: agents send a
/// handful of globs (`*.rs`, `*.py`, ...) over and over.
const SELECTIONS_KEPT: usize = 16;

/// Orders paths as a depth-first walk that visits each directory's entries
/// sorted by name: component by component, so `a/b` sorts before `a.txt`.
pub fn walk_order(a: &str, b: &str) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

impl Corpus {
    pub fn new() -> Corpus {
        Corpus::default()
    }

    /// Makes room for a file of `len` bytes at `path` (replacing any old
    /// contents) and returns the buffer for the caller to fill.
    pub fn insert(&mut self, path: &str, len: usize, walked: bool) -> &mut [u8] {
        let data = vec![0u8; len].into_boxed_slice();
        self.bytes += len;
        let i = match self.by_path.get(path) {
            Some(&i) => {
                self.bytes -= self.files[i].data.len();
                self.files[i].data = data;
                self.files[i].scanned = false;
                self.files[i].sketch = None;
                if walked && !self.files[i].walked {
                    self.files[i].walked = true;
                    self.sorted = false; // selections may depend on it
                }
                self.rescan = true;
                i
            }
            None => {
                self.files.push(FileEntry {
                    path: path.to_string(),
                    data,
                    first_nul: None,
                    wide_folds: false,
                    walked,
                    sketch: None,
                    scanned: false,
                });
                self.by_path.insert(path.to_string(), self.files.len() - 1);
                self.sorted = false;
                self.files.len() - 1
            }
        };
        &mut self.files[i].data
    }

    /// Keeps only the first `len` bytes of a file.
    pub fn truncate(&mut self, path: &str, len: usize) {
        if let Some(&i) = self.by_path.get(path) {
            let f = &mut self.files[i];
            if len < f.data.len() {
                self.bytes -= f.data.len() - len;
                f.data = f.data[..len].into();
                f.scanned = false;
                f.sketch = None;
                self.rescan = true;
            }
        }
    }

    /// Forgets a file; returns whether it was held.
    pub fn remove(&mut self, path: &str) -> bool {
        let Some(i) = self.by_path.remove(path) else { return false };
        let entry = self.files.swap_remove(i);
        self.bytes -= entry.data.len();
        if i < self.files.len() {
            self.by_path.insert(self.files[i].path.clone(), i);
        }
        self.sorted = false;
        true
    }

    /// Forgets every file inside directory `dir`; returns how many.
    pub fn remove_under(&mut self, dir: &str) -> usize {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let doomed: Vec<String> =
            self.files.iter().filter(|f| f.path.starts_with(&prefix)).map(|f| f.path.clone()).collect();
        doomed.iter().filter(|p| self.remove(p)).count()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Builds n-gram sketches for files that lack one, stopping once about
    /// `budget` bytes of files were read; returns how many still lack one.
    /// Sketches pay off when a corpus is searched many times, so callers
    /// build them in the background, a slice at a time.
    pub fn build_sketches(&mut self, budget: usize) -> usize {
        let mut spent = 0;
        let mut left = 0;
        for f in self.files.iter_mut().filter(|f| f.sketch.is_none()) {
            if spent >= budget {
                left += 1;
                continue;
            }
            spent += f.data.len();
            f.sketch = Some(Sketch::build(&f.data, &mut self.gram_counts));
        }
        left
    }

    /// How common each trigram is, once some files are sketched.
    pub fn gram_counts(&self) -> Option<&GramCounts> {
        (!self.gram_counts.is_empty()).then_some(&self.gram_counts)
    }

    /// Bytes the sketches take.
    pub fn sketch_bytes(&self) -> usize {
        self.files.iter().filter_map(|f| f.sketch.as_ref()).map(Sketch::bytes).sum()
    }

    /// Total bytes of file contents held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.by_path.get(path).map(|&i| &self.files[i])
    }

    /// Sorts into walk order and indexes binary data, if files were added,
    /// changed or removed since the last call.
    pub fn prepare(&mut self) {
        if self.sorted && !self.rescan {
            return;
        }
        for f in self.files.iter_mut().filter(|f| !f.scanned) {
            f.first_nul = memchr::memchr(0, &f.data);
            f.wide_folds = crate::prefilter::holds_wide_folds(&f.data);
            f.scanned = true;
        }
        self.rescan = false;
        if self.sorted {
            return;
        }
        self.files.sort_unstable_by(|a, b| walk_order(&a.path, &b.path));
        for (i, f) in self.files.iter().enumerate() {
            *self.by_path.get_mut(&f.path).expect("indexed") = i;
        }
        self.selections.borrow_mut().clear();
        self.sorted = true;
    }

    /// All files, in walk order. Call [`Corpus::prepare`] first.
    pub fn files(&self) -> &[FileEntry] {
        debug_assert!(self.sorted);
        &self.files
    }

    /// The indices of [`Corpus::files`] that `compute` picks, remembered
    /// under `key` until the corpus changes: a glob's verdict on every path
    /// costs milliseconds, and agents repeat their globs. Equal keys must
    /// mean equal picks.
    pub fn selection(&self, key: &str, compute: impl FnOnce(&[FileEntry]) -> Vec<u32>) -> Rc<[u32]> {
        let mut kept = self.selections.borrow_mut();
        if let Some(i) = kept.iter().position(|(k, _)| k == key) {
            let hit = kept.remove(i);
            kept.insert(0, hit);
            return kept[0].1.clone();
        }
        let picked: Rc<[u32]> = compute(self.files()).into();
        kept.insert(0, (key.to_string(), picked.clone()));
        kept.truncate(SELECTIONS_KEPT);
        picked
    }

    /// The indices in [`Corpus::files`] of the files strictly inside
    /// directory `dir`, in walk order. Call [`Corpus::prepare`] first.
    pub fn under_range(&self, dir: &str) -> Range<usize> {
        debug_assert!(self.sorted);
        let dir = dir.trim_end_matches('/');
        let prefix = format!("{dir}/");
        let lo = self.files.partition_point(|f| walk_order(&f.path, &prefix) == Ordering::Less);
        let hi = lo + self.files[lo..].partition_point(|f| f.path.starts_with(&prefix));
        lo..hi
    }
}

/// What [`Corpus::import_sketches`] did with a saved sketch file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SketchImport {
    /// Sketches restored onto files with the same length and content hash.
    pub restored: usize,
    /// Saved for a file held here whose bytes differ: not used.
    pub changed: usize,
    /// Saved for a path not held here (or already sketched).
    pub other: usize,
}

impl Corpus {
    /// Every sketch built so far, with each file's length and content hash
    /// (see [`crate::sketch_file`]).
    pub fn export_sketches(&self) -> Vec<u8> {
        let files = self.files.iter().filter_map(|f| f.sketch.as_ref().map(|s| (f.path.as_str(), &f.data[..], s)));
        crate::sketch_file::encode(files, &self.gram_counts)
    }

    /// Restores saved sketches onto files that lack one and whose bytes
    /// have the saved length and content hash.
    /// Errors: the saved bytes are refused as a whole (truncated, corrupt,
    /// another build's); nothing is restored.
    pub fn import_sketches(&mut self, bytes: &[u8]) -> Result<SketchImport, String> {
        let (counts, saved) = crate::sketch_file::decode(bytes)?;
        let mut report = SketchImport::default();
        for s in saved {
            let Some(f) = self.by_path.get(&s.path).map(|&i| &mut self.files[i]).filter(|f| f.sketch.is_none())
            else {
                report.other += 1;
                continue;
            };
            if f.data.len() as u64 == s.len && crate::content_hash::xxh64(&f.data) == s.hash {
                f.sketch = Some(s.sketch);
                report.restored += 1;
            } else {
                report.changed += 1;
            }
        }
        if report.restored > 0 {
            self.gram_counts.absorb(&counts);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_order_is_per_component() {
        let mut v = vec!["/r/a.txt", "/r/a/b", "/r/B", "/r/a-b"];
        v.sort_by(|a, b| walk_order(a, b));
        assert_eq!(v, vec!["/r/B", "/r/a/b", "/r/a-b", "/r/a.txt"]);
    }

    #[test]
    fn a_file_changed_in_place_is_rescanned_without_reordering() {
        let mut c = Corpus::new();
        c.insert("/r/b.rs", 1, true);
        c.insert("/r/a.rs", 1, true);
        c.prepare();
        let pick_all = |files: &[FileEntry]| (0..files.len() as u32).collect();
        assert_eq!(c.selection("k", pick_all).len(), 2);
        c.insert("/r/b.rs", 3, true).copy_from_slice(b"x\0y");
        c.prepare();
        assert_eq!(c.get("/r/b.rs").unwrap().first_nul, Some(1), "the new bytes were not scanned");
        assert_eq!(c.files()[1].path, "/r/b.rs");
        assert_eq!(c.selection("k", |_| unreachable!("kept")).len(), 2);
    }

    #[test]
    fn selections_are_forgotten_when_files_change() {
        let mut c = Corpus::new();
        c.insert("/r/a.rs", 1, true);
        c.prepare();
        let pick_all = |files: &[FileEntry]| (0..files.len() as u32).collect();
        assert_eq!(c.selection("k", pick_all).len(), 1);
        c.insert("/r/b.rs", 1, true);
        c.prepare();
        assert_eq!(c.selection("k", pick_all).len(), 2, "a stale selection was reused");
        assert_eq!(c.selection("k", |_| unreachable!("kept")).len(), 2);
    }

    #[test]
    fn under_selects_a_subtree() {
        let mut c = Corpus::new();
        for p in ["/r/a/x", "/r/a.txt", "/r/ab/y", "/r/a/b/z"] {
            c.insert(p, 1, true);
        }
        c.prepare();
        let got: Vec<_> = c.files()[c.under_range("/r/a")].iter().map(|f| f.path.as_str()).collect();
        assert_eq!(got, vec!["/r/a/b/z", "/r/a/x"]);
        assert_eq!(c.under_range("/r").len(), 4);
        assert!(c.remove("/r/a/x"));
        assert_eq!(c.remove_under("/r/ab"), 1);
        c.prepare();
        assert_eq!(c.under_range("/r/a").len(), 1);
        assert_eq!(c.under_range("/r").len(), 2);
    }

    #[test]
    fn saved_sketches_are_restored_only_onto_the_same_bytes() {
        let mut c = Corpus::new();
        c.insert("/r/a.c", 12, true).copy_from_slice(b"kmalloc(x);\n");
        c.insert("/r/b.c", 12, true).copy_from_slice(b"vmalloc(y);\n");
        c.build_sketches(usize::MAX);
        let saved = c.export_sketches();
        let mut d = Corpus::new();
        d.insert("/r/a.c", 12, true).copy_from_slice(b"kmalloc(x);\n");
        d.insert("/r/b.c", 12, true).copy_from_slice(b"vmalloc(z);\n"); // same length, new bytes
        d.insert("/r/c.c", 1, true);
        let report = d.import_sketches(&saved).expect("valid");
        assert_eq!(report, SketchImport { restored: 1, changed: 1, other: 0 });
        assert!(d.get("/r/a.c").unwrap().sketch.is_some());
        assert!(d.get("/r/b.c").unwrap().sketch.is_none(), "a sketch of other bytes was restored");
        assert_eq!(d.build_sketches(0), 2);
        assert!(d.import_sketches(&saved[..saved.len() - 1]).is_err());
    }
}
