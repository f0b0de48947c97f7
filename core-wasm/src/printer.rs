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

/// Lines in `block`, a last one without its terminator included.
fn lines_in(block: &[u8]) -> u64 {
    let ends = memchr::memchr_iter(b'\n', block).count() as u64;
    ends + u64::from(block.last().is_some_and(|&b| b != b'\n'))
}

/// How every file of one search is printed.
#[derive(Clone, Debug)]
pub struct PrintConfig {
    pub kind: OutputKind,
    pub with_filename: bool,
    /// `-v`: reported lines are the non-matching ones.
    pub invert: bool,
    /// Context was asked for, so groups are separated by `--`.
    pub context_separator: bool,
    pub style: LineStyle,
}

/// rg's separators and per-line fields of the standard and summary
/// printers (JSON has none of them).
#[derive(Clone, Debug)]
pub struct LineStyle {
    /// After the path and each field of a matching line (`:`).
    pub field_match: Vec<u8>,
    /// After the path and each field of a context line (`-`).
    pub field_context: Vec<u8>,
    /// Between context groups (`--`); none with `--no-context-separator`.
    pub context_separator: Option<Vec<u8>>,
    /// `--null`: a NUL follows each printed path, in place of the field
    /// separator (or the line end of `-l`).
    pub null: bool,
    /// `--column`: the first match's column (1-based bytes) on matching lines.
    pub column: bool,
    /// `-b`: the byte offset of each line (of each match with `-o`).
    pub byte_offset: bool,
    /// `--trim`: leading ASCII white space left off printed lines.
    pub trim: bool,
    /// `--include-zero`: `-c` prints files with no match too.
    pub include_zero: bool,
    /// `--path-separator`: printed in place of `/` (not in JSON).
    pub path_separator: Option<u8>,
    /// `--heading`: a file's path once, above its lines, files apart by a
    /// blank line (with file names only).
    pub heading: bool,
    /// `--vimgrep`: a matching line once per match, each with its column.
    pub per_match: bool,
    /// `-M/--max-columns`: longer lines (terminator included) print as a
    /// note that they were left out.
    pub max_columns: Option<usize>,
    /// `-a/--text`: no file is binary.
    pub text: bool,
}

impl Default for LineStyle {
    fn default() -> LineStyle {
        LineStyle {
            field_match: b":".to_vec(),
            field_context: b"-".to_vec(),
            context_separator: Some(b"--".to_vec()),
            null: false,
            column: false,
            byte_offset: false,
            trim: false,
            include_zero: false,
            path_separator: None,
            heading: false,
            per_match: false,
            max_columns: None,
            text: false,
        }
    }
}

/// Which kind of line a prefix is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Match,
    Context,
}

/// What rg's `--trim` leaves off: ASCII white space other than `\n`.
fn trim_start(line: &[u8]) -> &[u8] {
    let skip = line.iter().take_while(|&&b| matches!(b, b' ' | b'\t' | b'\x0B' | b'\x0C' | b'\r')).count();
    &line[skip..]
}

/// What a file's printing amounted to.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileReport {
    /// Something was written for this file.
    pub printed: bool,
    /// It counts as a match for rg's exit status.
    pub matched: bool,
}

/// Per-file printing state; one is made for each file searched.
pub struct FilePrinter<'a> {
    out: &'a mut Vec<u8>,
    cfg: &'a PrintConfig,
    /// The file's path as printed: a root's printed path and the rest.
    shown: (&'a str, &'a str),
    /// `shown`, joined on first use (most files print nothing).
    path: Vec<u8>,
    binary: BinaryMode,
    /// First NUL seen so far in a named file: from the first 64 KiB before
    /// searching, or in a reported line. The standard printer then says
    /// "binary file matches" instead of printing lines.
    binary_offset: Option<usize>,
    matcher: &'a Matcher,
    scratch: &'a mut MatcherScratch,
    /// Whether any earlier file printed something (for `--` separators).
    printed_before: bool,
    stats: &'a mut Stats,
    file_start_len: usize,
    match_count: u64,
    matches: u64,
    /// Lines in the reported match blocks (a multi-line match counts each
    /// of its lines, as rg's `--json` stats do).
    matched_lines: u64,
}

impl<'a> FilePrinter<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        out: &'a mut Vec<u8>,
        cfg: &'a PrintConfig,
        shown: (&'a str, &'a str),
        binary: BinaryMode,
        binary_offset: Option<usize>,
        matcher: &'a Matcher,
        scratch: &'a mut MatcherScratch,
        printed_before: bool,
        stats: &'a mut Stats,
    ) -> FilePrinter<'a> {
        let file_start_len = out.len();
        FilePrinter {
            out,
            cfg,
            shown,
            path: Vec::new(),
            binary,
            binary_offset,
            matcher,
            scratch,
            printed_before,
            stats,
            file_start_len,
            match_count: 0,
            matches: 0,
            matched_lines: 0,
        }
    }

    /// Joins the printed path once, when something is about to print it.
    fn ensure_path(&mut self) {
        if self.path.is_empty() {
            self.path = crate::grep::display_join(self.shown.0, self.shown.1).into_bytes();
            if let (Some(sep), false) =
                (self.cfg.style.path_separator, matches!(self.cfg.kind, OutputKind::Json { .. }))
            {
                self.path.iter_mut().filter(|b| **b == b'/').for_each(|b| *b = sep);
            }
        }
    }

    /// Ends a printed path: NUL with `--null`, else `then`.
    fn end_path(&mut self, then: &[u8]) {
        if self.cfg.style.null {
            self.out.push(0);
        } else {
            self.out.extend_from_slice(then);
        }
    }

    fn field(&self, field: Field) -> &'a [u8] {
        let style: &'a LineStyle = &self.cfg.style;
        match field {
            Field::Match => &style.field_match,
            Field::Context => &style.field_context,
        }
    }

    /// Writes what comes after the file's lines.
    pub fn finish(mut self, outcome: &FileOutcome) -> FileReport {
        self.ensure_path();
        let count = self.match_count;
        let binary_offset = self.binary_offset.or(outcome.binary_offset);
        // A walked file given up as binary counts as no match in summaries.
        let summary_drop = outcome.binary_quit;
        let mut matched = count > 0;
        match self.cfg.kind {
            OutputKind::Standard { .. } => {
                if let (Some(offset), true) = (binary_offset, count > 0) {
                    if self.cfg.with_filename {
                        self.out.extend_from_slice(&self.path);
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
            OutputKind::Json { .. } => {
                if count > 0 {
                    let printed = (self.out.len() - self.file_start_len) as u64;
                    let st = &mut *self.stats;
                    st.searches += 1;
                    st.searches_with_match += 1;
                    st.bytes_searched += outcome.bytes_searched as u64;
                    st.bytes_printed += printed;
                    st.matched_lines += self.matched_lines;
                    st.matches += self.matches;
                    let binary = binary_offset.map_or("null".to_string(), |o| o.to_string());
                    let end = format!(
                        "{{\"type\":\"end\",\"data\":{{\"path\":{},\"binary_offset\":{binary},\"stats\":{{{},\"searches\":1,\"searches_with_match\":1,\"bytes_searched\":{},\"bytes_printed\":{printed},\"matched_lines\":{},\"matches\":{}}}}}}}\n",
                        json_data(&self.path),
                        json_elapsed(false),
                        outcome.bytes_searched,
                        self.matched_lines,
                        self.matches,
                    );
                    self.out.extend_from_slice(end.as_bytes());
                }
            }
            _ if summary_drop => matched = false,
            OutputKind::Count { matches } => {
                let n = if matches || self.matcher.is_multiline() { self.matches } else { count };
                if n > 0 || self.cfg.style.include_zero {
                    // Always `:` here: the field separators are for lines.
                    if self.cfg.with_filename {
                        self.out.extend_from_slice(&self.path);
                        self.end_path(b":");
                    }
                    self.out.extend_from_slice(n.to_string().as_bytes());
                    self.out.push(b'\n');
                }
            }
            OutputKind::FilesWithMatches => {
                if count > 0 {
                    self.out.extend_from_slice(&self.path);
                    self.end_path(b"\n");
                }
            }
            OutputKind::FilesWithoutMatch => {
                // rg's exit status here says whether a path was printed.
                matched = count == 0;
                if matched {
                    self.out.extend_from_slice(&self.path);
                    self.end_path(b"\n");
                }
            }
        }
        FileReport { printed: self.out.len() > self.file_start_len, matched }
    }

    /// In a named file, a NUL in a reported line marks it binary (rg checks
    /// each line it is about to print).
    fn note_binary(&mut self, file: &[u8], start: usize, end: usize) {
        if self.binary == BinaryMode::Convert && self.binary_offset.is_none() && !self.cfg.style.text {
            self.binary_offset = memchr::memchr(0, &file[start..end]).map(|i| start + i);
        }
    }

    fn stops_for_binary(&self) -> bool {
        self.binary == BinaryMode::Convert && self.binary_offset.is_some()
    }

    fn write_path_prefix(&mut self, field: Field) {
        if self.cfg.with_filename && !self.cfg.style.heading {
            self.ensure_path();
            self.out.extend_from_slice(&self.path);
            let sep = self.field(field);
            self.end_path(sep);
        }
    }

    /// Path, line number, column and byte offset, each as asked for.
    fn write_line_prefix(
        &mut self,
        field: Field,
        line_number: Option<u64>,
        column: Option<usize>,
        offset: usize,
    ) {
        self.write_path_prefix(field);
        let sep = self.field(field);
        if let Some(n) = line_number {
            self.out.extend_from_slice(n.to_string().as_bytes());
            self.out.extend_from_slice(sep);
        }
        if let (Some(c), true) = (column, self.cfg.style.column) {
            self.out.extend_from_slice(c.to_string().as_bytes());
            self.out.extend_from_slice(sep);
        }
        if self.cfg.style.byte_offset {
            self.out.extend_from_slice(offset.to_string().as_bytes());
            self.out.extend_from_slice(sep);
        }
    }

    /// Writes `bytes` as one output line, adding a missing terminator.
    fn write_line(&mut self, bytes: &[u8]) {
        let bytes = if self.cfg.style.trim { trim_start(bytes) } else { bytes };
        self.out.extend_from_slice(bytes);
        if bytes.last() != Some(&b'\n') {
            self.out.push(b'\n');
        }
    }

    /// The `--` between files, before a file's first line.
    fn file_separator(&mut self) {
        if self.out.len() != self.file_start_len {
            return;
        }
        if self.cfg.style.heading && self.cfg.with_filename {
            // rg puts a blank line between files here, never `--`.
            if self.printed_before {
                self.out.push(b'\n');
            }
            self.ensure_path();
            self.out.extend_from_slice(&self.path);
            self.end_path(b"\n");
        } else if self.cfg.context_separator && self.printed_before {
            self.context_break();
        }
    }

    /// `--vimgrep`: the line (a single one) once for each match in it.
    fn per_match_lines(&mut self, file: &[u8], start: usize, end: usize, n: u64, numbered: bool) {
        let mut found = Vec::new();
        block_matches(self.matcher, self.scratch, file, start, end, |s, _| found.push(s));
        let count = found.len();
        if found.is_empty() {
            // As for -o (see `only_matching`).
            return self.standard_lines(file, start, end, n, Field::Match, numbered);
        }
        for s in found {
            // A long line with many matches prints it once per match: past
            // one search's heap ceiling stop here, and the search's next
            // check fails it (limits::Stop::OutputTooLarge), not the instance.
            if self.out.len() > crate::limits::MAX_SEARCH_HEAP {
                return;
            }
            self.write_line_prefix(Field::Match, numbered.then_some(n), Some(s - start + 1), s);
            if self.too_wide(end - start) {
                self.write_line(format!("[Omitted long line with {count} matches]").as_bytes());
            } else {
                self.write_line(&file[start..end]);
            }
        }
    }

    fn too_wide(&self, len: usize) -> bool {
        self.cfg.style.max_columns.is_some_and(|max| len > max)
    }

    /// The column rg prints for a reported block: its first match's, from
    /// the block's start (every line of a multi-line block shows it).
    fn block_column(&mut self, file: &[u8], start: usize, end: usize) -> Option<usize> {
        let mut first = None;
        block_matches(self.matcher, self.scratch, file, start, end, |s, _| {
            first.get_or_insert(s - start + 1);
        });
        first
    }

    fn standard_lines(
        &mut self,
        file: &[u8],
        start: usize,
        end: usize,
        first: u64,
        field: Field,
        numbered: bool,
    ) {
        let column = match (self.cfg.style.column, field) {
            (true, Field::Match) if !self.cfg.invert => self.block_column(file, start, end),
            _ => None,
        };
        let mut n = first;
        let mut pos = start;
        while pos < end {
            let e = memchr::memchr(b'\n', &file[pos..end]).map_or(end, |i| pos + i + 1);
            self.write_line_prefix(field, numbered.then_some(n), column, pos);
            if self.too_wide(e - pos) {
                // rg counts matches only when it looked for each (--column).
                let note = match field {
                    Field::Context => "[Omitted long context line]".to_string(),
                    Field::Match if column.is_some() => {
                        let mut count = 0;
                        block_matches(self.matcher, self.scratch, file, start, end, |_, _| count += 1);
                        format!("[Omitted long line with {count} matches]")
                    }
                    Field::Match => "[Omitted long matching line]".to_string(),
                };
                self.write_line(note.as_bytes());
                pos = e;
                n += 1;
                continue;
            }
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
        if found.is_empty() {
            // Only an empty match at the very end of the file, which rg
            // drops: it then prints the line itself.
            return self.standard_lines(file, start, end, first, Field::Match, numbered);
        }
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
                // rg's multi-line -o prints no empty piece (`-U -o '^'` and
                // `-U -o '\n'` print nothing), where line by line an empty
                // match prints an empty line.
                if self.matcher.is_multiline() && part.is_empty() {
                    line += 1;
                    continue;
                }
                let at = part.as_ptr() as usize - file.as_ptr() as usize;
                let line_start = file[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                self.write_line_prefix(Field::Match, numbered.then_some(line), Some(at - line_start + 1), at);
                if self.too_wide(part.len()) {
                    self.out.extend_from_slice(b"[Omitted long matching line]\n");
                    line += 1;
                    continue;
                }
                self.out.extend_from_slice(part);
                self.out.push(b'\n');
                line += 1;
            }
        }
    }

    fn json_lines(&mut self, kind: &str, file: &[u8], start: usize, end: usize, n: u64, numbered: bool) {
        self.ensure_path();
        if self.out.len() == self.file_start_len {
            let begin = format!("{{\"type\":\"begin\",\"data\":{{\"path\":{}}}}}\n", json_data(&self.path));
            self.out.extend_from_slice(begin.as_bytes());
        }
        let mut subs = String::new();
        if kind == "match" {
            self.matched_lines += if self.matcher.is_multiline() { lines_in(&file[start..end]) } else { 1 };
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
            json_data(&self.path),
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
        self.note_binary(file, start, end);
        match self.cfg.kind {
            OutputKind::Standard { line_number: numbered, only_matching } => {
                if self.stops_for_binary() {
                    return false;
                }
                self.file_separator();
                if only_matching && !self.cfg.invert {
                    self.only_matching(file, start, end, line_number, numbered);
                } else if self.cfg.style.per_match && !self.cfg.invert {
                    self.per_match_lines(file, start, end, line_number, numbered);
                } else {
                    self.standard_lines(file, start, end, line_number, Field::Match, numbered);
                }
                true
            }
            OutputKind::Count { matches } => {
                if matches || self.matcher.is_multiline() {
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
        self.note_binary(file, start, end);
        match self.cfg.kind {
            OutputKind::Standard { line_number: numbered, .. } => {
                if self.stops_for_binary() {
                    return false;
                }
                self.file_separator();
                self.standard_lines(file, start, end, line_number, Field::Context, numbered);
            }
            OutputKind::Json { line_number: numbered } => {
                self.json_lines("context", file, start, end, line_number, numbered);
            }
            _ => {}
        }
        true
    }

    fn context_break(&mut self) {
        if let (OutputKind::Standard { .. }, Some(sep)) = (self.cfg.kind, &self.cfg.style.context_separator) {
            self.out.extend_from_slice(sep);
            self.out.push(b'\n');
        }
    }
}

/// rg's `{"text": ...}` for UTF-8, `{"bytes": base64}` otherwise.
pub fn json_data(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => format!("{{\"text\":{}}}", serde_json::to_string(s).unwrap_or_default()),
        Err(_) => format!("{{\"bytes\":\"{}\"}}", base64::engine::general_purpose::STANDARD.encode(bytes)),
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
