//! Turns rg-style pattern options into one compiled matcher.
//!
//! The translation follows ripgrep 13 (`grep-regex`) step by step so that the
//! same pattern text matches the same bytes: `-F` escapes each pattern, `-x`
//! wraps each in `^(?:..)$`, patterns are joined with `|`, smart case looks at
//! the literals of the syntax tree, the line terminator is removed from every
//! class (and is an error as a literal), and `-w` wraps the whole expression
//! in `(?:(?m:^)|\W)(..)(?:\W|(?m:$))`, reporting capture group 1.

use std::cell::{OnceCell, RefCell};

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::Input;
use regex_syntax::ast::{self, Ast};
use regex_syntax::hir::{self, Hir, HirKind};

use crate::prefilter::LineFilter;
use crate::sketch::GramCounts;

/// How letter case is treated, as set by `-s`, `-i` and `-S`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseMode {
    Sensitive,
    Insensitive,
    Smart,
}

/// Everything that decides which bytes a pattern matches.
#[derive(Clone, Debug)]
pub struct PatternOptions {
    pub patterns: Vec<String>,
    pub fixed_strings: bool,
    pub case: CaseMode,
    pub word: bool,
    pub line_regexp: bool,
    pub multiline: bool,
    /// rg's `--regex-size-limit`: bytes the compiled regex may take.
    pub size_limit: usize,
    /// rg's `--dfa-size-limit`: bytes of the lazy DFA's cache.
    pub dfa_size_limit: usize,
}

/// rg 13's default `--regex-size-limit` (its help says 10M, but what it
/// enforces, and names in its error, is grep-regex's 100 MiB).
pub const DEFAULT_SIZE_LIMIT: usize = 100 << 20;
/// rg 13's default `--dfa-size-limit` (grep-regex's 1000 MiB).
pub const DEFAULT_DFA_SIZE_LIMIT: usize = 1000 << 20;
/// The lazy DFA's cache is kept to this, below the DFA size limit: one
/// per regex held, and more only makes the slowest patterns a little
/// less slow.
const DFA_CACHE_BYTES: usize = 64 << 20;

/// The fully compiled DFA the meta regex may build for small patterns
/// stays within its own default (40 MiB), lowered by a smaller limit.
const META_DFA_BYTES: usize = 40 << 20;

/// What each literal character of a pattern costs at least in rg 13's
/// compiled regex (one 32-byte instruction; measured: 30 literal bytes fit
/// in `--regex-size-limit 1K`, 40 do not).
const BYTES_PER_LITERAL: usize = 32;

/// rg's message for a pattern over the size limit.
fn size_limit_error(limit: usize) -> String {
    format!("Compiled regex exceeds size limit of {limit} bytes.")
}

/// A lower bound on the characters of `pattern` that compile to at least
/// one instruction each: those outside classes, repetition counts and
/// escapes that are not syntax. Zero when it cannot tell (`(?x)` mode,
/// where whitespace and comments cost nothing).
fn literal_chars(pattern: &str) -> usize {
    if pattern.contains("(?") && pattern.contains('x') {
        return 0;
    }
    let (mut n, mut class, mut count, mut escaped) = (0, 0usize, false, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => class += 1,
            ']' if class > 0 => class -= 1,
            _ if class > 0 => {}
            '{' => count = true,
            '}' => count = false,
            _ if count => {}
            '(' | ')' | '|' | '*' | '+' | '?' | '.' | '^' | '$' => {}
            _ => n += 1,
        }
    }
    n
}

/// Refuses, before parsing, a pattern sure to exceed the size limit: a
/// 15 MiB pattern took 2.3 GB and seconds to parse before failing (rg takes
/// a minute and 10 GB for the same error). Patterns that may be forty
/// literals or more are left to the parse (see [`by_aho_corasick`]).
fn check_pattern_size(opts: &PatternOptions) -> Result<(), String> {
    // Perhaps forty literals or more (`|` counted as if each one parted
    // two): rg may take them without limit, which only the parse tells.
    let bars: usize = opts.patterns.iter().map(|p| p.matches('|').count()).sum();
    let alternatives = opts.patterns.len() + if opts.fixed_strings { 0 } else { bars };
    if by_aho_corasick(opts, alternatives) {
        return Ok(());
    }
    let chars: usize = opts
        .patterns
        .iter()
        .map(|p| if opts.fixed_strings { p.chars().count() } else { literal_chars(p) })
        .sum();
    if chars.saturating_mul(BYTES_PER_LITERAL) > opts.size_limit {
        return Err(size_limit_error(opts.size_limit));
    }
    Ok(())
}

/// rg 13 matches an alternation of at least this many plain literals with
/// Aho-Corasick, which has no size limit (grep-regex's `MultiLiteral`).
const AHO_CORASICK_LITERALS: usize = 40;

/// Whether rg 13 would match `alternatives` plain literals without a
/// compiled regex: case-sensitively (not even smart case), with no `-w` or
/// `-x`, and enough of them.
fn by_aho_corasick(opts: &PatternOptions, alternatives: usize) -> bool {
    matches!(opts.case, CaseMode::Sensitive)
        && !opts.word
        && !opts.line_regexp
        && alternatives >= AHO_CORASICK_LITERALS
}

/// The branches of `ast` when it is an alternation of plain literals (or
/// empty branches), as rg 13's analysis sees them.
fn literal_alternatives(ast: &ast::Ast) -> Option<usize> {
    let literal = |a: &ast::Ast| match a {
        ast::Ast::Empty(_) | ast::Ast::Literal(_) => true,
        ast::Ast::Concat(c) => c.asts.iter().all(|a| matches!(a, ast::Ast::Literal(_))),
        _ => false,
    };
    match ast {
        ast::Ast::Alternation(alt) if alt.asts.iter().all(literal) => Some(alt.asts.len()),
        _ => None,
    }
}

/// Patterns up to this long are built into a regex only when a search
/// needs one (see [`Matcher::regex`]); longer ones at once, so a pattern
/// over the size limit is an error before any output, as in rg.
const LAZY_PATTERN_BYTES: usize = 4096;

/// A compiled pattern, immutable and shareable; scratch space lives in
/// [`MatcherScratch`].
#[derive(Debug)]
pub struct Matcher {
    /// The full regex, built on first use: a plain literal search whose
    /// line filter confirms its own candidates never needs it, and building
    /// one costs about a millisecond in WebAssembly.
    regex: OnceCell<Regex>,
    hir: Hir,
    config: meta::Config,
    /// When set (`-w`), the reported match is capture group 1, not the
    /// whole match (which includes the surrounding non-word characters).
    word: bool,
    multiline: bool,
    /// Optional fast scan that finds candidate lines before the regex runs.
    line_filter: Option<LineFilter>,
    /// A sharper scan for haystacks known to hold neither ſ nor the Kelvin
    /// sign (see [`crate::prefilter::holds_wide_folds`]), when it differs:
    /// `(?i)suspend` then needs all of `SUSPEND`, not just `USPEND`.
    narrow_filter: Option<LineFilter>,
    /// Confirms candidate lines: the same regex without literal
    /// optimisations, which only re-find what the filter already found.
    line_check: Option<Regex>,
}

/// Per-search mutable state for a [`Matcher`], made on first use.
#[derive(Default)]
pub struct MatcherScratch {
    cache: Option<meta::Cache>,
    check_cache: Option<meta::Cache>,
    caps: Option<Captures>,
    /// The haystacks searched now hold no ſ or Kelvin sign.
    narrow: bool,
}

impl MatcherScratch {
    /// Says whether the haystacks searched next hold no ſ or Kelvin sign
    /// (a file's [`crate::corpus::FileEntry::wide_folds`], negated).
    pub fn set_narrow(&mut self, narrow: bool) {
        self.narrow = narrow;
    }
}

impl Matcher {
    /// `counts`, when known, lets the line filter scan for the rarest of
    /// the literals every match holds.
    pub fn new(opts: &PatternOptions, counts: Option<&GramCounts>) -> Result<Matcher, String> {
        check_pattern_size(opts)?;
        let joined = opts
            .patterns
            .iter()
            .map(|p| {
                let p = if opts.fixed_strings { regex_syntax::escape(p) } else { p.clone() };
                let p = if opts.line_regexp { format!("^(?:{p})$") } else { p };
                // `foo|` is fine today, but rg uses this placeholder for an
                // empty pattern and so do we, to keep analysis identical.
                if p.is_empty() {
                    "(?:z{0})*".to_string()
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join("|");
        let ast = ast::parse::ParserBuilder::new()
            .nest_limit(250)
            .octal(false)
            .build()
            .parse(&joined)
            .map_err(|e| e.to_string())?;
        let case_insensitive = match opts.case {
            CaseMode::Sensitive => false,
            CaseMode::Insensitive => true,
            CaseMode::Smart => {
                let mut a = CaseAnalysis::default();
                a.visit(&ast);
                a.any_literal && !a.any_uppercase
            }
        };
        let mut hir = hir::translate::TranslatorBuilder::new()
            .utf8(false)
            .case_insensitive(case_insensitive)
            .multi_line(true)
            .dot_matches_new_line(false)
            .unicode(true)
            .build()
            .translate(&joined, &ast)
            .map_err(|e| e.to_string())?;
        // -U with a pattern that can match no line end searches line by
        // line, as rg does (its searcher asks the matcher): that shows in
        // -c, binary files and stats. rg asks before its -w wrapper, whose
        // `\W` would take one (`-U -w foo` searches line by line).
        let multiline = opts.multiline && can_match_byte(&hir, b'\n');
        if opts.word {
            let wrapped = format!(r"(?:(?m:^)|\W)({hir})(?:\W|(?m:$))");
            hir = regex_syntax::ParserBuilder::new()
                .nest_limit(250)
                .octal(false)
                .utf8(false)
                .multi_line(true)
                .unicode(true)
                .build()
                .parse(&wrapped)
                .map_err(|e| e.to_string())?;
        }
        // As rg does, after the word wrapper: its `\W` must not take a line
        // end either (on a blank line, `-w '^$'` would run into the next).
        if !multiline {
            hir = strip_line_terminator(hir)?;
        }
        // rg 13's own size check (see program_size.rs), before the far
        // slower compile of today's engine.
        let exempt = literal_alternatives(&ast).is_some_and(|n| by_aho_corasick(opts, n));
        if !exempt && !crate::program_size::fits(&hir, opts.size_limit) {
            return Err(size_limit_error(opts.size_limit));
        }
        let filter = |narrow| if multiline { None } else { LineFilter::from_hir(&hir, narrow, counts) };
        let (line_filter, narrow_filter) = (filter(false), filter(true));
        let narrow_filter = match (&line_filter, narrow_filter) {
            (Some(general), Some(narrow)) if general.same_needles(&narrow) => None,
            (_, narrow) => narrow,
        };
        let config = meta::Config::new()
            .utf8_empty(false)
            // rg's limit is the check above; today's engine's own compiled
            // sizes differ, so it only keeps to rg's default (as for the
            // Aho-Corasick literals, which rg does not limit).
            .nfa_size_limit(Some(opts.size_limit.max(DEFAULT_SIZE_LIMIT)))
            .dfa_size_limit(Some(opts.dfa_size_limit.min(META_DFA_BYTES)))
            .hybrid_cache_capacity(opts.dfa_size_limit.min(DFA_CACHE_BYTES));
        // Candidates that the filter cannot confirm need the check regex at
        // once; it has the same automaton as the full one, so once it is
        // built the full one is sure to build too.
        let confirmed = |f: &Option<LineFilter>| f.as_ref().is_none_or(|f| f.confirms);
        let line_check = if confirmed(&line_filter) && confirmed(&narrow_filter) {
            None
        } else {
            Some(build_regex(config.clone().auto_prefilter(false), &hir)?)
        };
        let regex = OnceCell::new();
        // A lower size limit than rg's default may fail a small pattern too,
        // and must do so now, as rg's does (not when output needs the regex).
        let small_limit =
            opts.size_limit < DEFAULT_SIZE_LIMIT || opts.dfa_size_limit < DEFAULT_DFA_SIZE_LIMIT;
        if line_filter.is_none()
            || (line_check.is_none() && (small_limit || joined.len() > LAZY_PATTERN_BYTES))
        {
            let _ = regex.set(build_regex(config.clone(), &hir)?);
        }
        Ok(Matcher { regex, hir, config, word: opts.word, multiline, line_filter, narrow_filter, line_check })
    }

    /// The full regex (see the field's note on why it may be built late).
    fn regex(&self) -> &Regex {
        self.regex.get_or_init(|| {
            build_regex(self.config.clone(), &self.hir).expect("a pattern that analysed cleanly builds")
        })
    }

    pub fn scratch(&self) -> MatcherScratch {
        MatcherScratch::default()
    }

    /// N-gram hashes of the needles every match contains, one list per
    /// needle (files whose sketch lacks all of them cannot match); `narrow`
    /// for a file holding no ſ or Kelvin sign.
    pub fn needle_grams(&self, narrow: bool) -> Option<&[Vec<u32>]> {
        self.filter(narrow).map(|f| f.grams.as_slice())
    }

    /// Like [`Matcher::needle_grams`], for each other set of needles every
    /// match holds one of: a file must hold one needle of each.
    pub fn extra_grams(&self, narrow: bool) -> &[Vec<Vec<u32>>] {
        self.filter(narrow).map_or(&[], |f| f.extra_grams.as_slice())
    }

    fn filter(&self, narrow: bool) -> Option<&LineFilter> {
        match &self.narrow_filter {
            Some(f) if narrow => Some(f),
            _ => self.line_filter.as_ref(),
        }
    }

    /// How much of a file a line-by-line search hands
    /// [`Matcher::find_line_at`] per call: small when the regex scans
    /// alone (it may take microseconds a byte), large behind a literal
    /// scan, whose calls cost more than the scanning of a small chunk.
    pub fn line_chunk_bytes(&self, s: &MatcherScratch) -> usize {
        match self.filter(s.narrow) {
            None => crate::search::CHUNK_BYTES,
            Some(f) if f.confirms => 1 << 20,
            Some(_) => 128 << 10,
        }
    }

    pub fn is_multiline(&self) -> bool {
        self.multiline
    }

    /// The offset of some byte on the first line, at or after `at`, that
    /// holds a match (line mode only). Cheaper than [`Matcher::find_at`]
    /// because it needs no exact bounds.
    pub fn find_line_at(&self, s: &mut MatcherScratch, hay: &[u8], at: usize) -> Option<usize> {
        let Some(filter) = self.filter(s.narrow) else {
            // No filter: the regex scans the rest of the file.
            let re = self.regex();
            let cache = s.cache.get_or_insert_with(|| re.create_cache());
            let m = re.search_with(cache, &Input::new(hay).span(at..hay.len()))?;
            // After a final newline there is no line, though `^$` matches.
            if m.start() == hay.len() && hay.last().is_none_or(|&b| b == b'\n') {
                return None;
            }
            return Some(m.start());
        };
        // The filter proposes lines that may match; the regex only has to
        // say yes or no for each, which is cheaper than finding bounds.
        let mut at = at;
        while at < hay.len() {
            let cand = filter.find(hay, at)?;
            let start = memchr::memrchr(b'\n', &hay[at..cand]).map_or(at, |i| at + i + 1);
            if filter.confirms {
                return Some(start);
            }
            let end = memchr::memchr(b'\n', &hay[cand..]).map_or(hay.len(), |i| cand + i + 1);
            if !filter.holds_extras(&hay[start..end]) {
                at = end;
                continue;
            }
            let check = self.line_check.as_ref().expect("built for filters that do not confirm");
            let cache = s.check_cache.get_or_insert_with(|| check.create_cache());
            if check.is_match_with(cache, &Input::new(hay).span(start..end).earliest(true)) {
                return Some(start);
            }
            at = end;
        }
        None
    }

    /// The leftmost match starting at or after `at`, seen in all of `hay`
    /// (so look-around sees the bytes before `at`). Returns its bounds.
    pub fn find_at(&self, s: &mut MatcherScratch, hay: &[u8], at: usize) -> Option<(usize, usize)> {
        if at > hay.len() {
            return None;
        }
        let input = Input::new(hay).span(at..hay.len());
        let re = self.regex();
        let cache = s.cache.get_or_insert_with(|| re.create_cache());
        if !self.word {
            return re.search_with(cache, &input).map(|m| (m.start(), m.end()));
        }
        let caps = s.caps.get_or_insert_with(|| re.create_captures());
        re.search_captures_with(cache, &input, caps);
        caps.get_group(1).map(|sp| (sp.start, sp.end))
    }

    /// Calls `f` for each match in `hay[at..]`, the way grep-matcher's
    /// `find_iter_at` walks: after an empty match the next search starts one
    /// byte later, and an empty match right after a match is skipped.
    pub fn for_each_match(
        &self,
        s: &mut MatcherScratch,
        hay: &[u8],
        at: usize,
        mut f: impl FnMut(usize, usize) -> bool,
    ) {
        let mut last_end = at;
        let mut last_match: Option<usize> = None;
        loop {
            if last_end > hay.len() {
                return;
            }
            let (start, end) = match self.find_at(s, hay, last_end) {
                None => return,
                Some(m) => m,
            };
            if start == end {
                last_end = end + 1;
                if Some(end) == last_match {
                    continue;
                }
            } else {
                last_end = end;
            }
            last_match = Some(end);
            if !f(start, end) {
                return;
            }
        }
    }
}

/// How many compiled regexes [`build_regex`] keeps.
const REGEXES_KEPT: usize = 16;

thread_local! {
    /// Recently built regexes, most recent first, by syntax tree and the
    /// settings that vary (literal prefilters, size limits). Building one
    /// costs up to a millisecond or more (`(?i)\w+` classes), and the same
    /// pattern comes back: agents repeat searches, and a workspace split in
    /// shards compiles it once per shard.
    static REGEXES: RefCell<Vec<(Hir, Settings, Regex)>> = const { RefCell::new(Vec::new()) };
}

/// The settings of a [`meta::Config`] that differ between regexes built.
type Settings = (bool, Option<usize>, Option<usize>, usize);

fn build_regex(config: meta::Config, hir: &Hir) -> Result<Regex, String> {
    let prefilter: Settings = (
        config.get_auto_prefilter(),
        config.get_nfa_size_limit(),
        config.get_dfa_size_limit(),
        config.get_hybrid_cache_capacity(),
    );
    let cached = REGEXES.with_borrow_mut(|kept| {
        let i = kept.iter().position(|(h, p, _)| *p == prefilter && h == hir)?;
        let entry = kept.remove(i);
        let regex = entry.2.clone(); // cheap: shares the compiled parts
        kept.insert(0, entry);
        Some(regex)
    });
    if let Some(regex) = cached {
        return Ok(regex);
    }
    let regex =
        meta::Builder::new().configure(config).build_from_hir(hir).map_err(|e| match e.size_limit() {
            Some(limit) => size_limit_error(limit),
            None => e.to_string(),
        })?;
    REGEXES.with_borrow_mut(|kept| {
        kept.insert(0, (hir.clone(), prefilter, regex.clone()));
        kept.truncate(REGEXES_KEPT);
    });
    Ok(regex)
}

/// rg's smart-case test: is there any literal character, and is any of them
/// uppercase? Escapes like `\w` and `\p{Lu}` count as neither.
#[derive(Default)]
struct CaseAnalysis {
    any_literal: bool,
    any_uppercase: bool,
}

impl CaseAnalysis {
    fn visit(&mut self, ast: &Ast) {
        match ast {
            Ast::Literal(lit) => self.literal(lit),
            Ast::ClassBracketed(c) => self.class_set(&c.kind),
            Ast::Repetition(r) => self.visit(&r.ast),
            Ast::Group(g) => self.visit(&g.ast),
            Ast::Alternation(a) => a.asts.iter().for_each(|x| self.visit(x)),
            Ast::Concat(c) => c.asts.iter().for_each(|x| self.visit(x)),
            _ => {}
        }
    }

    fn class_set(&mut self, set: &ast::ClassSet) {
        match set {
            ast::ClassSet::Item(item) => self.class_item(item),
            ast::ClassSet::BinaryOp(op) => {
                self.class_set(&op.lhs);
                self.class_set(&op.rhs);
            }
        }
    }

    fn class_item(&mut self, item: &ast::ClassSetItem) {
        match item {
            ast::ClassSetItem::Literal(lit) => self.literal(lit),
            ast::ClassSetItem::Range(r) => {
                self.literal(&r.start);
                self.literal(&r.end);
            }
            ast::ClassSetItem::Bracketed(b) => self.class_set(&b.kind),
            ast::ClassSetItem::Union(u) => u.items.iter().for_each(|x| self.class_item(x)),
            _ => {}
        }
    }

    fn literal(&mut self, lit: &ast::Literal) {
        self.any_literal = true;
        self.any_uppercase |= lit.c.is_uppercase();
    }
}

/// Removes `\n` from every class so no match can cross a line; a literal
/// `\n`, or a class of nothing but `\n`, is an error as in rg.
/// Whether some match of `hir` can hold byte `b` (grep-regex's "non-matching
/// bytes", which rg's searcher asks for the line terminator). As in rg 13,
/// a line or text anchor counts as holding `\n` (`-U '^'` and `-U 'd$'`
/// search the file whole, so a NUL among adjacent matching lines hides them
/// all); a word boundary holds nothing.
fn can_match_byte(hir: &Hir, b: u8) -> bool {
    use hir::Look;
    match hir.kind() {
        HirKind::Empty => false,
        HirKind::Look(
            Look::Start | Look::End | Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF,
        ) => b == b'\n',
        HirKind::Look(_) => false,
        HirKind::Literal(hir::Literal(bytes)) => bytes.contains(&b),
        HirKind::Class(hir::Class::Unicode(cls)) => {
            cls.ranges().iter().any(|r| (r.start() as u32..=r.end() as u32).contains(&u32::from(b)))
        }
        HirKind::Class(hir::Class::Bytes(cls)) => {
            cls.ranges().iter().any(|r| (r.start()..=r.end()).contains(&b))
        }
        HirKind::Repetition(rep) => can_match_byte(&rep.sub, b),
        HirKind::Capture(cap) => can_match_byte(&cap.sub, b),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(|h| can_match_byte(h, b)),
    }
}

fn strip_line_terminator(hir: Hir) -> Result<Hir, String> {
    let not_allowed = || Err("the literal '\"\\n\"' is not allowed in a regex".to_string());
    Ok(match hir.into_kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(hir::Literal(bytes)) => {
            if bytes.contains(&b'\n') {
                return not_allowed();
            }
            Hir::literal(bytes)
        }
        HirKind::Class(hir::Class::Unicode(mut cls)) => {
            cls.difference(&hir::ClassUnicode::new([hir::ClassUnicodeRange::new('\n', '\n')]));
            if cls.ranges().is_empty() {
                return not_allowed();
            }
            Hir::class(hir::Class::Unicode(cls))
        }
        HirKind::Class(hir::Class::Bytes(mut cls)) => {
            cls.difference(&hir::ClassBytes::new([hir::ClassBytesRange::new(b'\n', b'\n')]));
            if cls.ranges().is_empty() {
                return not_allowed();
            }
            Hir::class(hir::Class::Bytes(cls))
        }
        HirKind::Look(look) => Hir::look(look),
        HirKind::Repetition(mut rep) => {
            rep.sub = Box::new(strip_line_terminator(*rep.sub)?);
            Hir::repetition(rep)
        }
        HirKind::Capture(mut cap) => {
            cap.sub = Box::new(strip_line_terminator(*cap.sub)?);
            Hir::capture(cap)
        }
        HirKind::Concat(subs) => {
            Hir::concat(subs.into_iter().map(strip_line_terminator).collect::<Result<_, _>>()?)
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.into_iter().map(strip_line_terminator).collect::<Result<_, _>>()?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_regexes_are_the_ones_asked_for() {
        let config = meta::Config::new().utf8_empty(false);
        let hirs: Vec<Hir> =
            (0..REGEXES_KEPT + 2).map(|i| regex_syntax::parse(&format!("a{i}b")).unwrap()).collect();
        for round in 0..2 {
            for (i, hir) in hirs.iter().enumerate() {
                for prefilter in [true, false] {
                    let re = build_regex(config.clone().auto_prefilter(prefilter), hir).unwrap();
                    assert!(re.is_match(format!("xa{i}bx").as_str()), "round {round}, pattern {i}");
                    assert!(!re.is_match(format!("xa{}bx", i + 100).as_str()));
                }
            }
        }
        REGEXES.with_borrow(|kept| assert_eq!(kept.len(), REGEXES_KEPT));
    }

    fn opts(p: &str) -> PatternOptions {
        PatternOptions {
            patterns: vec![p.to_string()],
            fixed_strings: false,
            case: CaseMode::Sensitive,
            word: false,
            line_regexp: false,
            multiline: false,
            size_limit: DEFAULT_SIZE_LIMIT,
            dfa_size_limit: DEFAULT_DFA_SIZE_LIMIT,
        }
    }

    #[test]
    fn size_limit_errors_read_like_rg() {
        let small = |p: &str| PatternOptions { size_limit: 1024, ..opts(p) };
        assert!(Matcher::new(&small(&"a".repeat(10)), None).is_ok());
        for p in ["a".repeat(100), r"\w{100}".to_string()] {
            let err = Matcher::new(&small(&p), None).unwrap_err();
            assert_eq!(err, "Compiled regex exceeds size limit of 1024 bytes.", "{p}");
        }
        // Refused before parsing (15 MiB took seconds and gigabytes).
        let huge = "a".repeat(15 << 20);
        let err = Matcher::new(&opts(&huge), None).unwrap_err();
        assert_eq!(err, "Compiled regex exceeds size limit of 104857600 bytes.");
        // Forty fixed strings or more are not limited (rg uses Aho-Corasick
        // for them); fewer are, as in rg.
        let words = |n: usize| PatternOptions {
            fixed_strings: true,
            patterns: (0..n).map(|i| format!("w{i}")).collect(),
            size_limit: 8,
            ..opts("")
        };
        assert!(Matcher::new(&words(2), None).is_err());
        assert!(Matcher::new(&words(40), None).is_ok());
        assert!(Matcher::new(&PatternOptions { case: CaseMode::Insensitive, ..words(40) }, None).is_err());
        // rg refuses this in a quarter second; compiling it took seconds.
        let err = Matcher::new(&opts(r"(?:\w|\s){1000}Q"), None).unwrap_err();
        assert_eq!(err, "Compiled regex exceeds size limit of 104857600 bytes.");
        assert!(Matcher::new(&opts(r"(?:\w|\s){200}Q"), None).is_ok());
    }

    fn find(o: &PatternOptions, hay: &str) -> Option<(usize, usize)> {
        let m = Matcher::new(o, None).unwrap();
        let mut s = m.scratch();
        m.find_at(&mut s, hay.as_bytes(), 0)
    }

    #[test]
    fn smart_case_follows_literals() {
        let mut o = opts("foo");
        o.case = CaseMode::Smart;
        assert_eq!(find(&o, "FOO"), Some((0, 3)));
        o.patterns = vec!["Foo".into()];
        assert_eq!(find(&o, "FOO"), None);
        // `\W` is not a literal, so `\Wx` stays case-insensitive.
        o.patterns = vec![r"\Wx".into()];
        assert_eq!(find(&o, " X"), Some((0, 2)));
    }

    #[test]
    fn word_reports_inner_group() {
        let mut o = opts("foo");
        o.word = true;
        assert_eq!(find(&o, "!foo("), Some((1, 4)));
        assert_eq!(find(&o, "afoo"), None);
        assert_eq!(find(&o, "foo_bar foo"), Some((8, 11)));
    }

    #[test]
    fn newline_literal_is_rejected_in_line_mode() {
        let err = Matcher::new(&opts(r"a\nb"), None).unwrap_err();
        assert!(err.contains("not allowed"), "{err}");
        let mut o = opts(r"a\nb");
        o.multiline = true;
        assert!(Matcher::new(&o, None).is_ok());
    }

    #[test]
    fn classes_never_cross_lines() {
        assert_eq!(find(&opts(r"a\sb"), "a\nb a b"), Some((4, 7)));
    }

    #[test]
    fn empty_matches_advance_bytewise() {
        let m = Matcher::new(&opts("x*"), None).unwrap();
        let mut s = m.scratch();
        let mut got = vec![];
        m.for_each_match(&mut s, b"axx", 0, |a, b| {
            got.push((a, b));
            true
        });
        assert_eq!(got, vec![(0, 0), (1, 3)]);
    }
}
