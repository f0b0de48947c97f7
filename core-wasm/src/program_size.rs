//! rg 13's `--regex-size-limit`, as rg 13 applies it. Its regex crate
//! (1.7, regex-syntax 0.6) compiles each pattern into three programs of
//! 32-byte instructions: a Unicode one for captures, and a forward and a
//! reverse one over bytes for its DFAs, where a class such as `\w` becomes
//! thousands of byte-range instructions (one per UTF-8 sequence, suffixes
//! shared through a small cache). A program whose size, checked as each
//! piece of the pattern starts, passes the limit fails the pattern.
//!
//! Today's regex engine compiles differently and much more slowly: without
//! this model, `(?:\w|\s){1000}Q`, which rg refuses in a quarter second,
//! took seconds to compile and then searched for seconds per megabyte.
//! Here the instructions are counted (never built) over the pattern's
//! syntax tree, following the old compiler step by step. The trees differ
//! a little (today's merges an alternation of classes into one class and
//! factors common literal prefixes), which can only make the count smaller:
//! a pattern rg accepts is never refused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use regex_syntax::hir::{Class, ClassUnicode, Hir, HirKind, Look};
use regex_syntax::utf8::Utf8Sequences;

/// The size of one instruction of regex 1.7's programs.
const INST_BYTES: usize = 32;
/// Entries of the compiler's suffix cache (its `SuffixCache::new(1000)`).
const SUFFIX_SLOTS: usize = 1000;

thread_local! {
    /// Patterns found to fit lately, with their limit: counting costs up to
    /// a few hundred milliseconds for the largest that fit (`\w{800}`), and
    /// agents repeat searches.
    static FITTING: RefCell<Vec<(Hir, usize)>> = const { RefCell::new(Vec::new()) };
}
const FITTING_KEPT: usize = 16;

/// Whether `hir` compiles within `limit` bytes in each of rg 13's three
/// programs.
pub fn fits(hir: &Hir, limit: usize) -> bool {
    if FITTING.with_borrow(|kept| kept.iter().any(|(h, l)| *l == limit && h == hir)) {
        return true;
    }
    let fits = count_fits(hir, limit);
    if fits {
        FITTING.with_borrow_mut(|kept| {
            kept.insert(0, (hir.clone(), limit));
            kept.truncate(FITTING_KEPT);
        });
    }
    fits
}

fn count_fits(hir: &Hir, limit: usize) -> bool {
    let bytes_nfa = !hir.properties().is_utf8();
    let anchored = hir.properties().look_set_prefix().contains(Look::Start);
    [Program::Nfa { bytes: bytes_nfa }, Program::Dfa { anchored }, Program::ReverseDfa]
        .into_iter()
        .all(|program| Counter::new(program, limit).count(hir).is_ok())
}

#[derive(Clone, Copy, PartialEq)]
enum Program {
    /// With capture slots; over bytes only when the pattern can match
    /// invalid UTF-8.
    Nfa { bytes: bool },
    /// Forward over bytes, led by `(?s-u:.)*?` unless anchored at the start.
    Dfa { anchored: bool },
    ReverseDfa,
}

/// Over the limit.
struct TooBig;

/// Counts the instructions one program would hold, as its compiler emits
/// them (instruction addresses matter: the suffix cache hashes them).
struct Counter {
    program: Program,
    limit: usize,
    insts: usize,
    /// Heap the compiler counts besides instructions (ranges of Unicode
    /// classes; one instruction's worth per empty piece).
    extra: usize,
    /// The suffix cache: slot to entry, and the entries (from, start, end,
    /// address) of the class being compiled.
    sparse: Vec<usize>,
    dense: Vec<(u64, u8, u8, usize)>,
    /// Each Unicode class's sequences, by the class's address.
    sequences: HashMap<usize, Rc<Sequences>>,
}

impl Counter {
    fn new(program: Program, limit: usize) -> Counter {
        Counter {
            program,
            limit,
            insts: 0,
            extra: 0,
            sparse: vec![0; SUFFIX_SLOTS],
            dense: Vec::new(),
            sequences: HashMap::new(),
        }
    }

    fn bytes(&self) -> bool {
        !matches!(self.program, Program::Nfa { bytes: false })
    }

    fn count(mut self, hir: &Hir) -> Result<(), TooBig> {
        match self.program {
            Program::Nfa { .. } => {
                self.insts += 1; // save slot 0
                self.c(hir)?;
                self.insts += 2; // save slot 1, match
            }
            Program::Dfa { anchored } => {
                if !anchored {
                    self.check()?;
                    self.check()?;
                    self.insts += 2; // split, any byte
                }
                self.c(hir)?;
                self.insts += 1;
            }
            Program::ReverseDfa => {
                self.c(hir)?;
                self.insts += 1;
            }
        }
        Ok(())
    }

    /// The compiler's size check, made as each piece starts.
    fn check(&self) -> Result<(), TooBig> {
        if self.extra + self.insts * INST_BYTES > self.limit {
            Err(TooBig)
        } else {
            Ok(())
        }
    }

    fn empty(&mut self) -> Result<bool, TooBig> {
        self.extra += INST_BYTES;
        Ok(false)
    }

    /// Compiles one piece; false when it emitted nothing (an empty piece).
    fn c(&mut self, hir: &Hir) -> Result<bool, TooBig> {
        self.check()?;
        match hir.kind() {
            HirKind::Empty => self.empty(),
            HirKind::Literal(lit) => {
                // One piece per character (per byte outside UTF-8), checked
                // each; a character is one instruction, or one per byte.
                let mut first = true;
                for chunk in lit.0.utf8_chunks() {
                    for ch in chunk.valid().chars() {
                        if !std::mem::take(&mut first) {
                            self.check()?;
                        }
                        self.insts += if self.bytes() { ch.len_utf8() } else { 1 };
                    }
                    for _ in chunk.invalid() {
                        if !std::mem::take(&mut first) {
                            self.check()?;
                        }
                        self.insts += 1;
                    }
                }
                Ok(true)
            }
            HirKind::Class(Class::Unicode(cls)) => {
                // The same class comes back in every copy of a repetition:
                // its UTF-8 sequences are found once (by its address, fixed
                // while the tree is counted).
                let key = cls as *const ClassUnicode as usize;
                let sequences = match self.sequences.get(&key) {
                    Some(seqs) => Rc::clone(seqs),
                    None => {
                        let ranges: Vec<(char, char)> = cls.iter().map(|r| (r.start(), r.end())).collect();
                        let seqs = Rc::new(Sequences::of(&ranges));
                        self.sequences.insert(key, Rc::clone(&seqs));
                        seqs
                    }
                };
                self.class_sequences(&sequences);
                Ok(true)
            }
            HirKind::Class(Class::Bytes(cls)) => {
                if self.bytes() {
                    // A split before each range but the last.
                    self.insts += (2 * cls.ranges().len()).max(1) - 1;
                } else {
                    let ranges: Vec<(char, char)> =
                        cls.iter().map(|r| (char::from(r.start()), char::from(r.end()))).collect();
                    self.class(&ranges);
                }
                Ok(true)
            }
            HirKind::Look(_) => {
                self.insts += 1;
                Ok(true)
            }
            HirKind::Capture(cap) => {
                if matches!(self.program, Program::Nfa { .. }) {
                    self.insts += 1;
                    self.c(&cap.sub)?;
                    self.insts += 1;
                    Ok(true)
                } else {
                    self.c(&cap.sub)
                }
            }
            HirKind::Concat(subs) => {
                let mut any = false;
                if self.program == Program::ReverseDfa {
                    for sub in subs.iter().rev() {
                        any |= self.c(sub)?;
                    }
                } else {
                    for sub in subs {
                        any |= self.c(sub)?;
                    }
                }
                if any {
                    Ok(true)
                } else {
                    self.empty()
                }
            }
            HirKind::Alternation(subs) => {
                for (i, sub) in subs.iter().enumerate() {
                    if i + 1 < subs.len() {
                        self.insts += 1; // split
                    }
                    self.c(sub)?;
                }
                Ok(true)
            }
            HirKind::Repetition(rep) => {
                let sub = &rep.sub;
                match (rep.min, rep.max) {
                    // `?` and `*`: a split, dropped again when the piece
                    // repeated is empty.
                    (0, Some(1)) | (0, None) => self.optional(sub),
                    (1, None) => {
                        if !self.c(sub)? {
                            return Ok(false);
                        }
                        self.insts += 1;
                        Ok(true)
                    }
                    (min, None) => {
                        self.concat_copies(sub, min)?;
                        self.optional(sub)
                    }
                    (min, Some(max)) => {
                        let some = self.concat_copies(sub, min)?;
                        if min == max {
                            return Ok(some);
                        }
                        for _ in min..max {
                            if !self.optional(sub)? {
                                return Ok(false);
                            }
                        }
                        Ok(true)
                    }
                }
            }
        }
    }

    /// A split and the piece (`x?`, `x*`); nothing when the piece is empty.
    fn optional(&mut self, sub: &Hir) -> Result<bool, TooBig> {
        self.insts += 1;
        if self.c(sub)? {
            Ok(true)
        } else {
            self.insts -= 1;
            Ok(false)
        }
    }

    /// `n` copies of a piece one after another (`x{n}`); an empty piece
    /// when none emits anything.
    fn concat_copies(&mut self, sub: &Hir, n: u32) -> Result<bool, TooBig> {
        let mut any = false;
        for _ in 0..n {
            any |= self.c(sub)?;
        }
        if any {
            Ok(true)
        } else {
            self.empty()
        }
    }

    /// A class: one instruction in the Unicode program (its ranges counted
    /// as heap), else each UTF-8 sequence of each range, behind a split
    /// but the last.
    fn class(&mut self, ranges: &[(char, char)]) {
        self.class_sequences(&Sequences::of(ranges));
    }

    fn class_sequences(&mut self, class: &Sequences) {
        if !self.bytes() {
            self.insts += 1;
            if !class.single_char {
                self.extra += class.ranges * 8;
            }
            return;
        }
        self.dense.clear();
        let n = class.seqs.len();
        for (i, (ranges, len)) in class.seqs.iter().enumerate() {
            if i + 1 < n {
                self.insts += 1; // split
            }
            let bytes = ranges[..*len as usize].iter().copied();
            // Forward programs compile a sequence from its last byte, so
            // that sequences share their suffixes.
            if self.program == Program::ReverseDfa {
                self.sequence(bytes);
            } else {
                self.sequence(bytes.rev());
            }
        }
    }

    /// One UTF-8 sequence's byte ranges, each an instruction unless the
    /// suffix cache holds one for the same range going to the same place.
    fn sequence(&mut self, ranges: impl Iterator<Item = (u8, u8)>) {
        // No instruction yet: the old compiler's `usize::MAX` on 64 bits.
        let mut from = u64::MAX;
        for (start, end) in ranges {
            let slot = suffix_slot(from, start, end);
            match self.dense.get(self.sparse[slot]) {
                Some(&(f, s, e, pc)) if (f, s, e) == (from, start, end) => from = pc as u64,
                _ => {
                    self.sparse[slot] = self.dense.len();
                    self.dense.push((from, start, end, self.insts));
                    from = self.insts as u64;
                    self.insts += 1;
                }
            }
        }
    }
}

/// A class as the compiler sees it: its ranges' UTF-8 sequences (byte
/// ranges, first byte first), how many ranges, and whether it is one char.
struct Sequences {
    seqs: Vec<([(u8, u8); 4], u8)>,
    ranges: usize,
    single_char: bool,
}

impl Sequences {
    fn of(ranges: &[(char, char)]) -> Sequences {
        let seqs = ranges
            .iter()
            .flat_map(|&(s, e)| Utf8Sequences::new(s, e))
            .map(|seq| {
                let mut bytes = [(0, 0); 4];
                for (slot, r) in bytes.iter_mut().zip(seq.as_slice()) {
                    *slot = (r.start, r.end);
                }
                (bytes, seq.as_slice().len() as u8)
            })
            .collect();
        Sequences { seqs, ranges: ranges.len(), single_char: ranges.len() == 1 && ranges[0].0 == ranges[0].1 }
    }
}

/// The suffix cache's slot for a byte range going to `from` (FNV-1a).
fn suffix_slot(from: u64, start: u8, end: u8) -> usize {
    const PRIME: u64 = 1_099_511_628_211;
    let mut h: u64 = 14_695_981_039_346_656_037;
    for v in [from, u64::from(start), u64::from(end)] {
        h = (h ^ v).wrapping_mul(PRIME);
    }
    (h % SUFFIX_SLOTS as u64) as usize
}
