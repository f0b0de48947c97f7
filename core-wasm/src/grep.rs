//! One search request over a corpus: which files, in which order, printed
//! how. This is the engine behind both the `grep` command and the API.

use std::collections::HashMap;
use std::rc::Rc;

use crate::corpus::{Corpus, FileEntry};
use crate::filter::Selector;
use crate::limits::{Interrupt, Stop};
use crate::matcher::{Matcher, PatternOptions};
use crate::printer::{json_summary, FilePrinter, LineStyle, OutputKind, PrintConfig, Stats};
use crate::search::{search_file, BinaryMode, SearchConfig};
use crate::sketch::Sketch;
use crate::transcode;

/// The UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A place to search, in the order given on the command line.
#[derive(Clone, Debug)]
pub struct Root {
    /// Absolute path of the file or directory in the corpus.
    pub path: String,
    /// The path as the user wrote it (empty for the implicit `./`, whose
    /// prefix rg strips from what it prints).
    pub display: String,
    /// A file named directly: never filtered, binary files still searched.
    pub is_file: bool,
}

#[derive(Clone, Debug)]
pub struct GrepRequest {
    pub pattern: PatternOptions,
    pub search: SearchConfig,
    pub output: OutputKind,
    pub with_filename: bool,
    /// Search as if output came before this request's: in context mode its
    /// first file then opens with rg's `--` separator. A workspace split in
    /// shards sets it, and the merge drops that separator where nothing did
    /// come before.
    pub printed_before: bool,
    /// Stop after the file that takes the output past this many bytes: the
    /// caller keeps only a prefix (an agent's capped answer) and the rest
    /// would be searched and printed for nothing.
    pub max_output: Option<usize>,
    /// Skip this many of the files the roots name (in search order): the
    /// rest of a search that paused (see [`GrepResult::resume_at`]).
    pub resume_at: usize,
    pub roots: Vec<Root>,
    pub selector: Rc<Selector>,
    pub style: LineStyle,
}

#[derive(Debug, Default)]
pub struct GrepResult {
    pub output: Vec<u8>,
    /// Whether any file had a match (rg's exit status 0).
    pub matched: bool,
    pub stats: Stats,
    /// Files that passed the filters and were searched.
    pub files_searched: u64,
    /// Set when the search paused because the host asked it to yield: the
    /// files before this (in search order) are done and printed; a request
    /// with this `resume_at` (and `printed_before`) searches the rest.
    pub resume_at: Option<usize>,
}

/// Joins a root's printed path and a relative path as `Path::join` does.
pub fn display_join(root: &str, rel: &str) -> String {
    if rel.is_empty() {
        root.to_string()
    } else if root.is_empty() {
        rel.to_string()
    } else if root.ends_with('/') {
        format!("{root}{rel}")
    } else {
        format!("{root}/{rel}")
    }
}

/// The files a directory root searches, in walk order: those a walk found
/// below it that pass the globs and types. A file's path relative to the
/// root is `&f.path[base..]` for the `base` returned; it is left to the
/// caller so that files a search rules out never touch their path's bytes
/// (on Linux 6.1, that was a cache miss for each of 78,000 files).
pub fn root_files<'c>(
    corpus: &'c Corpus,
    root: &'c Root,
    selector: &Selector,
) -> (usize, Box<dyn Iterator<Item = &'c FileEntry> + 'c>) {
    let base = root.path.trim_end_matches('/').len() + 1;
    let range = corpus.under_range(&root.path);
    let files = corpus.files();
    if selector.is_empty() {
        return (base, Box::new(files[range].iter().filter(|f| f.walked)));
    }
    let key = format!("{}\0{:?}\0{:?}", selector.key, root.path, root.display);
    let picked =
        corpus.selection(&key, |files| select(&files[range.clone()], range.start, base, root, selector));
    (base, Box::new((0..picked.len()).map(move |i| &files[picked[i] as usize])))
}

/// The indices (offset by `first`) of the walked `files` below `root` that
/// pass the globs and types. A directory's verdict is found once, however
/// many files it holds.
fn select(files: &[FileEntry], first: usize, base: usize, root: &Root, selector: &Selector) -> Vec<u32> {
    let mut excluded_dirs: HashMap<String, bool> = HashMap::new();
    let mut picked = Vec::new();
    for (i, f) in files.iter().enumerate().filter(|(_, f)| f.walked) {
        let rel = &f.path[base..];
        let shown = display_join(&root.display, rel);
        // The printed paths of the directories between root and file.
        let mut dirs = rel.match_indices('/').map(|(i, _)| &shown[..shown.len() - rel.len() + i]);
        let dir_excluded = dirs.any(|d| match excluded_dirs.get(d) {
            Some(&verdict) => verdict,
            None => *excluded_dirs.entry(d.to_string()).or_insert(selector.excludes_dir(d)),
        });
        if !dir_excluded && selector.selects_name(&shown) {
            picked.push((first + i) as u32);
        }
    }
    picked
}

/// rg `--files`: the paths a search would look at, one per line (ended
/// by NUL with `--null`).
pub fn list_files(corpus: &Corpus, roots: &[Root], selector: &Selector, style: &LineStyle) -> Vec<u8> {
    let mut out = Vec::new();
    let end = if style.null { 0 } else { b'\n' };
    let mut push = |path: &str| {
        let at = out.len();
        out.extend_from_slice(path.as_bytes());
        if let Some(sep) = style.path_separator {
            out[at..].iter_mut().filter(|b| **b == b'/').for_each(|b| *b = sep);
        }
        out.push(end);
    };
    for root in roots {
        if root.is_file {
            if corpus.get(&root.path).is_some() {
                push(&root.display);
            }
            continue;
        }
        let (base, files) = root_files(corpus, root, selector);
        for f in files {
            push(&display_join(&root.display, &f.path[base..]));
        }
    }
    out
}

/// Compiles the pattern; errors read like rg's.
pub fn compile(req: &GrepRequest, corpus: &Corpus) -> Result<Matcher, String> {
    Matcher::new(&req.pattern, corpus.gram_counts())
}

/// Work counted for each file looked at, besides its bytes scanned: a
/// search over many small files (or files its sketches rule out) asks the
/// host every 64 files or so.
const WORK_PER_FILE: usize = 512;

/// Files [`sketches_rule_out`] asks about at a time, ahead of searching
/// them (64 was no faster).
const RULE_OUT_BATCH: usize = 32;

/// Which of `batch`'s files their full sketches surely rule out (see
/// [`Sketch::surely_lacks_all`]): a cheap part of `search_one`'s sketch
/// test, whose whole test the other files then get. A file's sketch (in
/// its blob's header) and then its bits are cache misses that depend on
/// nothing another file's test found; asked in two passes over the batch,
/// first every sketch, then every sketch's bits, the CPU waits for many
/// files' misses at once rather than one after another. A search of Linux
/// that matches nothing, 78k files in one thread: 29 ms asked one file at
/// a time, 16-17 ms in one pass per batch, 12-14 ms in two.
fn sketches_rule_out(batch: &[&FileEntry], matcher: &Matcher) -> [bool; RULE_OUT_BATCH] {
    let mut sketches: [Option<&Sketch>; RULE_OUT_BATCH] = [None; RULE_OUT_BATCH];
    for (k, f) in batch.iter().enumerate() {
        sketches[k] = f.sketch_of_text();
    }
    let mut ruled_out = [false; RULE_OUT_BATCH];
    for (k, f) in batch.iter().enumerate() {
        ruled_out[k] = sketches[k].is_some_and(|sketch| {
            matcher.needle_grams(!f.wide_folds).is_some_and(|needles| sketch.surely_lacks_all(needles))
        });
    }
    ruled_out
}

/// Runs the search; stops, with no output, once `interrupt` says so.
pub fn grep(
    corpus: &Corpus,
    req: &GrepRequest,
    matcher: &Matcher,
    interrupt: &Interrupt,
) -> Result<GrepResult, Stop> {
    let mut result = GrepResult::default();
    // The searcher and the printer each need scratch space for the regex.
    let mut search_scratch = matcher.scratch();
    let mut print_scratch = matcher.scratch();
    let print_cfg = PrintConfig {
        kind: req.output,
        with_filename: req.with_filename,
        invert: req.search.invert,
        context_separator: req.search.before > 0 || req.search.after > 0,
        style: req.style.clone(),
    };
    let summary = !matches!(req.output, OutputKind::Standard { .. } | OutputKind::Json { .. });
    // Summaries ignore context, and so must their match limit.
    let search_cfg =
        if summary { SearchConfig { before: 0, after: 0, ..req.search.clone() } } else { req.search.clone() };
    // Only the standard and JSON printers with line numbers need them.
    let search_cfg = SearchConfig {
        line_numbers: matches!(
            req.output,
            OutputKind::Standard { line_number: true, .. } | OutputKind::Json { line_number: true }
        ),
        ..search_cfg
    };
    let mut printed_before = req.printed_before;
    // Sketches may rule files out, unless non-matching files print too
    // (`--files-without-match`, `--include-zero`).
    let gate =
        !req.search.invert && !matches!(req.output, OutputKind::FilesWithoutMatch) && !req.style.include_zero;
    // `shown`: the root's printed path, and where in the file's path the
    // part below the root starts (read only if the file is searched).
    // A UTF-16 file's UTF-8 text (see `crate::transcode`).
    let mut decoded = Vec::new();
    let mut search_one =
        |f: &FileEntry, shown: (&str, usize), binary: BinaryMode, result: &mut GrepResult| {
            let utf16 = f.utf16;
            if let Some(order) = utf16 {
                transcode::utf16_to_utf8(&f.data, order, &mut decoded);
            }
            let narrow = match utf16 {
                Some(_) => !crate::prefilter::holds_wide_folds(&decoded),
                None => !f.wide_folds,
            };
            search_scratch.set_narrow(narrow);
            let mut blocks = None;
            if let (true, Some(needles), Some(sketch)) =
                (gate, matcher.needle_grams(narrow), f.sketch_of_text())
            {
                let extra = matcher.extra_grams(narrow);
                if !sketch.may_contain_any(needles) || !extra.iter().all(|set| sketch.may_contain_any(set)) {
                    // Searched, in effect: it holds no needle, so no match.
                    result.files_searched += 1;
                    return;
                }
                // A match within one line lies within one block.
                if !matcher.is_multiline() {
                    blocks = sketch.plan(f.data.len(), needles, extra);
                    if blocks.as_ref().is_some_and(|b| b.ranges.is_empty()) {
                        result.files_searched += 1;
                        return;
                    }
                }
            } else if let (true, Some(needles), Some(quick)) =
                (gate, matcher.needle_grams(narrow), f.quick_sketch_of_text())
            {
                let extra = matcher.extra_grams(narrow);
                if !quick.may_contain_any(needles) || !extra.iter().all(|set| quick.may_contain_any(set)) {
                    result.files_searched += 1;
                    return;
                }
            }
            // rg sniffs a UTF-8 byte-order mark and searches what follows it
            // (offsets count from there); block plans count from the start.
            // A UTF-16 one: the decoded text.
            // `peek`: see `search_file` (rg's decoder peeks at 3 bytes).
            let (data, first_nul, peek) = match f.data.strip_prefix(UTF8_BOM) {
                _ if utf16.is_some() => (&decoded[..], memchr::memchr(0, &decoded), 0),
                Some(rest) => {
                    blocks = None;
                    (rest, f.first_nul.map(|i| i - UTF8_BOM.len()), 0)
                }
                None => (&f.data[..], f.first_nul, 3),
            };
            // -a: no NUL makes a file binary.
            let first_nul = if req.style.text { None } else { first_nul };
            let shown = (shown.0, &f.path[shown.1..]);
            let binary_offset = match binary {
                BinaryMode::Convert => first_nul.filter(|&i| i < crate::search::BUFFER_CAPACITY),
                BinaryMode::Quit => None,
            };
            let mut printer = FilePrinter::new(
                &mut result.output,
                &print_cfg,
                shown,
                binary,
                binary_offset,
                matcher,
                &mut print_scratch,
                printed_before,
                &mut result.stats,
            );
            // rg reads a file it transcodes, named or not (it maps only
            // files it searches as they are).
            let outcome = search_file(
                data,
                first_nul,
                binary,
                utf16.is_some(),
                peek,
                &search_cfg,
                matcher,
                &mut search_scratch,
                &mut printer,
                blocks.as_ref(),
                interrupt,
            );
            let report = printer.finish(&outcome);
            result.files_searched += 1;
            result.matched |= report.matched;
            printed_before |= report.printed;
        };
    // Not for JSON (its summary needs every file) nor -L (whose exit status
    // needs every file's answer).
    let cap = match req.output {
        OutputKind::Json { .. } | OutputKind::FilesWithoutMatch => None,
        _ => req.max_output,
    };
    let full = |result: &GrepResult| cap.is_some_and(|max| result.output.len() > max);
    let stop = || interrupt.tick(WORK_PER_FILE);
    // Files of the roots passed so far, in search order (for resuming).
    let mut visited = 0;
    'roots: for root in &req.roots {
        if stop() {
            break;
        }
        if root.is_file {
            visited += 1;
            if visited <= req.resume_at {
                continue;
            }
            // A named file that could not be read was reported by the loader.
            if let Some(f) = corpus.get(&root.path) {
                search_one(f, (&root.display, f.path.len()), BinaryMode::Convert, &mut result);
            }
            if full(&result) {
                break 'roots;
            }
            if interrupt.yield_asked() {
                result.resume_at = Some(visited);
                break 'roots;
            }
            continue;
        }
        let (base, files) = root_files(corpus, root, &req.selector);
        let files: Vec<&FileEntry> = files.collect();
        // Files already searched by the slices before this one.
        let skip = req.resume_at.saturating_sub(visited).min(files.len());
        visited += skip;
        for batch in files[skip..].chunks(RULE_OUT_BATCH) {
            let ruled_out = if gate { sketches_rule_out(batch, matcher) } else { [false; RULE_OUT_BATCH] };
            for (k, f) in batch.iter().enumerate() {
                visited += 1;
                if ruled_out[k] {
                    // Searched, in effect: it holds no needle, so no match.
                    result.files_searched += 1;
                } else {
                    search_one(f, (&root.display, base), BinaryMode::Quit, &mut result);
                }
                if full(&result) || stop() {
                    break 'roots;
                }
                if interrupt.yield_asked() {
                    result.resume_at = Some(visited);
                    break 'roots;
                }
            }
        }
    }
    if let Some(why) = interrupt.stopped() {
        return Err(why);
    }
    if let OutputKind::Json { .. } = req.output {
        let summary = json_summary(&result.stats);
        result.output.extend_from_slice(summary.as_bytes());
    }
    Ok(result)
}
