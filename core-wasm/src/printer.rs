//! Printers that turn reported lines into rg's output formats: the standard
//! grep-like lines, summaries (`-c`, `-l`, `--files-without-match`) and JSON
//! Lines. Each writes into one output buffer shared across files.

use base64::Engine;

use crate::matcher::{Matcher, MatcherScratch};
use crate::search::{BinaryMode, FileOutcome, Sink};

/// rg lets multi-line match detection look this far past a block.
const MAX_LOOK_AHEAD: usize = 128;

/// The output format, with its own options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    Standard { line_number: bool, only_matching: bool },
    Count { matches: bool },
    FilesWithMatches,
    FilesWithoutMatch,
    Json { line_number: bool },
}

/// Totals over a whole search, as rg's `--json` summary reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub searches: u64,
    pub searches_with_match: u64,
    pub bytes_searched: u64,
    pub bytes_printed: u64,
    pub matched_lines: u64,
    pub matches: u64,
}

/// Calls `f` with each match in a reported block, as rg's printers find
/// them: a single line is searched without its terminator; a multi-line
/// block may look a little past its end.
pub fn block_matches(
    matcher: &Matcher,
    scratch: &mut MatcherScratch,
    file: &[u8],
    start: usize,
    end: usize,
    mut f: impl FnMut(usize, usize),
) {
    let hay = if matcher.is_multiline() {
        &file[..(end + MAX_LOOK_AHEAD).min(file.len())]
    } else {
        let trimmed = if end > start && file[end - 1] == b'\n' { end - 1 } else { end };
        &file[..trimmed]
    };
    matcher.for_each_match(scratch, hay, start, |s, e| {
        if s >= end {
            return false;
        }
        f(s, e);
        true
    });
}

/// Per-file printing state; one is made for each file searched.
pub struct FilePrinter<'a> {
    pub out: &'a mut Vec<u8>,
    pub kind: OutputKind,
    pub path: &'a [u8],
    pub with_filename: bool,
    pub binary: BinaryMode,
    /// Offset of a NUL seen before searching (named files): the standard
    /// printer then reports "binary file matches" instead of lines.
    pub binary_offset: Option<usize>,
    pub matcher: &'a Matcher,
    pub scratch: &'a mut MatcherScratch,
    /// Whether any earlier file printed something (for `--` separators).
    pub printed_before: bool,
    pub context_separator: bool,
    pub stats: &'a mut Stats,
    file_start_len: usize,
    match_count: u64,
    matches: u64,
}

impl<'a> FilePrinter<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        out: &'a mut Vec<u8>,
        kind: OutputKind,
        path: &'a [u8],
        with_filename: bool,
        binary: BinaryMode,
        binary_offset: Option<usize>,
        matcher: &'a Matcher,
        scratch: &'a mut MatcherScratch,
        printed_before: bool,
        context_separator: bool,
        stats: &'a mut Stats,
    ) -> FilePrinter<'a> {
        let file_start_len = out.len();
        FilePrinter {
            out,
            kind,
            path,
            with_filename,
            binary,
            binary_offset,
            matcher,
            scratch,
            printed_before,
            context_separator,
            stats,
            file_start_len,
            match_count: 0,
            matches: 0,
        }
    }

    /// Whether this file's output stops at its first match (`-l`, and
    /// `--files-without-match`, which only needs to know there is one).
    pub fn quits_on_first_match(&self) -> bool {
        matches!(self.kind, OutputKind::FilesWithMatches | OutputKind::FilesWithoutMatch)
    }

    /// Writes what comes after the file's lines; returns true when this
    /// file printed anything.
    pub fn finish(mut self, outcome: &FileOutcome) -> bool {
        let count = self.match_count;
        self.stats.searches += 1;
        self.stats.bytes_searched += outcome.bytes_searched as u64;
        if count > 0 {
            self.stats.searches_with_match += 1;
            self.stats.matched_lines += count;
        }
        match self.kind {
            OutputKind::Standard { .. } => {
                if let Some(offset) = outcome.binary_offset {
                    if count > 0 {
                        if self.with_filename {
                            self.out.extend_from_slice(self.path);
                            self.out.extend_from_slice(b": ");
                        }
                        let msg = match self.binary {
                            BinaryMode::Quit => "WARNING: stopped searching binary file after match",
                            BinaryMode::Convert => "binary file matches",
                        };
                        self.out.extend_from_slice(
                            format!("{msg} (found \"\\0\" byte around offset {offset})\n").as_bytes(),
                        );
                    }
                }
            }
            // A walked file given up as binary is not reported at all.
            _ if outcome.binary_quit && !matches!(self.kind, OutputKind::Json { .. }) => {}
            OutputKind::Count { matches } => {
                let n = if matches { self.matches } else { count };
                if n > 0 {
                    self.write_path_prefix(b':');
                    self.out.extend_from_slice(n.to_string().as_bytes());
                    self.out.push(b'\n');
                }
            }
            OutputKind::FilesWithMatches => {
                if count > 0 {
                    self.out.extend_from_slice(self.path);
                    self.out.push(b'\n');
                }
            }
            OutputKind::FilesWithoutMatch => {
                if count == 0 {
                    self.out.extend_from_slice(self.path);
                    self.out.push(b'\n');
                }
            }
            OutputKind::Json { .. } => {
                if count > 0 {
                    let printed = (self.out.len() - self.file_start_len) as u64;
                    self.stats.bytes_printed += printed;
                    self.stats.matches += self.matches;
                    let binary = outcome.binary_offset.map_or("null".to_string(), |o| o.to_string());
                    let end = format!(
                        "{{\"type\":\"end\",\"data\":{{\"path\":{},\"binary_offset\":{binary},\"stats\":{{{},\"searches\":1,\"searches_with_match\":1,\"bytes_searched\":{},\"bytes_printed\":{printed},\"matched_lines\":{count},\"matches\":{}}}}}}}\n",
                        json_data(self.path),
                        json_elapsed(false),
                        outcome.bytes_searched,
                        self.matches,
                    );
                    self.out.extend_from_slice(end.as_bytes());
                }
            }
        }
        self.out.len() > self.file_start_len
    }

    fn write_path_prefix(&mut self, sep: u8) {
        if self.with_filename {
            self.out.extend_from_slice(self.path);
            self.out.push(sep);
        }
    }

    fn write_line_prefix(&mut self, sep: u8, line_number: Option<u64>) {
        self.write_path_prefix(sep);
        if let Some(n) = line_number {
            self.out.extend_from_slice(n.to_string().as_bytes());
            self.out.push(sep);
        }
    }

    /// Writes `bytes` as one output line, adding a missing terminator.
    fn write_line(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        if bytes.last() != Some(&b'\n') {
            self.out.push(b'\n');
        }
    }

    /// The `--` between files, before a file's first line.
    fn file_separator(&mut self) {
        if self.context_separator && self.printed_before && self.out.len() == self.file_start_len {
            self.out.extend_from_slice(b"--\n");
        }
    }

    fn standard_lines(&mut self, file: &[u8], start: usize, end: usize, first: u64, sep: u8, numbered: bool) {
        let mut n = first;
        let mut pos = start;
        while pos < end {
            let e = memchr::memchr(b'\n', &file[pos..end]).map_or(end, |i| pos + i + 1);
            self.write_line_prefix(sep, numbered.then_some(n));
            self.write_line(&file[pos..e]);
            pos = e;
            n += 1;
        }
    }

    /// `-o`: each match on its own line; a match across lines prints one
    /// piece per line.
    fn only_matching(&mut self, file: &[u8], start: usize, end: usize, first: u64, numbered: bool) {
        let mut found = Vec::new();
        block_matches(self.matcher, self.scratch, file, start, end, |s, e| found.push((s, e)));
        let mut counter = (start, first);
        for (s, e) in found {
            // Line number of the match start, counted from the block start.
            let n = counter.1 + memchr::memchr_iter(b'\n', &file[counter.0..s]).count() as u64;
            counter = (s, n);
            let mut line = n;
            let piece = &file[s..e];
            let mut parts: Vec<&[u8]> = piece.split(|&b| b == b'\n').collect();
            if parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
            for part in parts {
                self.write_line_prefix(b':', numbered.then_some(line));
                self.out.extend_from_slice(part);
                self.out.push(b'\n');
                line += 1;
            }
        }
    }

    fn json_lines(&mut self, kind: &str, file: &[u8], start: usize, end: usize, n: u64, numbered: bool) {
        if self.out.len() == self.file_start_len {
            let begin = format!("{{\"type\":\"begin\",\"data\":{{\"path\":{}}}}}\n", json_data(self.path));
            self.out.extend_from_slice(begin.as_bytes());
        }
        let mut subs = String::new();
        if kind == "match" {
            let mut found = Vec::new();
            block_matches(self.matcher, self.scratch, file, start, end, |s, e| found.push((s, e)));
            self.matches += found.len() as u64;
            for (i, (s, e)) in found.into_iter().enumerate() {
                if i > 0 {
                    subs.push(',');
                }
                subs.push_str(&format!(
                    "{{\"match\":{},\"start\":{},\"end\":{}}}",
                    json_data(&file[s..e]),
                    s - start,
                    e - start
                ));
            }
        }
        let line_number = if numbered { n.to_string() } else { "null".to_string() };
        let msg = format!(
            "{{\"type\":\"{kind}\",\"data\":{{\"path\":{},\"lines\":{},\"line_number\":{line_number},\"absolute_offset\":{start},\"submatches\":[{subs}]}}}}\n",
            json_data(self.path),
            json_data(&file[start..end]),
        );
        self.out.extend_from_slice(msg.as_bytes());
    }

    fn count_matches_in(&mut self, file: &[u8], start: usize, end: usize) {
        let mut n = 0;
        block_matches(self.matcher, self.scratch, file, start, end, |_, _| n += 1);
        self.matches += n;
    }
}

impl Sink for FilePrinter<'_> {
    fn matched(&mut self, file: &[u8], start: usize, end: usize, line_number: u64) -> bool {
        self.match_count += 1;
        match self.kind {
            OutputKind::Standard { line_number: numbered, only_matching } => {
                if self.binary == BinaryMode::Convert && self.binary_offset.is_some() {
                    return false;
                }
                self.file_separator();
                if only_matching {
                    self.only_matching(file, start, end, line_number, numbered);
                } else {
                    self.standard_lines(file, start, end, line_number, b':', numbered);
                }
                true
            }
            OutputKind::Count { matches } => {
                if matches {
                    self.count_matches_in(file, start, end);
                }
                true
            }
            OutputKind::FilesWithMatches | OutputKind::FilesWithoutMatch => false,
            OutputKind::Json { line_number: numbered } => {
                self.json_lines("match", file, start, end, line_number, numbered);
                true
            }
        }
    }

    fn context(&mut self, file: &[u8], start: usize, end: usize, line_number: u64) -> bool {
        match self.kind {
            OutputKind::Standard { line_number: numbered, .. } => {
                if self.binary == BinaryMode::Convert && self.binary_offset.is_some() {
                    return false;
                }
                self.file_separator();
                self.standard_lines(file, start, end, line_number, b'-', numbered);
            }
            OutputKind::Json { line_number: numbered } => {
                self.json_lines("context", file, start, end, line_number, numbered);
            }
            _ => {}
        }
        true
    }

    fn context_break(&mut self) {
        if let OutputKind::Standard { .. } = self.kind {
            self.out.extend_from_slice(b"--\n");
        }
    }
}

/// rg's `{"text": ...}` for UTF-8, `{"bytes": base64}` otherwise.
pub fn json_data(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => format!("{{\"text\":{}}}", serde_json::to_string(s).unwrap_or_default()),
        Err(_) => format!(
            "{{\"bytes\":\"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}

/// Elapsed time fields. WebAssembly has no clock here, so searches report
/// zero; `sorted` gives the key order of rg's summary message.
pub fn json_elapsed(sorted: bool) -> String {
    if sorted {
        "\"elapsed\":{\"human\":\"0.000000s\",\"nanos\":0,\"secs\":0}".to_string()
    } else {
        "\"elapsed\":{\"secs\":0,\"nanos\":0,\"human\":\"0.000000s\"}".to_string()
    }
}

/// The final `summary` message of `--json` output.
pub fn json_summary(stats: &Stats) -> String {
    format!(
        "{{\"data\":{{\"elapsed_total\":{{\"human\":\"0.000000s\",\"nanos\":0,\"secs\":0}},\"stats\":{{\"bytes_printed\":{},\"bytes_searched\":{},{},\"matched_lines\":{},\"matches\":{},\"searches\":{},\"searches_with_match\":{}}}}},\"type\":\"summary\"}}\n",
        stats.bytes_printed,
        stats.bytes_searched,
        json_elapsed(true),
        stats.matched_lines,
        stats.matches,
        stats.searches,
        stats.searches_with_match,
    )
}
