//! One search request over a corpus: which files, in which order, printed
//! how. This is the engine behind both the `grep` command and the API.

use crate::corpus::Corpus;
use crate::filter::Selector;
use crate::matcher::{Matcher, PatternOptions};
use crate::printer::{json_summary, FilePrinter, OutputKind, Stats};
use crate::search::{search_file, BinaryMode, SearchConfig};

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
    pub roots: Vec<Root>,
    pub selector: Selector,
}

#[derive(Debug, Default)]
pub struct GrepResult {
    pub output: Vec<u8>,
    /// Whether any file had a match (rg's exit status 0).
    pub matched: bool,
    /// Per-path problems (e.g. a named file that is not in the corpus).
    pub errors: Vec<String>,
    pub stats: Stats,
}

/// Joins a root's printed path and a relative path as `Path::join` does.
pub fn display_join(root: &str, rel: &str) -> String {
    if root.is_empty() {
        rel.to_string()
    } else if root.ends_with('/') {
        format!("{root}{rel}")
    } else {
        format!("{root}/{rel}")
    }
}

/// Compiles the pattern; errors read like rg's.
pub fn compile(req: &GrepRequest) -> Result<Matcher, String> {
    Matcher::new(&req.pattern)
}

pub fn grep(corpus: &Corpus, req: &GrepRequest, matcher: &Matcher) -> GrepResult {
    let mut result = GrepResult::default();
    // The searcher and the printer each need scratch space for the regex.
    let mut search_scratch = matcher.scratch();
    let mut print_scratch = matcher.scratch();
    let context_separator = req.search.before > 0 || req.search.after > 0;
    let summary = !matches!(req.output, OutputKind::Standard { .. } | OutputKind::Json { .. });
    // Summaries ignore context, and so must their match limit.
    let search_cfg = if summary {
        SearchConfig { before: 0, after: 0, ..req.search.clone() }
    } else {
        req.search.clone()
    };
    let mut printed_before = false;
    let mut search_one = |data: &[u8], shown: &str, binary: BinaryMode, result: &mut GrepResult| {
        let head = &data[..data.len().min(crate::search::BUFFER_CAPACITY)];
        let binary_offset =
            if binary == BinaryMode::Convert { memchr::memchr(0, head) } else { None };
        let mut printer = FilePrinter::new(
            &mut result.output,
            req.output,
            shown.as_bytes(),
            req.with_filename,
            binary,
            binary_offset,
            matcher,
            &mut print_scratch,
            printed_before,
            context_separator,
            &mut result.stats,
        );
        let outcome = search_file(data, binary, &search_cfg, matcher, &mut search_scratch, &mut printer);
        result.matched |= outcome.match_count > 0;
        printed_before |= printer.finish(&outcome);
    };
    for root in &req.roots {
        if root.is_file {
            match corpus.get(&root.path) {
                Some(f) => search_one(&f.data, &root.display, BinaryMode::Convert, &mut result),
                None => result.errors.push(format!("{}: file is not loaded", root.display)),
            }
            continue;
        }
        for f in corpus.under(&root.path) {
            let rel = &f.path[root.path.trim_end_matches('/').len() + 1..];
            let shown = display_join(&root.display, rel);
            if !req.selector.is_empty() {
                let dirs = rel.match_indices('/').map(|(i, _)| &shown[..shown.len() - rel.len() + i]);
                if !req.selector.selects_file(&shown, dirs) {
                    continue;
                }
            }
            search_one(&f.data, &shown, BinaryMode::Quit, &mut result);
        }
    }
    if let OutputKind::Json { .. } = req.output {
        let summary = json_summary(&result.stats);
        result.output.extend_from_slice(summary.as_bytes());
    }
    result
}
