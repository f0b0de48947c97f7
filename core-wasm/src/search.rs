//! Line-oriented search of one file held in memory, with rg's semantics for
//! context, inversion, match limits, multi-line matches and binary data.
//!
//! The searcher decides *which* lines are reported and how; a [`Sink`]
//! decides how they are printed.

use crate::limits::Interrupt;
use crate::matcher::{Matcher, MatcherScratch};
use crate::sketch::BlockPlan;

/// rg reads files in 64 KiB chunks; binary detection is tied to them.
pub const BUFFER_CAPACITY: usize = 64 * 1024;

/// A line-by-line search hands the regex at most this much (then up to a
/// line end) per call when no literal scan goes first, so that it can be
/// interrupted between calls: the slowest regexes take about 1.5 µs a byte,
/// 25 ms a chunk. Literal scans get chunks of [`Matcher::line_chunk_bytes`]
/// (a call costs about a microsecond; 16 KiB of a literal scan takes two).
pub const CHUNK_BYTES: usize = 16 * 1024;

/// What to do with a NUL byte, as rg does for walked vs. named files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryMode {
    /// Files found by walking: stop at the chunk holding the first NUL.
    Quit,
    /// Files named on the command line: search all, but tell the sink.
    Convert,
}

#[derive(Clone, Debug, Default)]
pub struct SearchConfig {
    pub invert: bool,
    pub before: usize,
    pub after: usize,
    pub max_count: Option<u64>,
    /// Count lines for the sink; otherwise it is given line number 0.
    pub line_numbers: bool,
}

/// Receives the lines a search reports. Offsets index the file's bytes;
/// `start..end` covers whole lines including their terminators.
pub trait Sink {
    /// Returns false to stop searching this file.
    fn matched(&mut self, file: &[u8], start: usize, end: usize, line_number: u64) -> bool;
    fn context(&mut self, file: &[u8], start: usize, end: usize, line_number: u64) -> bool;
    fn context_break(&mut self);
}

/// How a file's search ended.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileOutcome {
    pub match_count: u64,
    /// Offset of the first NUL byte, when binary data was detected.
    pub binary_offset: Option<usize>,
    /// True when the search stopped early because of binary data (Quit).
    pub binary_quit: bool,
    pub bytes_searched: usize,
}

/// Returns the first NUL offset rg's chunked reader would see, and the
/// number of leading bytes it searched before quitting (Quit mode). `peek`:
/// how many bytes its first read returns (see [`search_file`]).
fn quit_extent(data: &[u8], first_nul: Option<usize>, peek: usize) -> (Option<usize>, usize) {
    let nul = match first_nul {
        None => return (None, data.len()),
        Some(i) => i,
    };
    // Simulate the reader: each fill tops the buffer up to its capacity;
    // complete lines are searched, the partial last line is kept. The fill
    // that brings in the NUL is not searched at all.
    let (mut buf_start, mut buf_end, mut cap) = (0usize, 0usize, BUFFER_CAPACITY);
    let mut peek = Some(peek).filter(|&p| p > 0 && p < data.len());
    loop {
        let fill_end = peek.take().unwrap_or((buf_start + cap).min(data.len()));
        if nul < fill_end {
            return (Some(nul), buf_start);
        }
        buf_end = buf_end.max(fill_end);
        match memchr::memrchr(b'\n', &data[buf_start..buf_end]) {
            Some(i) => buf_start += i + 1,
            // After the first, short read: the next one tops the buffer up.
            None if buf_end < buf_start + cap => {}
            None => cap *= 2,
        }
    }
}

/// The bytes rg's reader had moved past (its buffer's start in the file)
/// when it searched the line ending at `end` (see [`quit_extent`] for the
/// reading model). A buffer searches up to its last line end; what follows
/// waits for the next fill, even when the file ends there without one (rg
/// sees the end only when a read returns nothing). Moving on, rg keeps the
/// last `context` lines of a buffer for before-context, unless a line it
/// reported (`reported`: the end offsets of lines handed to the sink, in
/// order) lies further on.
pub fn read_stop_offset(data: &[u8], end: usize, context: usize, reported: &[usize], peek: usize) -> usize {
    let (mut buf_start, mut cap) = (0usize, BUFFER_CAPACITY);
    // Where the unfinished line that the next fill completes starts.
    let mut searched_end = 0usize;
    let mut peek = Some(peek).filter(|&p| p > 0 && p < data.len());
    loop {
        let peeked = peek.take();
        let fill_end = peeked.unwrap_or((buf_start + cap).min(data.len()));
        let term = match memchr::memrchr(b'\n', &data[searched_end..fill_end]) {
            Some(i) => searched_end + i + 1,
            None if fill_end == data.len() => fill_end,
            // After the first, short read: the next one tops the buffer up.
            None if fill_end < buf_start + cap => continue,
            None => {
                cap *= 2; // a line longer than the buffer: it grows
                continue;
            }
        };
        if end <= term {
            return buf_start;
        }
        let buf = &data[buf_start..term];
        let consumed = if context == 0 {
            buf.len()
        } else if peeked.is_some() {
            // A line there that was reported was before-context of a match
            // further on, reported from the next buffer (a match within
            // these 3 bytes is taken to be too rare to model).
            preceding_lines(buf, context)
        } else {
            let at = reported.partition_point(|&e| e <= term);
            let visited = reported[..at].last().filter(|&&e| e > buf_start).map_or(0, |&e| e - buf_start);
            preceding_lines(buf, context).max(visited)
        };
        buf_start += consumed;
        searched_end = term;
    }
}

/// grep-searcher's `lines::preceding`: where the line `count` lines before
/// the last line of `buf` starts (the last line ends at a final line end).
fn preceding_lines(buf: &[u8], mut count: usize) -> usize {
    let mut pos = buf.len();
    if pos == 0 {
        return 0;
    }
    if buf[pos - 1] == b'\n' {
        pos -= 1;
    }
    loop {
        match memchr::memrchr(b'\n', &buf[..pos]) {
            None => return 0,
            Some(i) if count == 0 => return i + 1,
            Some(0) => return 0,
            Some(i) => {
                count -= 1;
                pos = i;
            }
        }
    }
}

/// Searches one file, reporting lines to `sink`. `first_nul` is the offset
/// of the file's first NUL byte, if any. `blocks`, given only for a
/// line-by-line search, says which ranges of lines may match (from the
/// file's sketch): the others are not scanned, nor are their line ends
/// counted. The search ends early, as if at the end of the file, once
/// `interrupt` says stop (the caller then discards the output). `read`:
/// rg reads this file through its line buffer (it does for every walked
/// file, and for a named one it transcodes) rather than mapping it, which
/// shows in the bytes it counts as searched when it stops early. `peek`:
/// how many bytes rg's first read of a read file returns: its decoder
/// first peeks at 3 for a byte-order mark and hands back just those (so a
/// file whose first line fits in them has that line searched on its own:
/// in a binary file it prints, and `/*` moves the start of the buffer); 0
/// for a file that had a byte-order mark (its content starts after it).
#[allow(clippy::too_many_arguments)]
pub fn search_file(
    data: &[u8],
    first_nul: Option<usize>,
    binary: BinaryMode,
    read: bool,
    peek: usize,
    cfg: &SearchConfig,
    matcher: &Matcher,
    scratch: &mut MatcherScratch,
    sink: &mut dyn Sink,
    blocks: Option<&BlockPlan>,
    interrupt: &Interrupt,
) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    // rg's multi-line searcher holds the whole file: it quits at once for a
    // NUL in its first buffer, else only at a NUL in lines it would report
    // (see `Run::emit`), so a NUL among adjacent matching lines hides them
    // all and lines after a NUL elsewhere still show.
    let quit_on_nul = binary == BinaryMode::Quit && matcher.is_multiline() && first_nul.is_some();
    let hay = match binary {
        BinaryMode::Quit if quit_on_nul => {
            let nul = first_nul.filter(|&i| i < BUFFER_CAPACITY);
            outcome.binary_offset = nul;
            outcome.binary_quit = nul.is_some();
            if nul.is_some() {
                &data[..0]
            } else {
                data
            }
        }
        BinaryMode::Quit => {
            let (nul, searchable) = quit_extent(data, first_nul, peek);
            outcome.binary_offset = nul;
            outcome.binary_quit = nul.is_some();
            &data[..searchable]
        }
        BinaryMode::Convert => {
            // Named files are checked in their first buffer only.
            outcome.binary_offset = first_nul.filter(|&i| i < BUFFER_CAPACITY);
            data
        }
    };
    // What rg reports as bytes searched when the search runs to the end.
    outcome.bytes_searched = match (binary, outcome.binary_offset) {
        // Quit at once, at a NUL in the first buffer of a whole-file search.
        (BinaryMode::Quit, Some(nul)) if quit_on_nul => nul,
        (BinaryMode::Quit, _) => hay.len(),
        (BinaryMode::Convert, Some(off)) => off,
        (BinaryMode::Convert, None) => hay.len(),
    };
    if cfg.max_count == Some(0) || hay.is_empty() {
        return outcome;
    }
    debug_assert!(blocks.is_none() || !matcher.is_multiline(), "a match may span blocks");
    // Only where every line is whole (not cut short at binary data).
    let blocks = blocks.filter(|_| hay.len() == data.len());
    let mut run = Run {
        hay,
        cfg,
        sink,
        lines: LineCounter { anchors: blocks.map(|b| (b.starts, b.lines)), ..LineCounter::default() },
        printed_end: None,
        reported: cfg.max_count.is_some().then(Vec::new).filter(|_| cfg.before.max(cfg.after) > 0),
        match_end: None,
        match_count: 0,
        after_remaining: 0,
        stopped: false,
        quit_on_nul,
        quit_nul: None,
        interrupt,
    };
    let mut blocks = MatchBlocks {
        matcher,
        scratch,
        hay,
        pos: 0,
        pending: None,
        ranges: blocks.map(|b| b.ranges.as_slice()),
        interrupt,
        ticked: 0,
    };
    if cfg.invert {
        run.invert(&mut blocks);
    } else {
        run.forward(&mut blocks);
    }
    outcome.match_count = run.match_count;
    if let Some(nul) = run.quit_nul {
        // rg's position moves to the NUL: what it counts as searched.
        outcome.binary_offset = Some(nul);
        outcome.binary_quit = true;
        outcome.bytes_searched = nul;
    } else if run.stopped {
        // rg counts what it had consumed: for a read file, the buffers before
        // the one it stopped in (and it never saw a later NUL); for a named
        // (memory-mapped) file, up to the last match it reported.
        let end = run.printed_end.unwrap_or(0);
        let context = cfg.before.max(cfg.after);
        outcome.bytes_searched = if matcher.is_multiline() && !cfg.invert {
            // A multi-line search holds the whole file; it had found the
            // next match (to see whether it joins the last block) when it
            // stopped.
            blocks.pos.min(hay.len())
        } else if binary == BinaryMode::Quit || read {
            read_stop_offset(data, end, context, run.reported.as_deref().unwrap_or(&[]), peek)
        } else {
            // rg's position in a mapped file moves with matches, not context.
            run.match_end.unwrap_or(0)
        };
        if binary == BinaryMode::Quit {
            outcome.binary_offset = None;
            outcome.binary_quit = false;
        }
    }
    outcome
}

/// Yields runs of matching lines `[start, end)` in order. In line mode each
/// is one line; in multi-line mode matches on adjacent lines merge, as in
/// grep-searcher.
struct MatchBlocks<'a, 'm> {
    matcher: &'m Matcher,
    scratch: &'a mut MatcherScratch,
    hay: &'a [u8],
    pos: usize,
    pending: Option<(usize, usize)>,
    /// The only whole-line ranges that may match (see [`BlockPlan`]), those
    /// not yet passed first.
    ranges: Option<&'a [(usize, usize)]>,
    interrupt: &'a Interrupt<'a>,
    /// Where the search was when it last told `interrupt` of its work.
    ticked: usize,
}

impl MatchBlocks<'_, '_> {
    /// Tells `interrupt` of the bytes passed since last time; true to stop.
    fn stop(&mut self) -> bool {
        let work = self.pos.saturating_sub(self.ticked);
        self.ticked = self.pos;
        self.interrupt.tick(work)
    }

    fn next_block(&mut self) -> Option<(usize, usize)> {
        let hay = self.hay;
        if !self.matcher.is_multiline() {
            loop {
                // Search up to the end of the range `pos` is in (or the next).
                let range_end = match &mut self.ranges {
                    None => hay.len(),
                    Some(ranges) => {
                        while ranges.first().is_some_and(|r| r.1 <= self.pos) {
                            *ranges = &ranges[1..];
                        }
                        let &(start, end) = ranges.first()?;
                        self.pos = self.pos.max(start);
                        end
                    }
                };
                if self.pos >= range_end {
                    return None;
                }
                if self.stop() {
                    return None;
                }
                // At most a chunk, to a line end, per call (see CHUNK_BYTES).
                let chunk = self.matcher.line_chunk_bytes(self.scratch);
                let end = match self.pos.checked_add(chunk).filter(|&e| e < range_end) {
                    Some(e) => memchr::memchr(b'\n', &hay[e..range_end]).map_or(range_end, |i| e + i + 1),
                    None => range_end,
                };
                // A range or chunk ends after a line end, so lines found in it
                // are whole.
                match self.matcher.find_line_at(self.scratch, &hay[..end], self.pos) {
                    Some(at) => {
                        let (start, end) = line_bounds(hay, at);
                        self.pos = end;
                        return Some((start, end));
                    }
                    None if end < hay.len() => self.pos = end,
                    None => return None,
                }
            }
        }
        loop {
            // A multi-line match may span any chunk: the regex sees the whole
            // file, so this stops between matches only.
            if self.stop() {
                return self.pending.take();
            }
            let found = if self.pos < hay.len() || (self.pos == hay.len() && hay.is_empty()) {
                self.matcher.find_at(self.scratch, hay, self.pos)
            } else {
                None
            };
            let (ms, me) = match found {
                None => {
                    // Searched to the end (what rg counts as searched then).
                    self.pos = hay.len();
                    return self.pending.take();
                }
                Some(m) => m,
            };
            self.pos = if ms == me { me + 1 } else { me };
            let line = locate_lines(hay, ms, me);
            match self.pending {
                None => self.pending = Some(line),
                Some((ps, pe)) if pe >= line.0 => self.pending = Some((ps, pe.max(line.1))),
                Some(prev) => {
                    self.pending = Some(line);
                    return Some(prev);
                }
            }
        }
    }
}

/// The line holding byte `at`: from after the previous `\n` to just past
/// the next one (or the end of the data).
fn line_bounds(hay: &[u8], at: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |i| at + i + 1);
    (start, end)
}

/// grep-searcher's `lines::locate`: the whole lines spanned by a match.
fn locate_lines(hay: &[u8], ms: usize, me: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &hay[..ms]).map_or(0, |i| i + 1);
    let end = if me > start && hay[me - 1] == b'\n' {
        me
    } else {
        memchr::memchr(b'\n', &hay[me..]).map_or(hay.len(), |i| me + i + 1)
    };
    (start, end)
}

/// Counts lines incrementally: the number of the line starting at `pos`.
#[derive(Default)]
struct LineCounter<'a> {
    pos: usize,
    line: u64,
    /// Offsets where the count of line ends before them is known (block
    /// starts, and those counts), to jump over unscanned blocks.
    anchors: Option<(&'a [u32], &'a [u32])>,
}

impl LineCounter<'_> {
    fn number_at(&mut self, hay: &[u8], offset: usize) -> u64 {
        debug_assert!(offset >= self.pos);
        if let Some((starts, lines)) = self.anchors {
            // The last block start at or before `offset`, if past `pos`.
            let k = starts.partition_point(|&s| s as usize <= offset) - 1;
            if starts[k] as usize > self.pos {
                self.pos = starts[k] as usize;
                self.line = u64::from(lines[k]);
            }
        }
        self.line += memchr::memchr_iter(b'\n', &hay[self.pos..offset]).count() as u64;
        self.pos = offset;
        self.line + 1
    }
}

/// The state of one file's search: what was printed, how many matches.
struct Run<'a> {
    hay: &'a [u8],
    cfg: &'a SearchConfig,
    sink: &'a mut dyn Sink,
    lines: LineCounter<'a>,
    /// End offset of the last line handed to the sink.
    printed_end: Option<usize>,
    /// The end offsets of all lines handed to the sink, when a search with
    /// context may stop early (see [`read_stop_offset`]).
    reported: Option<Vec<usize>>,
    /// How far rg's position in a mapped file got: the end of the last
    /// matching line handed to the sink (with `-v`, see [`Run::invert`]).
    match_end: Option<usize>,
    match_count: u64,
    after_remaining: usize,
    stopped: bool,
    /// Stop, unreported, at the first line or block holding a NUL (rg's
    /// multi-line searcher in a file found by the walk).
    quit_on_nul: bool,
    /// Where that NUL was.
    quit_nul: Option<usize>,
    interrupt: &'a Interrupt<'a>,
}

impl Run<'_> {
    fn limit_reached(&self) -> bool {
        self.cfg.max_count.is_some_and(|m| self.match_count >= m)
    }

    fn forward(&mut self, blocks: &mut MatchBlocks) {
        while !self.stopped {
            let Some((start, end)) = blocks.next_block() else { break };
            self.report_match(start, end);
            if self.limit_reached() && self.after_remaining == 0 {
                self.stopped = true;
                return;
            }
        }
        self.trailing_context(self.hay.len());
    }

    /// With `-v`, the lines between matching blocks are the matches.
    fn invert(&mut self, blocks: &mut MatchBlocks) {
        let mut pos = 0;
        loop {
            let next = blocks.next_block();
            let gap_end = next.map_or(self.hay.len(), |(s, _)| s);
            while pos < gap_end && !self.stopped {
                let end = memchr::memchr(b'\n', &self.hay[pos..gap_end]).map_or(gap_end, |i| pos + i + 1);
                self.report_match(pos, end);
                pos = end;
                if self.limit_reached() && self.after_remaining == 0 {
                    self.stopped = true;
                }
            }
            if self.stopped {
                // rg moves past the matching block that ends a run of
                // inverted matches before it reports them: that is what it
                // counts as searched in a mapped file.
                self.match_end = Some(next.map_or(self.hay.len(), |(_, e)| e));
                return;
            }
            match next {
                Some((_, e)) if !self.stopped => pos = e,
                _ => break,
            }
        }
        self.trailing_context(self.hay.len());
    }

    /// Reports a matching block, with any context it needs before it.
    fn report_match(&mut self, start: usize, end: usize) {
        // After-context of earlier matches runs up to this block.
        self.trailing_context(start);
        if self.stopped {
            return;
        }
        if self.limit_reached() {
            // Past the limit a match can only show as part of the
            // after-context; rg still prints it as a match line.
            if self.after_remaining == 0 {
                self.stopped = true;
                return;
            }
            self.after_remaining -= 1;
            self.emit(start, end, true);
            return;
        }
        let before_start = self.before_context_start(start);
        self.maybe_break(before_start);
        let mut pos = before_start;
        while pos < start && !self.stopped {
            let e = memchr::memchr(b'\n', &self.hay[pos..start]).map_or(start, |i| pos + i + 1);
            self.emit(pos, e, false);
            pos = e;
        }
        if self.stopped {
            return;
        }
        self.match_count += 1;
        self.after_remaining = self.cfg.after;
        self.emit(start, end, true);
    }

    /// Where before-context for a block at `start` begins: up to `before`
    /// lines back, but never re-printing lines already printed.
    fn before_context_start(&self, start: usize) -> usize {
        let floor = self.printed_end.unwrap_or(0);
        let mut pos = start;
        for _ in 0..self.cfg.before {
            if pos <= floor {
                break;
            }
            pos = memchr::memrchr(b'\n', &self.hay[floor..pos - 1]).map_or(floor, |i| floor + i + 1);
        }
        pos
    }

    /// Prints pending after-context lines that lie before `limit`.
    fn trailing_context(&mut self, limit: usize) {
        let Some(mut pos) = self.printed_end else { return };
        while self.after_remaining > 0 && pos < limit && !self.stopped {
            let e = memchr::memchr(b'\n', &self.hay[pos..limit]).map_or(limit, |i| pos + i + 1);
            self.after_remaining -= 1;
            self.emit(pos, e, false);
            pos = e;
        }
        if self.limit_reached() && self.after_remaining == 0 {
            self.stopped = true;
        }
    }

    /// A `--` goes between groups of lines that are not adjacent.
    fn maybe_break(&mut self, next_start: usize) {
        let any_context = self.cfg.before > 0 || self.cfg.after > 0;
        if let Some(end) = self.printed_end {
            if any_context && end < next_start {
                self.sink.context_break();
            }
        }
    }

    fn emit(&mut self, start: usize, end: usize, is_match: bool) {
        if self.quit_on_nul {
            if let Some(i) = memchr::memchr(0, &self.hay[start..end]) {
                self.quit_nul = Some(start + i);
                self.stopped = true;
                return;
            }
        }
        let n = if self.cfg.line_numbers { self.lines.number_at(self.hay, start) } else { 0 };
        let go_on = if is_match {
            self.sink.matched(self.hay, start, end, n)
        } else {
            self.sink.context(self.hay, start, end, n)
        };
        self.printed_end = Some(end);
        if is_match {
            self.match_end = Some(end);
        }
        if let Some(ends) = &mut self.reported {
            ends.push(end);
        }
        // Output grows here: the heap ceiling is checked per line printed.
        if !go_on || self.interrupt.tick(0) {
            self.stopped = true;
        }
    }
}
