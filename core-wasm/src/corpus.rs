//! The file contents of a workspace, held in memory and kept in the order
//! rg's `--sort path` walks them.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use crate::blobs::{Blob, BlobRef};
use crate::sketch::{GramCounts, QuickSketch, Sketch, SketchInProgress};

/// One file: its absolute path and its bytes.
#[derive(Debug)]
pub struct FileEntry {
    pub path: String,
    /// Once sealed, shared with every identical file of this instance, its
    /// sketch included (see [`crate::blobs`]).
    pub data: Blob,
    /// Offset of the first NUL byte (rg's binary test), found once when the
    /// file is sealed (or by [`Corpus::prepare`]) so searches need not rescan.
    pub first_nul: Option<usize>,
    /// Holds ſ or the Kelvin sign, which `(?i)s` and `(?i)k` match (see
    /// [`crate::prefilter::holds_wide_folds`]); found with `first_nul`.
    pub wide_folds: bool,
    /// The byte order of its UTF-16 byte-order mark, if it starts with one;
    /// found with `first_nul`, so that a search its sketch rules out never
    /// touches its bytes (a cache miss per file: a search of Linux's 78k
    /// files that none matches took 34 ms in one thread, then 29).
    pub utf16: Option<crate::transcode::Utf16>,
    /// Found by walking a directory (not only named as a file): only such
    /// files are searched when their directory is.
    pub walked: bool,
    /// Its bytes are in the corpus's [`GramCounts`] (by
    /// [`Corpus::build_sketches`], which also sketches it unless a holder
    /// of the same bytes did).
    counted: bool,
    scanned: bool,
    /// A first sketch of these bytes, until the full one is built (see
    /// [`Corpus::build_sketches`]). Not shared with clones: it is only
    /// there for the first seconds after a load.
    quick: Option<QuickSketch>,
}

impl FileEntry {
    /// The file's n-gram sketch, once some holder of its bytes built one.
    pub fn sketch(&self) -> Option<&Sketch> {
        self.data.sketch()
    }

    /// The file's quick sketch, while it has no full one.
    pub fn quick_sketch(&self) -> Option<&QuickSketch> {
        self.quick.as_ref().filter(|_| self.data.sketch().is_none())
    }

    /// [`FileEntry::sketch`] when it can rule the file out of a search:
    /// not for a UTF-16 file, whose sketch holds its bytes rather than
    /// the text searched (see [`crate::transcode`]).
    pub fn sketch_of_text(&self) -> Option<&Sketch> {
        self.sketch().filter(|_| self.utf16.is_none())
    }

    /// [`FileEntry::quick_sketch`], likewise.
    pub fn quick_sketch_of_text(&self) -> Option<&QuickSketch> {
        self.quick_sketch().filter(|_| self.utf16.is_none())
    }

    /// Bytes its sketch takes, full or quick.
    fn sketch_bytes(&self) -> usize {
        self.sketch().map_or_else(|| self.quick.as_ref().map_or(0, QuickSketch::bytes), Sketch::bytes)
    }

    /// Applies `op` to the file's blob (which it takes and gives back).
    fn map_data(&mut self, op: impl FnOnce(Blob) -> Blob) {
        let data = std::mem::replace(&mut self.data, Blob::fresh(0));
        self.data = op(data);
    }

    fn seal(&mut self) {
        if !self.data.is_sealed() {
            self.map_data(Blob::seal);
        }
    }

    /// Seals the file and finds what searches need of its bytes, once.
    fn seal_and_scan(&mut self) {
        self.seal();
        if !self.scanned {
            (self.first_nul, self.wide_folds) = crate::prefilter::scan_nul_and_wide_folds(&self.data);
            self.utf16 = crate::transcode::utf16_bom(&self.data);
            self.scanned = true;
        }
    }
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
    /// The sketch [`Corpus::build_sketches`] stopped in the middle of, and
    /// whose bytes it is of.
    in_progress: Option<(BlobRef, SketchInProgress)>,
    /// Recent filter verdicts, most recent first (see [`Corpus::selection`]).
    selections: RefCell<Vec<(String, Rc<[u32]>)>>,
}

/// How much dearer a byte is to sketch in full than quickly (measured: 7.6
/// against 1.6 ns natively).
const QUICK_COST_RATIO: usize = 4;

/// How often [`Corpus::build_sketches_until`] asks whether to go on: about
/// 0.3-0.6 ms of sketching in full (10-20 ns a byte).
const SKETCH_POLL_BYTES: usize = 32 << 10;

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
    /// contents) and returns the buffer for the caller to fill, in a blob of
    /// its own (old contents may be shared: they are let go, not changed).
    /// Then [`Corpus::seal`] it.
    pub fn insert(&mut self, path: &str, len: usize, walked: bool) -> &mut [u8] {
        let data = Blob::fresh(len);
        self.bytes += len;
        let i = match self.by_path.get(path) {
            Some(&i) => {
                self.bytes -= self.files[i].data.len();
                self.files[i].data = data;
                self.files[i].scanned = false;
                if walked && !self.files[i].walked {
                    self.files[i].walked = true;
                    self.sorted = false; // selections may depend on it
                }
                self.rescan = true;
                self.files[i].counted = false;
                self.files[i].quick = None;
                i
            }
            None => {
                self.files.push(FileEntry {
                    path: path.to_string(),
                    data,
                    first_nul: None,
                    wide_folds: false,
                    utf16: None,
                    walked,
                    counted: false,
                    scanned: false,
                    quick: None,
                });
                self.by_path.insert(path.to_string(), self.files.len() - 1);
                self.sorted = false;
                self.files.len() - 1
            }
        };
        self.files[i].data.fill().expect("a fresh blob")
    }

    /// Marks a file [`Corpus::insert`] made room for as filled with `len`
    /// bytes (fewer when it shrank while being read). It is then hashed and
    /// shares the bytes (and sketch) of any identical file held in this
    /// instance; unsealed files are sealed by [`Corpus::prepare`]. Its bytes
    /// are scanned for what searches need here, while the load has them in
    /// the CPU's cache (a first search of Linux's 1.3 GB spent 0.5 s on it).
    pub fn seal(&mut self, path: &str, len: usize) {
        self.truncate(path, len);
        if let Some(&i) = self.by_path.get(path) {
            self.files[i].seal_and_scan();
        }
    }

    /// Keeps only the first `len` bytes of a file.
    pub fn truncate(&mut self, path: &str, len: usize) {
        if let Some(&i) = self.by_path.get(path) {
            let f = &mut self.files[i];
            if len < f.data.len() {
                self.bytes -= f.data.len() - len;
                f.map_data(|d| d.truncated(len));
                f.scanned = false;
                self.rescan = true;
                f.counted = false;
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
    /// A file larger than the budget is sketched over several calls.
    ///
    /// Every file first gets a [`QuickSketch`] (its bytes count a quarter
    /// against `budget`), then its full sketch, begun from the quick one:
    /// Linux's 1.3 GB have quick sketches a few seconds after the load,
    /// and full ones only after tens of seconds of CPU.
    pub fn build_sketches(&mut self, budget: usize) -> usize {
        self.build_sketches_until(budget, &mut || true)
    }

    /// [`Corpus::build_sketches`], also stopping early once `go_on` says
    /// no: it is asked about every [`SKETCH_POLL_BYTES`] bytes sketched,
    /// so a request that arrives meanwhile waits well under a millisecond
    /// rather than for the whole slice.
    pub fn build_sketches_until(&mut self, budget: usize, go_on: &mut dyn FnMut() -> bool) -> usize {
        let mut spent = 0;
        let mut polled = 0;
        let mut poll = |spent: usize| {
            if spent < polled + SKETCH_POLL_BYTES {
                return true;
            }
            polled = spent;
            go_on()
        };
        let mut budget = budget;
        let in_progress = self.in_progress.as_ref().map(|(of, _)| of);
        for f in self.files.iter_mut().filter(|f| !f.counted && f.quick.is_none()) {
            if spent >= budget || !poll(spent) {
                budget = 0;
                break;
            }
            f.seal();
            // A file being sketched in full has given up its quick sketch.
            if f.data.sketch().is_some() || in_progress.is_some_and(|of| of.is(&f.data)) {
                continue;
            }
            f.quick = Some(QuickSketch::build(&f.data));
            spent += f.data.len() / QUICK_COST_RATIO;
        }
        let mut left = 0;
        for f in self.files.iter_mut().filter(|f| !f.counted) {
            if spent >= budget || !poll(spent) {
                budget = 0;
                left += 1;
                continue;
            }
            // Only sealed bytes are sketched: the sketch goes with them.
            f.seal();
            if f.data.sketch().is_some() {
                spent += f.data.len();
                self.gram_counts.add_file(&f.data);
                f.counted = true;
                f.quick = None;
                continue;
            }
            // Go on with the sketch begun in an earlier call if it is of
            // these very bytes (not if the file changed since).
            let resumed = self.in_progress.take_if(|(of, _)| of.is(&f.data)).map(|(_, s)| s);
            let len = f.data.len();
            let mut sketch = resumed.unwrap_or_else(|| match f.quick.take() {
                Some(quick) => SketchInProgress::from_quick(quick, len),
                None => SketchInProgress::new(len),
            });
            // A big file goes a poll's worth at a time.
            let mut complete;
            loop {
                let before = sketch.done();
                let step = (budget - spent).min(SKETCH_POLL_BYTES);
                complete = sketch.advance(&f.data, &mut self.gram_counts, step);
                spent += sketch.done() - before;
                if complete || spent >= budget || !poll(spent) {
                    break;
                }
            }
            if !complete && spent < budget {
                budget = 0; // go_on said no
            }
            if complete {
                f.data.set_sketch(sketch.finish());
                f.counted = true;
            } else {
                self.in_progress = Some((f.data.downgrade(), sketch));
                left += 1;
            }
        }
        left
    }

    /// How common each trigram is, once some files are sketched.
    pub fn gram_counts(&self) -> Option<&GramCounts> {
        (!self.gram_counts.is_empty()).then_some(&self.gram_counts)
    }

    /// Bytes the sketches take.
    pub fn sketch_bytes(&self) -> usize {
        self.files.iter().map(FileEntry::sketch_bytes).sum()
    }

    /// Total bytes of file contents held, shared ones included: each
    /// holder counts them (so limits on these stay conservative).
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
            f.seal_and_scan();
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
    /// Where a part of the sketch file starting at file `from` should end
    /// to hold about `budget` bytes of files (at least one file): its
    /// hashing and copying cost goes by bytes, and Linux has directories
    /// of hundreds of multi-megabyte headers.
    pub fn sketch_part_end(&self, from: usize, budget: usize) -> usize {
        let mut bytes = 0usize;
        let mut end = from;
        while end < self.files.len() && (end == from || bytes < budget) {
            bytes = bytes.saturating_add(self.files[end].data.len());
            end += 1;
        }
        end
    }

    /// The sketches built so far of files `from..from + count` (in the
    /// corpus's order), each with its file's length and content hash: one
    /// part of a sketch file (see [`crate::sketch_file`]), with its head
    /// when `from` is 0 and its end when no file is left after these.
    /// Parts asked for in turn make the whole file.
    pub fn export_sketches(&self, from: usize, count: usize) -> Vec<u8> {
        let end = from.saturating_add(count).min(self.files.len());
        let part = self.files.get(from..end).unwrap_or_default();
        let files = part.iter().filter_map(|f| f.sketch().map(|s| (f.path.as_str(), &f.data[..], s)));
        crate::sketch_file::encode_part(files, &self.gram_counts, from == 0, end == self.files.len())
    }

    /// Restores saved sketches onto files that lack one and whose bytes
    /// have the saved length and content hash.
    /// Errors: the saved bytes are refused as a whole (truncated, corrupt,
    /// another build's); nothing is restored.
    pub fn import_sketches(&mut self, bytes: &[u8]) -> Result<SketchImport, String> {
        let (counts, saved) = crate::sketch_file::decode(bytes)?;
        let mut report = SketchImport::default();
        for s in saved {
            // A file already sketched and counted is left alone; one whose
            // bytes got a sketch through an identical file (restored just
            // before, or held by a clone) is only counted, or a background
            // pass would count it and save the whole cache file again.
            let Some(f) = self.by_path.get(&s.path).map(|&i| &mut self.files[i]).filter(|f| !f.counted)
            else {
                report.other += 1;
                continue;
            };
            if f.data.len() as u64 == s.len && crate::content_hash::xxh64(&f.data) == s.hash {
                // Onto sealed bytes, so clones holding them share it too; its
                // grams are in the saved counts absorbed below.
                f.seal();
                if f.sketch().is_none() {
                    f.data.set_sketch(s.sketch);
                }
                f.counted = true;
                f.quick = None;
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

    fn load(c: &mut Corpus, path: &str, text: &[u8]) {
        c.insert(path, text.len(), true).copy_from_slice(text);
        c.seal(path, text.len());
    }

    #[test]
    fn a_large_file_is_sketched_over_several_calls_and_never_from_old_bytes() {
        let old = b"static int pm_suspend(void);\n".repeat(2000);
        let new = b"static long get_buffer(int);\n".repeat(2000);
        let mut c = Corpus::new();
        load(&mut c, "/r/big.c", &old);
        load(&mut c, "/r/small.c", b"x\n");
        assert_eq!(c.build_sketches(8 << 10), 2, "stopped inside big.c");
        assert_eq!(c.build_sketches(8 << 10), 2);
        load(&mut c, "/r/big.c", &new);
        let mut calls = 0;
        while c.build_sketches(8 << 10) > 0 {
            calls += 1;
        }
        assert!(calls > 2, "{calls} calls");
        let expected = Sketch::build(&new, &mut GramCounts::default());
        assert!(c.get("/r/big.c").unwrap().sketch() == Some(&expected), "not the new bytes' sketch");
    }

    #[test]
    fn sketching_stops_when_told_and_goes_on_to_the_same_sketches() {
        let big = b"static int pm_suspend(void);\n".repeat(8000); // 232 KB
        let mut c = Corpus::new();
        load(&mut c, "/r/big.c", &big);
        load(&mut c, "/r/small.c", b"x\n");
        let mut asked = 0;
        let left = c.build_sketches_until(usize::MAX, &mut || {
            asked += 1;
            asked < 3
        });
        assert_eq!((left, asked), (2, 3), "did not stop at the third no");
        assert!(c.get("/r/big.c").unwrap().sketch().is_none());
        assert_eq!(c.build_sketches(usize::MAX), 0);
        let expected = Sketch::build(&big, &mut GramCounts::default());
        assert!(c.get("/r/big.c").unwrap().sketch() == Some(&expected), "not the same sketch");
    }

    #[test]
    fn every_file_gets_a_quick_sketch_first_and_never_keeps_one_of_old_bytes() {
        let mut c = Corpus::new();
        load(&mut c, "/r/a.c", &b"static int pm_suspend(void);\n".repeat(400));
        load(&mut c, "/r/b.c", &b"static long get_buffer(int);\n".repeat(400));
        // A budget the quick sketches use up (11.6 KB of files, at a quarter).
        assert_eq!(c.build_sketches(5 << 10), 2);
        let grams = |needle: &[u8]| vec![crate::sketch::needle_grams(needle)];
        let (a, b) = (c.get("/r/a.c").unwrap(), c.get("/r/b.c").unwrap());
        assert!(a.sketch().is_none() && b.sketch().is_none());
        assert!(a.quick_sketch().unwrap().may_contain_any(&grams(b"pm_suspend")));
        assert!(!b.quick_sketch().unwrap().may_contain_any(&grams(b"pm_suspend")));
        load(&mut c, "/r/b.c", b"pm_suspend\n");
        assert!(c.get("/r/b.c").unwrap().quick_sketch().is_none(), "kept for old bytes");
        while c.build_sketches(6 << 10) > 0 {}
        for f in ["/r/a.c", "/r/b.c"] {
            let f = c.get(f).unwrap();
            assert!(f.sketch().is_some() && f.quick_sketch().is_none() && f.quick.is_none());
        }
    }

    #[test]
    fn clones_share_bytes_and_sketches() {
        let text = b"static int pm_suspend(void);\n".repeat(200);
        let (mut a, mut b) = (Corpus::new(), Corpus::new());
        load(&mut a, "/a/x.c", &text);
        load(&mut b, "/b/x.c", &text);
        load(&mut b, "/b/y.c", b"other\n");
        let (fa, fb) = (a.get("/a/x.c").unwrap(), b.get("/b/x.c").unwrap());
        assert!(fa.data.shares_with(&fb.data));
        assert!(!fb.data.shares_with(&b.get("/b/y.c").unwrap().data));
        assert_eq!(crate::blobs::store_stats().bytes, text.len() + 6);
        assert_eq!(b.bytes(), text.len() + 6, "each holder counts shared bytes");
        assert_eq!(a.build_sketches(usize::MAX), 0);
        assert!(b.get("/b/x.c").unwrap().sketch().is_some(), "the sketch is shared");
        assert_eq!(b.build_sketches(usize::MAX), 0);
        // b built no sketch of x.c, yet counted its grams as its own.
        let (ca, cb) = (a.gram_counts().unwrap(), b.gram_counts().unwrap());
        assert_eq!(ca.estimate(b"pm_suspend"), cb.estimate(b"pm_suspend"));
    }

    #[test]
    fn a_changed_file_gets_its_own_blob() {
        let (mut a, mut b) = (Corpus::new(), Corpus::new());
        load(&mut a, "/a/x", b"same\n");
        load(&mut b, "/b/x", b"same\n");
        load(&mut b, "/b/x", b"edited\n");
        assert_eq!(&a.get("/a/x").unwrap().data[..], b"same\n");
        assert_eq!(&b.get("/b/x").unwrap().data[..], b"edited\n");
        // Shrunk while read: a's shared bytes stay whole.
        load(&mut b, "/b/x", b"same\n");
        b.seal("/b/x", 2);
        assert_eq!(&b.get("/b/x").unwrap().data[..], b"sa");
        assert_eq!(&a.get("/a/x").unwrap().data[..], b"same\n");
        assert_eq!(crate::blobs::store_stats().blobs, 2);
        drop(a);
        assert_eq!(crate::blobs::store_stats().blobs, 1, "freed with its last holder");
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
        let saved = c.export_sketches(0, usize::MAX);
        // Asked for a file at a time, the parts make the same file.
        assert_eq!([c.export_sketches(0, 1), c.export_sketches(1, 1)].concat(), saved);
        assert_eq!((c.sketch_part_end(0, 1), c.sketch_part_end(0, 13), c.sketch_part_end(1, 0)), (1, 2, 2));
        let mut d = Corpus::new();
        d.insert("/r/a.c", 12, true).copy_from_slice(b"kmalloc(x);\n");
        d.insert("/r/b.c", 12, true).copy_from_slice(b"vmalloc(z);\n"); // same length, new bytes
        d.insert("/r/c.c", 1, true);
        let report = d.import_sketches(&saved).expect("valid");
        assert_eq!(report, SketchImport { restored: 1, changed: 1, other: 0 });
        assert!(d.get("/r/a.c").unwrap().sketch().is_some());
        assert!(d.get("/r/b.c").unwrap().sketch().is_none(), "a sketch of other bytes was restored");
        assert_eq!(d.build_sketches(0), 2);
        assert!(d.import_sketches(&saved[..saved.len() - 1]).is_err());
    }

    #[test]
    fn identical_files_restored_leave_nothing_to_sketch() {
        let mut c = Corpus::new();
        load(&mut c, "/r/a.h", b"#define X 1\n");
        load(&mut c, "/r/b.h", b"#define X 1\n");
        c.build_sketches(usize::MAX);
        let saved = c.export_sketches(0, usize::MAX);
        let mut d = Corpus::new();
        load(&mut d, "/r/a.h", b"#define X 1\n");
        load(&mut d, "/r/b.h", b"#define X 1\n");
        let report = d.import_sketches(&saved).expect("valid");
        assert_eq!(report, SketchImport { restored: 2, changed: 0, other: 0 });
        assert_eq!(
            d.build_sketches(0),
            0,
            "a shared sketch left a file to count (and the cache to save again)"
        );
    }
}
