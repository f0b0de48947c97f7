//! Candidate-line scanning ahead of the regex.
//!
//! From the pattern's syntax tree we derive a small set of *needles*: every
//! match must contain one of them. A needle is a byte string in which ASCII
//! letters may be marked case-folded, so `(?i)holmes` and inner literals like
//! the `_MAX_` of `\w+_MAX_\w+` become fast scans. The scan compares two
//! chosen bytes of each needle against 16 haystack positions at once with
//! WebAssembly SIMD, then verifies whole needles; the regex only runs on
//! lines that hold one. Any line without a needle cannot match, so results
//! are exactly the regex's.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::sketch::{needle_grams, GramCounts};

/// Needle sets larger than this are left to the regex engine.
const MAX_NEEDLES: usize = 8;

/// The non-ASCII characters that Unicode case folding maps to ASCII
/// letters: `(?i)s` also matches U+017F (ſ) and `(?i)k` the Kelvin sign
/// U+212A. A needle must stop at such a letter, unless the haystack is
/// known to hold neither character (true of almost all source code).
const WIDE_FOLDS: [char; 2] = ['\u{17F}', '\u{212A}'];

/// Whether `data` holds a character of [`WIDE_FOLDS`].
pub fn holds_wide_folds(data: &[u8]) -> bool {
    WIDE_FOLDS.iter().any(|c| memchr::memmem::find(data, c.to_string().as_bytes()).is_some())
}

/// The offset of `data`'s first NUL byte, and [`holds_wide_folds`], in one
/// pass: the lead bytes of [`WIDE_FOLDS`] (`C5 BF`, `E2 84 AA`) are as rare
/// in code as NUL, so one three-byte scan finds all candidates.
pub fn scan_nul_and_wide_folds(data: &[u8]) -> (Option<usize>, bool) {
    let (mut first_nul, mut wide) = (None, false);
    for i in memchr::memchr3_iter(0, 0xC5, 0xE2, data) {
        match data[i] {
            0 => first_nul = first_nul.or(Some(i)),
            0xC5 => wide |= data[i + 1..].starts_with(&[0xBF]),
            _ => wide |= data[i + 1..].starts_with(&[0x84, 0xAA]),
        }
        if first_nul.is_some() && wide {
            break;
        }
    }
    (first_nul, wide)
}

/// One byte of a needle: exact, or an ASCII letter in either case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Unit {
    Exact(u8),
    /// Stored lowercase.
    Fold(u8),
}

impl Unit {
    fn matches(self, b: u8) -> bool {
        match self {
            Unit::Exact(x) => b == x,
            Unit::Fold(x) => b | 0x20 == x,
        }
    }

    /// (byte, or-mask) for the SIMD compare `(h | mask) == byte`.
    fn probe(self) -> (u8, u8) {
        match self {
            Unit::Exact(x) => (x, 0),
            Unit::Fold(x) => (x, 0x20),
        }
    }
}

type Needle = Vec<Unit>;

/// What the analysis knows about the strings a sub-pattern matches.
#[derive(Clone, Debug)]
struct Facts {
    /// All strings it can match, when that set is small and known.
    exact: Option<Vec<Needle>>,
    /// A set one of which every match contains, when known.
    required: Option<Vec<Needle>>,
    /// Every such set found (`required` is the best of them): a match
    /// contains a needle of each.
    all: Vec<Vec<Needle>>,
}

impl Facts {
    fn unknown() -> Facts {
        Facts { exact: None, required: None, all: Vec::new() }
    }

    fn exact(set: Vec<Needle>) -> Facts {
        let set = dedup(set);
        if set.len() > MAX_NEEDLES {
            return Facts::unknown();
        }
        Facts { exact: Some(set.clone()), required: Some(set.clone()), all: vec![set] }
    }
}

fn dedup(mut set: Vec<Needle>) -> Vec<Needle> {
    set.sort();
    set.dedup();
    set
}

/// What the analysis may assume and knows of the haystacks.
struct Context<'a> {
    /// The haystacks hold no [`WIDE_FOLDS`] character.
    narrow: bool,
    /// Trigram frequencies, to prefer rare needles over long ones.
    counts: Option<&'a GramCounts>,
}

impl Context<'_> {
    /// How useful a needle set is, higher is better: without counts, a
    /// longer shortest needle, then fewer needles; with counts, fewer
    /// expected occurrences first.
    fn score(&self, set: &[Needle]) -> (std::cmp::Reverse<u64>, usize, std::cmp::Reverse<usize>) {
        let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
        let expected = match self.counts {
            Some(counts) if shortest >= 3 => set
                .iter()
                .map(|n| counts.estimate(&n.iter().map(|u| u.probe().0).collect::<Vec<u8>>()).unwrap_or(0))
                .sum(),
            Some(_) => u64::MAX,
            None => 0,
        };
        (std::cmp::Reverse(expected), shortest, std::cmp::Reverse(set.len()))
    }

    fn better(&self, a: Option<Vec<Needle>>, b: Option<Vec<Needle>>) -> Option<Vec<Needle>> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if self.score(&b) > self.score(&a) { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// A class becomes a unit only when it is one byte or one ASCII letter in
/// both cases; anything else is unknown. With `narrow` (the haystack holds
/// no [`WIDE_FOLDS`] character) `[Ssſ]` counts as `[Ss]`.
fn class_unit(class: &Class, narrow: bool) -> Option<Unit> {
    let mut members = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.iter() {
                for ch in r.start()..=r.end() {
                    if narrow && WIDE_FOLDS.contains(&ch) {
                        continue;
                    }
                    if !ch.is_ascii() || members.len() >= 2 {
                        return None;
                    }
                    members.push(ch as u8);
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    if members.len() >= 2 {
                        return None;
                    }
                    members.push(b);
                }
            }
        }
    }
    match members[..] {
        [b] => Some(Unit::Exact(b)),
        [a, b] if a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(&b) && a != b => {
            Some(Unit::Fold(a.to_ascii_lowercase()))
        }
        _ => None,
    }
}

fn analyze(hir: &Hir, cx: &Context) -> Facts {
    let narrow = cx.narrow;
    let analyze = |h| analyze(h, cx);
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Facts::exact(vec![Vec::new()]),
        HirKind::Literal(lit) => Facts::exact(vec![lit.0.iter().map(|&b| Unit::Exact(b)).collect()]),
        HirKind::Class(c) => match class_unit(c, narrow) {
            Some(u) => Facts::exact(vec![vec![u]]),
            None => Facts::unknown(),
        },
        HirKind::Capture(cap) => analyze(&cap.sub),
        HirKind::Repetition(rep) => {
            let sub = analyze(&rep.sub);
            if rep.min == 0 {
                return Facts::unknown();
            }
            if rep.min == 1 && rep.max == Some(1) {
                return sub;
            }
            Facts { exact: None, required: sub.required.or(sub.exact), all: sub.all }
        }
        HirKind::Alternation(subs) => {
            let facts: Vec<Facts> = subs.iter().map(&analyze).collect();
            let exact =
                facts.iter().map(|f| f.exact.clone()).collect::<Option<Vec<_>>>().map(|sets| sets.concat());
            let required = facts
                .iter()
                .map(|f| f.required.clone())
                .collect::<Option<Vec<_>>>()
                .map(|sets| dedup(sets.concat()));
            let exact = exact.map(dedup).filter(|s| s.len() <= MAX_NEEDLES);
            let required = required.filter(|s| s.len() <= MAX_NEEDLES);
            let all = required.iter().cloned().collect();
            Facts { exact, required, all }
        }
        HirKind::Concat(subs) => {
            // Glue runs of known exact sets together (cross product); any
            // unknown piece ends a run. The best run or child set wins.
            let mut best: Option<Vec<Needle>> = None;
            let mut run: Option<Vec<Needle>> = Some(vec![Vec::new()]);
            let mut all_exact = true;
            let mut all = Vec::new();
            for sub in subs {
                let f = analyze(sub);
                best = cx.better(best, f.required.clone());
                all.extend(f.all);
                match (run.take(), f.exact) {
                    (Some(prefixes), Some(suffixes)) if prefixes.len() * suffixes.len() <= MAX_NEEDLES => {
                        let joined = prefixes
                            .iter()
                            .flat_map(|p| suffixes.iter().map(move |s| [p.as_slice(), s].concat()))
                            .collect();
                        run = Some(dedup(joined));
                    }
                    (prev, exact) => {
                        all_exact = false;
                        all.extend(prev.clone());
                        best = cx.better(best, prev);
                        run = exact.or_else(|| Some(vec![Vec::new()]));
                    }
                }
            }
            best = cx.better(best, run.clone());
            all.extend(run.clone());
            Facts { exact: if all_exact { run } else { None }, required: best, all }
        }
    }
}

/// Finds bytes that may lie on a matching line, much faster than the regex.
#[derive(Debug)]
pub struct LineFilter {
    scan: Scan,
    /// Every needle occurrence is itself a match (the pattern is just the
    /// needles, with no assertions), so candidates need no regex.
    pub confirms: bool,
    /// Each needle's n-gram hashes, for skipping files by their sketch.
    pub grams: Vec<Vec<u32>>,
    /// Other sets of needles every match also holds one of (the scan's set
    /// is the rarest), each needle with its [`anchor_of`]: `\w+_MAX_\w+ =`
    /// scans for `_MAX_` and checks ` =`.
    extra: Vec<Vec<(Needle, usize)>>,
    /// The grams of those `extra` sets whose needles all have some.
    pub extra_grams: Vec<Vec<Vec<u32>>>,
    needles: Vec<Needle>,
}

/// At most this many `extra` sets are checked.
const MAX_EXTRA_SETS: usize = 3;

/// The position of a needle's rarest byte (by memchr's table), where
/// [`contains`] looks first: a needle like ` =` starts with a byte found
/// every few bytes.
fn anchor_of(needle: &[Unit]) -> usize {
    let bytes: Vec<u8> = needle.iter().map(|u| u.probe().0).collect();
    memchr::arch::all::packedpair::Pair::new(&bytes).map_or(0, |p| usize::from(p.index1()))
}

/// Whether `hay` holds `needle` (letters folded where marked), looking
/// for its byte at `anchor` and checking around it.
fn contains(hay: &[u8], needle: &[Unit], anchor: usize) -> bool {
    let Some(&unit) = needle.get(anchor) else { return true };
    let mut at = anchor;
    while at + needle.len() - anchor <= hay.len() {
        let found = match unit {
            Unit::Exact(b) => memchr::memchr(b, &hay[at..]),
            Unit::Fold(b) => memchr::memchr2(b, b.to_ascii_uppercase(), &hay[at..]),
        };
        let Some(i) = found else { return false };
        let start = at + i - anchor;
        if start + needle.len() > hay.len() {
            return false;
        }
        if needle.iter().zip(&hay[start..]).all(|(u, &b)| u.matches(b)) {
            return true;
        }
        at += i + 1;
    }
    false
}

#[derive(Debug)]
enum Scan {
    /// One case-sensitive needle: memchr's SIMD substring search.
    Exact(Box<memchr::memmem::Finder<'static>>),
    /// Folded or several needles: the pair scan below.
    Pairs(Vec<Probe>),
}

/// A needle with the two positions whose bytes the SIMD pass compares.
#[derive(Debug)]
#[cfg_attr(not(all(target_arch = "wasm32", target_feature = "simd128")), allow(dead_code))]
struct Probe {
    units: Needle,
    p1: usize,
    p2: usize,
}

impl Probe {
    /// Probes the two positions whose bytes are rarest: by this corpus's
    /// byte counts when known, else by memchr's frequency table (for a
    /// folded letter, its lowercase form stands in for both cases).
    fn new(units: Needle, counts: Option<&GramCounts>) -> Probe {
        use memchr::arch::all::packedpair::Pair;
        let bytes: Vec<u8> = units.iter().map(|u| u.probe().0).collect();
        let pair = match counts {
            Some(counts) => Pair::with_ranker(&bytes, CorpusRank::new(counts)),
            None => Pair::new(&bytes),
        };
        let (p1, p2) = match pair {
            Some(pair) => (usize::from(pair.index1()), usize::from(pair.index2())),
            None => (0, units.len() - 1),
        };
        Probe { units, p1: p1.min(p2), p2: p1.max(p2) }
    }

    fn verify(&self, hay: &[u8], at: usize) -> bool {
        hay.len() - at >= self.units.len() && self.units.iter().zip(&hay[at..]).all(|(u, &b)| u.matches(b))
    }
}

impl LineFilter {
    /// Derives a filter from a (line-terminator-stripped) pattern, or none
    /// when no useful needle set exists. A `narrow` filter is only for
    /// haystacks without [`WIDE_FOLDS`] characters (see [`holds_wide_folds`]).
    pub fn from_hir(hir: &Hir, narrow: bool, counts: Option<&GramCounts>) -> Option<LineFilter> {
        let cx = Context { narrow, counts };
        let facts = analyze(hir, &cx);
        let needles = facts.required?;
        let confirms = hir.properties().look_set().is_empty() && facts.exact.as_ref() == Some(&needles);
        let grams_of = |set: &[Needle]| -> Vec<Vec<u32>> {
            set.iter().map(|n| needle_grams(&n.iter().map(|u| u.probe().0).collect::<Vec<u8>>())).collect()
        };
        let grams = grams_of(&needles);
        // One- and two-byte needles are too common to pay off.
        if needles.is_empty() || needles.iter().any(|n| n.len() < 3) {
            return None;
        }
        // The other required sets, rarest first: a candidate line must hold
        // one needle of each before the regex runs, and a file one of each
        // in its sketch. (A confirmed needle is a match: no need.)
        let mut extra: Vec<Vec<Needle>> = Vec::new();
        if !confirms {
            let mut sets: Vec<Vec<Needle>> = facts
                .all
                .into_iter()
                .map(dedup)
                .filter(|set| !set.is_empty() && set.iter().all(|n| !n.is_empty()) && *set != needles)
                .collect();
            sets.sort_by_key(|set| std::cmp::Reverse(cx.score(set)));
            for set in sets {
                if extra.len() < MAX_EXTRA_SETS && !extra.contains(&set) {
                    extra.push(set);
                }
            }
        }
        let extra_grams =
            extra.iter().filter(|set| set.iter().all(|n| n.len() >= 3)).map(|set| grams_of(set)).collect();
        let extra = extra
            .into_iter()
            .map(|set| {
                set.into_iter()
                    .map(|n| {
                        let anchor = anchor_of(&n);
                        (n, anchor)
                    })
                    .collect()
            })
            .collect();
        let kept = needles.clone();
        let scan = match &needles[..] {
            [one] if one.iter().all(|u| matches!(u, Unit::Exact(_))) => {
                let bytes: Vec<u8> = one.iter().map(|u| u.probe().0).collect();
                Scan::Exact(Box::new(memchr::memmem::Finder::new(&bytes).into_owned()))
            }
            _ => Scan::Pairs(needles.into_iter().map(|n| Probe::new(n, counts)).collect()),
        };
        Some(LineFilter { scan, confirms, grams, extra, extra_grams, needles: kept })
    }

    /// Whether `line` holds a needle of every other required set (see
    /// [`LineFilter::extra`]): if not, it cannot match.
    pub fn holds_extras(&self, line: &[u8]) -> bool {
        self.extra.iter().all(|set| set.iter().any(|(needle, anchor)| contains(line, needle, *anchor)))
    }

    /// Whether both scan for the same needles and check the same others.
    pub fn same_needles(&self, other: &LineFilter) -> bool {
        self.needles == other.needles && self.extra == other.extra
    }

    /// The offset of the first needle occurrence at or after `at`.
    pub fn find(&self, hay: &[u8], at: usize) -> Option<usize> {
        match &self.scan {
            Scan::Exact(f) => f.find(&hay[at..]).map(|i| at + i),
            Scan::Pairs(probes) => find_pairs(probes, hay, at),
        }
    }
}

/// Bytes ranked 0 (rarest) to 255 by how often the corpus holds them.
struct CorpusRank([u8; 256]);

impl CorpusRank {
    fn new(counts: &GramCounts) -> CorpusRank {
        let mut order: Vec<u8> = (0..=255).collect();
        order.sort_by_key(|&b| counts.byte_count(b));
        let mut rank = [0u8; 256];
        for (r, &b) in order.iter().enumerate() {
            rank[usize::from(b)] = r as u8;
        }
        CorpusRank(rank)
    }
}

impl memchr::arch::all::packedpair::HeuristicFrequencyRank for CorpusRank {
    fn rank(&self, byte: u8) -> u8 {
        self.0[usize::from(byte)]
    }
}

/// Scalar scan of positions `from..to` (also the whole scan off-wasm).
fn find_scalar(probes: &[Probe], hay: &[u8], from: usize, to: usize) -> Option<usize> {
    (from..to).find(|&i| probes.iter().any(|p| p.verify(hay, i)))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn find_pairs(probes: &[Probe], hay: &[u8], at: usize) -> Option<usize> {
    find_scalar(probes, hay, at, hay.len())
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn find_pairs(probes: &[Probe], hay: &[u8], at: usize) -> Option<usize> {
    // Fixed-size copies let the compiler keep every constant in a register.
    match probes.len() {
        1 => find_one_pair(&probes[0], hay, at),
        2 => find_pairs_n::<2>(probes, hay, at),
        3 => find_pairs_n::<3>(probes, hay, at),
        4 => find_pairs_n::<4>(probes, hay, at),
        _ => find_pairs_n::<MAX_NEEDLES>(probes, hay, at),
    }
}

/// The SIMD pass for `N` needles (fewer are padded with copies of the first,
/// which changes nothing). Each step tests 16 start positions: the needle's
/// two probe bytes, case-folded where marked, must both agree.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn find_pairs_n<const N: usize>(probes: &[Probe], hay: &[u8], at: usize) -> Option<usize> {
    use core::arch::wasm32::*;
    let pick = |k: usize| &probes[if k < probes.len() { k } else { 0 }];
    let offsets: [(usize, usize); N] = std::array::from_fn(|k| (pick(k).p1, pick(k).p2));
    let consts: [[v128; 4]; N] = std::array::from_fn(|k| {
        let p = pick(k);
        let (c1, m1) = p.units[p.p1].probe();
        let (c2, m2) = p.units[p.p2].probe();
        [u8x16_splat(c1), u8x16_splat(m1), u8x16_splat(c2), u8x16_splat(m2)]
    });
    let reach = probes.iter().map(|p| p.p2).max().unwrap_or(0) + 16;
    let base = hay.as_ptr();
    let mut i = at;
    while i + reach <= hay.len() {
        let mut any = u8x16_splat(0);
        let mut hits = [any; N];
        for k in 0..N {
            let (o1, o2) = offsets[k];
            let [c1, m1, c2, m2] = consts[k];
            // SAFETY: i + o2 + 16 <= i + reach <= hay.len(), so both 16-byte
            // loads are in bounds; wasm loads need no alignment.
            let (a, b) = unsafe { (v128_load(base.add(i + o1).cast()), v128_load(base.add(i + o2).cast())) };
            hits[k] = v128_and(u8x16_eq(v128_or(a, m1), c1), u8x16_eq(v128_or(b, m2), c2));
            any = v128_or(any, hits[k]);
        }
        if v128_any_true(any) {
            if let Some(pos) = first_verified(i, any, |pos| probes.iter().any(|p| p.verify(hay, pos))) {
                return Some(pos);
            }
        }
        i += 16;
    }
    find_scalar(probes, hay, i, hay.len())
}

/// The first of the candidate positions `i + k` (for each lane `k` set in
/// `hits`) that `verify` confirms.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn first_verified(i: usize, hits: core::arch::wasm32::v128, verify: impl Fn(usize) -> bool) -> Option<usize> {
    let mut mask = u32::from(core::arch::wasm32::u8x16_bitmask(hits));
    while mask != 0 {
        let pos = i + mask.trailing_zeros() as usize;
        if verify(pos) {
            return Some(pos);
        }
        mask &= mask - 1;
    }
    None
}

/// The SIMD pass for one needle, four steps of 16 positions per branch:
/// with candidates rare, testing 64 positions at once scans about 1.5x
/// faster than [`find_pairs_n`]. (Unrolled so, more needles run slower:
/// their constants no longer fit in registers.)
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn find_one_pair(probe: &Probe, hay: &[u8], at: usize) -> Option<usize> {
    use core::arch::wasm32::*;
    let (o1, o2) = (probe.p1, probe.p2);
    let (c1, m1) = probe.units[o1].probe();
    let (c2, m2) = probe.units[o2].probe();
    let [c1, m1, c2, m2] = [u8x16_splat(c1), u8x16_splat(m1), u8x16_splat(c2), u8x16_splat(m2)];
    let reach = o2 + 16;
    let base = hay.as_ptr();
    // The candidates among the 16 start positions from `i`.
    let step = |i: usize| {
        // SAFETY: callers keep i + reach <= hay.len(), so both 16-byte
        // loads are in bounds; wasm loads need no alignment.
        let (a, b) = unsafe { (v128_load(base.add(i + o1).cast()), v128_load(base.add(i + o2).cast())) };
        v128_and(u8x16_eq(v128_or(a, m1), c1), u8x16_eq(v128_or(b, m2), c2))
    };
    let check = |i: usize, hits: v128| first_verified(i, hits, |pos| probe.verify(hay, pos));
    let mut i = at;
    while i + 48 + reach <= hay.len() {
        let (a, b, c, d) = (step(i), step(i + 16), step(i + 32), step(i + 48));
        if v128_any_true(v128_or(v128_or(a, b), v128_or(c, d))) {
            for (k, hits) in [a, b, c, d].into_iter().enumerate() {
                if let Some(pos) = check(i + 16 * k, hits) {
                    return Some(pos);
                }
            }
        }
        i += 64;
    }
    while i + reach <= hay.len() {
        if let Some(pos) = check(i, step(i)) {
            return Some(pos);
        }
        i += 16;
    }
    find_scalar(std::slice::from_ref(probe), hay, i, hay.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles(pattern: &str, ci: bool) -> Option<Vec<String>> {
        needles_for(pattern, ci, false)
    }

    fn needles_for(pattern: &str, ci: bool, narrow: bool) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new().case_insensitive(ci).build().parse(pattern).unwrap();
        let set = analyze(&hir, &Context { narrow, counts: None }).required?;
        Some(
            set.iter()
                .map(|n| {
                    n.iter()
                        .map(|u| match u {
                            Unit::Exact(b) => *b as char,
                            Unit::Fold(b) => (*b as char).to_ascii_uppercase(),
                        })
                        .collect()
                })
                .collect(),
        )
    }

    #[test]
    fn inner_literals_are_required() {
        assert_eq!(needles(r"\w+_MAX_\w+ =", false), Some(vec!["_MAX_".into()]));
        assert_eq!(needles(r"[A-Z]+_SUSPEND", false), Some(vec!["_SUSPEND".into()]));
    }

    #[test]
    fn other_required_literals_rule_out_lines() {
        let filter = |pattern: &str| {
            let hir =
                regex_syntax::ParserBuilder::new().case_insensitive(true).build().parse(pattern).unwrap();
            LineFilter::from_hir(&hir, true, None).unwrap()
        };
        let f = filter(r"\w+_MAX_\w+ =");
        assert!(!f.confirms);
        assert!(f.holds_extras(b"  int BUF_max_LEN = 4;\n"));
        assert!(!f.holds_extras(b"  if (BUF_MAX_LEN > 4) {\n"), "no ` =` on the line");
        assert_eq!(f.extra_grams.len(), 0, "` =` is too short for a sketch");
        // Three literals: the scan takes one, the line must hold the others.
        let f = filter(r"func \(\w+ \*\w+\) Get");
        assert!(f.holds_extras(b"func (s *Store) GetAll() {\n"));
        assert!(!f.holds_extras(b"func (s *Store) Put() {\n"), "no `) get`");
        assert!(!f.holds_extras(b"x.Get(func (y) {}\n"), "no ` *`");
        assert!(!f.extra_grams.is_empty(), "`func (` and `) get` have grams");
        // A plain literal confirms itself: nothing else to check.
        let f = filter("get_buffer");
        assert!(f.confirms && f.holds_extras(b"nothing here\n"));
        // Look-alikes of a needle's anchor byte do not fool the check.
        assert!(contains(b"a = b == c", &[Unit::Exact(b'='), Unit::Exact(b'=')], 1));
        assert!(!contains(b"a = b = c =", &[Unit::Exact(b'='), Unit::Exact(b'=')], 1));
        assert!(contains(b"x_mAx_", &[Unit::Exact(b'_'), Unit::Fold(b'm'), Unit::Fold(b'a')], 1));
    }

    #[test]
    fn case_folding_avoids_non_ascii_variants() {
        // (?i)s also matches U+017F and (?i)k the Kelvin sign: those break runs.
        assert_eq!(needles("(?i)holmes", false), Some(vec!["HOLME".into()]));
        assert_eq!(needles("sherlock|holmes", true), Some(vec!["HERLOC".into(), "HOLME".into()]));
    }

    #[test]
    fn rare_needles_beat_long_ones() {
        let mut counts = GramCounts::default();
        let text = "static int x;\n".repeat(50) + "static int foo_probe(void)\n";
        crate::sketch::Sketch::build(text.as_bytes(), &mut counts);
        let hir = regex_syntax::parse(r"static int \w+_probe\(").unwrap();
        let pick = |counts| analyze(&hir, &Context { narrow: true, counts }).required.unwrap()[0].len();
        assert_eq!(pick(None), "static int ".len(), "by length");
        assert_eq!(pick(Some(&counts)), "_probe(".len(), "by rarity");
    }

    #[test]
    fn probes_avoid_bytes_this_corpus_is_full_of() {
        let mut counts = GramCounts::default();
        crate::sketch::Sketch::build(&b"q_q_q_q_q_q_q_q ".repeat(100), &mut counts);
        let needle: Needle = b"q_x#".iter().map(|&b| Unit::Exact(b)).collect();
        let probe = Probe::new(needle, Some(&counts));
        assert_eq!((probe.p1, probe.p2), (2, 3), "x and # are rare here; q and _ are not");
    }

    #[test]
    fn narrow_haystacks_keep_whole_needles() {
        assert_eq!(needles_for("(?i)pm_suspend", false, true), Some(vec!["PM_SUSPEND".into()]));
        assert_eq!(
            needles_for("sherlock|holmes", true, true),
            Some(vec!["HOLMES".into(), "SHERLOCK".into()])
        );
        assert!(holds_wide_folds("pm_\u{17F}uspend".as_bytes()));
        for text in
            ["", "a\0b\0", "\u{17F}", "x\u{212A}\0", "\u{C5}\u{E2}\u{2129}\0\u{17E}", "\u{2000}\u{17F}"]
        {
            let b = text.as_bytes();
            assert_eq!(scan_nul_and_wide_folds(b), (memchr::memchr(0, b), holds_wide_folds(b)), "{text:?}");
        }
        assert!(holds_wide_folds("50\u{212A}".as_bytes()));
        assert!(!holds_wide_folds("Straße, café, KELVIN".as_bytes()));
    }

    #[test]
    fn optional_parts_give_nothing() {
        assert_eq!(needles("foo|", false).map(|v| v.contains(&String::new())), Some(true));
        assert_eq!(needles(r"(abc)?", false), None);
    }

    #[test]
    fn plain_literals_need_no_confirmation() {
        let filter =
            |p: &str| LineFilter::from_hir(&regex_syntax::parse(p).unwrap(), false, None).map(|f| f.confirms);
        assert_eq!(filter("(?i)foo|bar"), Some(true));
        assert_eq!(filter(r"\bfoo"), Some(false));
        assert_eq!(filter("food+"), Some(false));
    }

    #[test]
    fn scan_agrees_with_naive_search() {
        let hir = regex_syntax::ParserBuilder::new().case_insensitive(true).build().parse("needle").unwrap();
        let f = LineFilter::from_hir(&hir, false, None).unwrap();
        let hay = b"xx NeEdLe yy needle";
        assert_eq!(f.find(hay, 0), Some(3));
        assert_eq!(f.find(hay, 4), Some(13));
        assert_eq!(f.find(hay, 14), None);
    }
}
