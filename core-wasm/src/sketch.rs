//! Per-file sketches: a small Bloom-style bitset of the file's
//! ASCII-case-folded byte n-grams, n from 3 to 6. A search whose every
//! match must contain one of a few needles skips a file when, for every
//! needle, some gram of it is absent — the file cannot match, so it is not
//! scanned at all. A set bit only says "maybe", so a sketch never hides a
//! match.
//!
//! Why longer grams than trigrams: code reuses the same short word pieces
//! everywhere, so most trigrams of a name occur in most files even where the
//! name does not (all of `pm_suspend`'s, spread over `pm_`, `sus`, `end`, are
//! in half of a 50 MB generated corpus). The longer grams that span the
//! joins between pieces (`m_su`, `_susp`) are what tell such files apart.
//! On that corpus, for names seen once in a sample of its files, the median
//! bytes a search still scans: 28.7 MB with trigrams in one bit per two
//! bytes of file, 9.6 MB adding 4-grams, 3.5 MB with 3- to 6-grams in one
//! bit per byte. A needle as short as `todo` has too few grams for a bitset
//! that full, so trigrams are also kept in a sparse bitset of their own.

/// Bounds of a sketch bitset's size (bits, as powers of two).
const MIN_BITS_LOG2: u32 = 8;
const MAX_BITS_LOG2: u32 = 21;

/// The gram lengths a sketch holds.
const GRAMS: std::ops::RangeInclusive<usize> = 3..=6;

fn fold(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

/// A 32-bit hash of a folded trigram packed big-endian, for [`GramCounts`].
fn trigram_hash(t: u32) -> u32 {
    t.wrapping_mul(0x9E37_79B1)
}

/// Folded bytes packed big-endian.
fn pack(gram: &[u8]) -> u64 {
    gram.iter().fold(0, |t, &b| (t << 8) | u64::from(fold(b)))
}

/// The sketch hash of an `n`-byte gram packed in `t`: the length is mixed
/// in, so a gram never stands for a shorter one; the top bits say where it
/// goes, the lowest marks a trigram.
fn gram_hash(t: u64, n: usize) -> u32 {
    let mixed = (t | ((n as u64) << 56)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((mixed >> 32) as u32 & !1) | u32::from(n == 3)
}

/// Roughly how often each folded trigram occurs in a corpus (hashed into
/// 2^16 buckets, so an estimate from above), gathered while sketching. It
/// lets a pattern scan for its rarest required literal: `static int \w+_probe\(`
/// for `_probe(`, not the longer but far commoner `static int `.
/// Byte frequencies are kept too: they choose which two bytes of a needle
/// the SIMD scan compares (the rarest in this corpus, not in text at large).
#[derive(Debug)]
pub struct GramCounts {
    grams: Box<[u32]>,
    bytes: [u64; 256],
}

impl Default for GramCounts {
    fn default() -> Self {
        GramCounts { grams: vec![0; 1 << 16].into_boxed_slice(), bytes: [0; 256] }
    }
}

impl GramCounts {
    fn add(&mut self, hash: u32) {
        let c = &mut self.grams[(hash >> 16) as usize];
        *c = c.saturating_add(1);
    }

    /// At most how often `needle` (three bytes or more) occurs: the count of
    /// its rarest trigram.
    pub fn estimate(&self, needle: &[u8]) -> Option<u64> {
        needle.windows(3).map(|w| u64::from(self.grams[(trigram_hash(pack(w) as u32) >> 16) as usize])).min()
    }

    /// Nothing counted yet (no file sketched, or only empty ones).
    pub fn is_empty(&self) -> bool {
        self.bytes.iter().all(|&n| n == 0)
    }

    /// How often byte `b` occurs, an ASCII letter counting both cases.
    pub fn byte_count(&self, b: u8) -> u64 {
        if b.is_ascii_alphabetic() {
            self.bytes[usize::from(b.to_ascii_lowercase())] + self.bytes[usize::from(b.to_ascii_uppercase())]
        } else {
            self.bytes[usize::from(b)]
        }
    }
}

/// One bitset of hashed grams, of a power of two bits near `len >> shift`.
#[derive(Clone, Debug)]
struct Bits {
    words: Box<[u64]>,
    log2: u32,
}

impl Bits {
    fn for_len(len: usize, shift: u32) -> Bits {
        let log2 =
            (len >> shift).max(1).next_power_of_two().trailing_zeros().clamp(MIN_BITS_LOG2, MAX_BITS_LOG2);
        Bits { words: vec![0u64; 1 << (log2 - 6)].into_boxed_slice(), log2 }
    }

    fn set(&mut self, hash: u32) {
        let h = hash >> (32 - self.log2);
        self.words[(h >> 6) as usize] |= 1 << (h & 63);
    }

    fn has(&self, hash: u32) -> bool {
        let h = hash >> (32 - self.log2);
        self.words[(h >> 6) as usize] & (1 << (h & 63)) != 0
    }
}

/// The gram bitsets of one file: every 3- to 6-gram in one bitset of
/// about a bit per byte, and the trigrams once more in a sparse one of a
/// bit per four bytes. Short needles (`todo`: two trigrams and one 4-gram)
/// have too few grams to be ruled out by the full bitset alone, where most
/// bits are set; the sparse one rules them out.
#[derive(Clone, Debug)]
pub struct Sketch {
    grams: Bits,
    trigrams: Bits,
}

impl Sketch {
    /// Sketches `data`, adding its bytes and trigrams to `counts`.
    pub fn build(data: &[u8], counts: &mut GramCounts) -> Sketch {
        let mut grams = Bits::for_len(data.len(), 0);
        let mut trigrams = Bits::for_len(data.len(), 2);
        // The last eight folded bytes; the low n are the n-gram ending here.
        let mut t: u64 = 0;
        for (i, &b) in data.iter().enumerate() {
            counts.bytes[usize::from(b)] += 1;
            t = (t << 8) | u64::from(fold(b));
            if i >= 2 {
                counts.add(trigram_hash(t as u32 & 0x00FF_FFFF));
                let h = gram_hash(t & 0xFF_FFFF, 3);
                grams.set(h);
                trigrams.set(h);
            }
            for n in GRAMS.skip(1).take_while(|&n| n <= i + 1) {
                grams.set(gram_hash(t & ((1 << (8 * n)) - 1), n));
            }
        }
        Sketch { grams, trigrams }
    }

    fn has(&self, hash: u32) -> bool {
        // The lowest bit marks a trigram (see `gram_hash`).
        self.grams.has(hash) && (hash & 1 == 0 || self.trigrams.has(hash))
    }

    /// Whether some needle (given as its [`needle_grams`]) may occur.
    pub fn may_contain_any(&self, needles: &[Vec<u32>]) -> bool {
        needles.iter().any(|grams| grams.iter().all(|&g| self.has(g)))
    }

    pub fn bytes(&self) -> usize {
        (self.grams.words.len() + self.trigrams.words.len()) * 8
    }
}

/// The hashes of a needle's 3- to 6-grams (case is folded either way);
/// none for a needle shorter than three bytes, which then passes every
/// sketch. Longest first: a file without the needle most likely lacks one
/// of those, and each check is a cache miss.
pub fn needle_grams(needle: &[u8]) -> Vec<u32> {
    GRAMS.rev().flat_map(|n| needle.windows(n).map(move |w| gram_hash(pack(w), n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_needles_always_pass() {
        let text = b"static inline int Foo_Bar(void) { return PM_RESUME; }\n".repeat(50);
        let s = Sketch::build(&text, &mut GramCounts::default());
        for needle in [&b"pm_resume"[..], b"STATIC INLINE", b"foo_bar"] {
            assert!(s.may_contain_any(&[needle_grams(needle)]));
        }
    }

    #[test]
    fn absent_needles_usually_fail() {
        let s = Sketch::build(b"a small file about nothing in particular\n", &mut GramCounts::default());
        assert!(!s.may_contain_any(&[needle_grams(b"sherlock"), needle_grams(b"holmes")]));
    }

    #[test]
    fn names_made_of_common_pieces_are_told_apart() {
        // Every trigram of pm_suspend is here, but not all its longer grams.
        let text = b"pm_resume(); m_sus(); _suspend_end(); spend;\n".repeat(20);
        let holds = |w: &[u8]| text.windows(w.len()).any(|t| t == w);
        assert!(b"pm_suspend".windows(3).all(holds), "a trigram sketch would pass it");
        let s = Sketch::build(&text, &mut GramCounts::default());
        assert!(!s.may_contain_any(&[needle_grams(b"pm_suspend")]));
    }

    #[test]
    fn short_needles_pass_every_sketch() {
        let s = Sketch::build(b"nothing here\n", &mut GramCounts::default());
        assert!(s.may_contain_any(&[needle_grams(b"xy")]));
    }

    #[test]
    fn counts_bound_needle_occurrences() {
        let mut counts = GramCounts::default();
        Sketch::build(b"#define A 1\n#define B 2\n#define PAGE_SHIFT 12\n", &mut counts);
        assert!(counts.estimate(b"page_shift") >= Some(1));
        assert!(counts.estimate(b"page_shift") < counts.estimate(b"#define"));
        assert_eq!(counts.estimate(b"zzz"), Some(0));
    }
}
