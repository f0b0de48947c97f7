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
//!
//! A file of several [`BLOCK_BYTES`] is also cut into blocks of whole lines,
//! each with a bitset of its 4- to 6-grams: a search that matches one line
//! at a time scans only the blocks that may hold a needle. Names an agent
//! greps for sit in a few places of the files that hold them. On the 50 MB
//! generated corpus, blocks of 2 KiB with two bits per byte leave 2.7 MB to
//! scan for `failed to probe` (25.5 MB of files hold it), 15.7 MB for
//! `get_buffer` (34.4 MB), 0.5 MB for `pm_suspend` (3.6 MB); one bit per
//! byte left 9.3, 28.5 and 1.6 MB, 4 KiB blocks 5.4, 15.9 and 0.8 MB. The
//! cost: sketches grew from about 20% to 48% of the bytes held.

/// Bounds of a sketch bitset's size (bits, as powers of two).
const MIN_BITS_LOG2: u32 = 8;
const MAX_BITS_LOG2: u32 = 21;

/// The gram lengths a sketch holds.
const GRAMS: std::ops::RangeInclusive<usize> = 3..=6;

/// A block of a file ends at the first line end at least this far from its
/// start (so a long line makes a longer block).
pub const BLOCK_BYTES: usize = 2048;
/// Bits of a block's bitset (as a power of two): about two per byte of
/// block. It holds no trigrams: they are common everywhere, and leaving
/// them out keeps the bitset sparse enough to tell blocks apart.
const BLOCK_BITS_LOG2: u32 = 12;
const BLOCK_MIN_GRAM: usize = 4;
const BLOCK_WORDS: usize = 1 << (BLOCK_BITS_LOG2 - 6);

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
/// goes, the lowest two are the length less three.
fn gram_hash(t: u64, n: usize) -> u32 {
    let mixed = (t | ((n as u64) << 56)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((mixed >> 32) as u32 & !3) | (n as u32 - 3)
}

/// The length of the gram behind a [`gram_hash`].
fn gram_len(hash: u32) -> usize {
    (hash & 3) as usize + 3
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

    /// Counts `data` as [`Sketch::build`] does, for a file whose sketch
    /// another corpus built (shared with its bytes, see `crate::blobs`):
    /// the counts belong to each corpus.
    pub fn add_file(&mut self, data: &[u8]) {
        let mut t: u32 = 0;
        for (i, &b) in data.iter().enumerate() {
            self.bytes[usize::from(b)] += 1;
            t = (t << 8) | u32::from(fold(b));
            if i >= 2 {
                self.add(trigram_hash(t & 0x00FF_FFFF));
            }
        }
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

fn set_bit(words: &mut [u64], bit: u32) {
    words[(bit >> 6) as usize] |= 1 << (bit & 63);
}

fn has_bit(words: &[u64], bit: u32) -> bool {
    words[(bit >> 6) as usize] & (1 << (bit & 63)) != 0
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
        set_bit(&mut self.words, hash >> (32 - self.log2));
    }

    fn has(&self, hash: u32) -> bool {
        has_bit(&self.words, hash >> (32 - self.log2))
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
    /// For a file of two blocks or more.
    blocks: Option<Blocks>,
}

/// A file cut into blocks of whole lines, each with a bitset of its 4- to
/// 6-grams (those that lie within it: a gram across a block's end holds
/// its line end, which no single-line match does).
#[derive(Clone, Debug)]
struct Blocks {
    /// Where each block starts; the first is 0.
    starts: Box<[u32]>,
    /// How many line ends come before each block's start.
    lines: Box<[u32]>,
    /// [`BLOCK_WORDS`] words per block.
    bits: Box<[u64]>,
}

/// The blocks of a file that may hold a match, as whole-line ranges, and
/// where every block starts (so line numbers need not be counted across
/// skipped ones).
#[derive(Debug, Default)]
pub struct BlockPlan<'a> {
    /// Byte ranges to search, in order; adjacent candidate blocks are joined.
    pub ranges: Vec<(usize, usize)>,
    /// Every block's start and the number of line ends before it.
    pub starts: &'a [u32],
    pub lines: &'a [u32],
}

/// Where a block's bitset puts a gram hash: bits the file bitsets do not
/// use first (they take the top ones), so the two rarely err together.
fn block_bit(hash: u32) -> u32 {
    (hash >> 2) & ((1 << BLOCK_BITS_LOG2) - 1)
}

impl Sketch {
    /// Sketches `data`, adding its bytes and trigrams to `counts`.
    pub fn build(data: &[u8], counts: &mut GramCounts) -> Sketch {
        let mut grams = Bits::for_len(data.len(), 0);
        let mut trigrams = Bits::for_len(data.len(), 2);
        let blocked = data.len() >= 2 * BLOCK_BYTES;
        let (mut starts, mut lines, mut bits) = (vec![0u32], vec![0u32], Vec::new());
        let mut block = [0u64; BLOCK_WORDS];
        let (mut block_start, mut line_ends) = (0usize, 0u32);
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
                let h = gram_hash(t & ((1 << (8 * n)) - 1), n);
                grams.set(h);
                if blocked && n >= BLOCK_MIN_GRAM && i + 1 - n >= block_start {
                    set_bit(&mut block, block_bit(h));
                }
            }
            if b == b'\n' {
                line_ends += 1;
                if blocked && i + 1 - block_start >= BLOCK_BYTES && i + 1 < data.len() {
                    bits.extend_from_slice(&block);
                    block = [0; BLOCK_WORDS];
                    block_start = i + 1;
                    starts.push(block_start as u32);
                    lines.push(line_ends);
                }
            }
        }
        bits.extend_from_slice(&block);
        // One long line may leave a single block: the file bitset says as much.
        let blocks = (blocked && starts.len() > 1).then(|| Blocks {
            starts: starts.into_boxed_slice(),
            lines: lines.into_boxed_slice(),
            bits: bits.into_boxed_slice(),
        });
        Sketch { grams, trigrams, blocks }
    }

    fn has(&self, hash: u32) -> bool {
        self.grams.has(hash) && (gram_len(hash) > 3 || self.trigrams.has(hash))
    }

    /// Whether some needle (given as its [`needle_grams`]) may occur.
    pub fn may_contain_any(&self, needles: &[Vec<u32>]) -> bool {
        needles.iter().any(|grams| grams.iter().all(|&g| self.has(g)))
    }

    pub fn bytes(&self) -> usize {
        let blocks =
            self.blocks.as_ref().map_or(0, |b| b.bits.len() * 8 + (b.starts.len() + b.lines.len()) * 4);
        (self.grams.words.len() + self.trigrams.words.len()) * 8 + blocks
    }

    /// The blocks of a file of `len` bytes that may hold a line matching a
    /// search whose every match holds one of `needles` and one of each set
    /// in `extra` (as for [`Sketch::may_contain_any`]); `None` when the file
    /// has no blocks. Empty ranges: no line can match.
    pub fn plan(&self, len: usize, needles: &[Vec<u32>], extra: &[Vec<Vec<u32>>]) -> Option<BlockPlan<'_>> {
        let b = self.blocks.as_ref()?;
        let mut plan = BlockPlan { ranges: Vec::new(), starts: &b.starts, lines: &b.lines };
        let any = |bits: &[u64], set: &[Vec<u32>]| {
            set.iter().any(|grams| {
                // Trigrams are not in block bitsets: they say nothing here.
                grams.iter().filter(|&&g| gram_len(g) >= BLOCK_MIN_GRAM).all(|&g| has_bit(bits, block_bit(g)))
            })
        };
        for (k, bits) in b.bits.chunks_exact(BLOCK_WORDS).enumerate() {
            if !(any(bits, needles) && extra.iter().all(|set| any(bits, set))) {
                continue;
            }
            let start = b.starts[k] as usize;
            let end = b.starts.get(k + 1).map_or(len, |&s| s as usize);
            match plan.ranges.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => plan.ranges.push((start, end)),
            }
        }
        Some(plan)
    }
}

/// The hashes of a needle's 3- to 6-grams (case is folded either way);
/// none for a needle shorter than three bytes, which then passes every
/// sketch. Longest first: a file without the needle most likely lacks one
/// of those, and each check is a cache miss.
pub fn needle_grams(needle: &[u8]) -> Vec<u32> {
    GRAMS.rev().flat_map(|n| needle.windows(n).map(move |w| gram_hash(pack(w), n))).collect()
}

/// Writes little-endian words for a saved sketch file
/// ([`crate::sketch_file`]).
pub(crate) fn put_u32s(out: &mut Vec<u8>, xs: &[u32]) {
    out.reserve(xs.len() * 4);
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

pub(crate) fn put_u64s(out: &mut Vec<u8>, xs: &[u64]) {
    out.reserve(xs.len() * 8);
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// Reads what [`put_u32s`] and friends wrote; every read is bounds-checked,
/// so a short or malformed file is an error, never a panic.
pub(crate) struct Reader<'a> {
    pub(crate) rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.rest.len() {
            return Err("ends too early".to_string());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("four bytes")))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().expect("eight bytes")))
    }

    pub(crate) fn u32s(&mut self, n: usize) -> Result<Box<[u32]>, String> {
        let b = self.bytes(n.checked_mul(4).ok_or("too large")?)?;
        Ok(b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("four bytes"))).collect())
    }

    pub(crate) fn u64s(&mut self, n: usize) -> Result<Box<[u64]>, String> {
        let b = self.bytes(n.checked_mul(8).ok_or("too large")?)?;
        Ok(b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("eight bytes"))).collect())
    }
}

impl Bits {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(self.log2 as u8);
        put_u64s(out, &self.words);
    }

    fn read(r: &mut Reader) -> Result<Bits, String> {
        let log2 = u32::from(r.u8()?);
        if !(MIN_BITS_LOG2..=MAX_BITS_LOG2).contains(&log2) {
            return Err(format!("a bitset of 2^{log2} bits"));
        }
        Ok(Bits { words: r.u64s(1 << (log2 - 6))?, log2 })
    }
}

impl Sketch {
    /// Appends this sketch, as [`Sketch::read`] reads it back.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.grams.write(out);
        self.trigrams.write(out);
        match &self.blocks {
            None => out.push(0),
            Some(b) => {
                out.push(1);
                put_u32s(out, &[b.starts.len() as u32]);
                put_u32s(out, &b.starts);
                put_u32s(out, &b.lines);
                put_u64s(out, &b.bits);
            }
        }
    }

    pub(crate) fn read(r: &mut Reader) -> Result<Sketch, String> {
        let grams = Bits::read(r)?;
        let trigrams = Bits::read(r)?;
        let blocks = match r.u8()? {
            0 => None,
            1 => {
                let n = r.u32()? as usize;
                let starts = r.u32s(n)?;
                let lines = r.u32s(n)?;
                let bits = r.u64s(n.checked_mul(BLOCK_WORDS).ok_or("too large")?)?;
                if n < 2 || starts[0] != 0 || starts.windows(2).any(|w| w[0] >= w[1]) {
                    return Err("malformed blocks".to_string());
                }
                Some(Blocks { starts, lines, bits })
            }
            other => return Err(format!("unknown block marker {other}")),
        };
        Ok(Sketch { grams, trigrams, blocks })
    }
}

impl GramCounts {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_u32s(out, &self.grams);
        put_u64s(out, &self.bytes);
    }

    pub(crate) fn read(r: &mut Reader) -> Result<GramCounts, String> {
        let grams = r.u32s(1 << 16)?;
        let mut bytes = [0u64; 256];
        bytes.copy_from_slice(&r.u64s(256)?);
        Ok(GramCounts { grams, bytes })
    }

    /// Adds `other`'s counts (saved ones, for files whose sketches were
    /// restored rather than built): still an estimate from above.
    pub(crate) fn absorb(&mut self, other: &GramCounts) {
        for (a, b) in self.grams.iter_mut().zip(other.grams.iter()) {
            *a = a.saturating_add(*b);
        }
        for (a, b) in self.bytes.iter_mut().zip(other.bytes.iter()) {
            *a = a.saturating_add(*b);
        }
    }
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

    /// `lines` lines of filler, with `needle` ending line `at`.
    fn text_with(needle: &[u8], at: usize, lines: usize) -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..lines {
            text.extend_from_slice(format!("line {i} of plain filler words\n").as_bytes());
            if i == at {
                text.pop();
                text.extend_from_slice(needle);
                text.push(b'\n');
            }
        }
        text
    }

    #[test]
    fn blocks_are_whole_lines_and_count_line_ends() {
        let text = text_with(b"", 0, 2000);
        let s = Sketch::build(&text, &mut GramCounts::default());
        let b = s.blocks.as_ref().expect("a file of many blocks");
        assert!(b.starts.len() > 4);
        for (k, &start) in b.starts.iter().enumerate() {
            let start = start as usize;
            assert!(start == 0 || text[start - 1] == b'\n');
            assert_eq!(b.lines[k] as usize, text[..start].iter().filter(|&&c| c == b'\n').count());
            if let Some(&next) = b.starts.get(k + 1) {
                assert!(next as usize - start >= BLOCK_BYTES);
            }
        }
    }

    #[test]
    fn block_plans_keep_the_line_that_holds_the_needle() {
        // The needle on every line near the first block boundaries, in turn.
        for at in (100..160).chain(1990..2000) {
            let text = text_with(b" Get_Buffer(x)", at, 2000);
            let s = Sketch::build(&text, &mut GramCounts::default());
            let plan = s.plan(text.len(), &[needle_grams(b"get_buffer")], &[]).expect("blocks");
            let line = text.split(|&c| c == b'\n').position(|l| l.ends_with(b"Get_Buffer(x)")).unwrap();
            let offset: usize = text.split(|&c| c == b'\n').take(line).map(|l| l.len() + 1).sum();
            assert!(
                plan.ranges.iter().any(|&(s, e)| s <= offset && offset + 10 < e),
                "line {line} at {offset} outside {:?}",
                plan.ranges
            );
            let scanned: usize = plan.ranges.iter().map(|(s, e)| e - s).sum();
            assert!(scanned < text.len() / 4, "{scanned} of {} bytes to scan", text.len());
        }
    }

    #[test]
    fn small_files_and_single_lines_have_no_blocks() {
        let s = Sketch::build(&text_with(b"x", 1, 20), &mut GramCounts::default());
        assert!(s.plan(100, &[needle_grams(b"pm_suspend")], &[]).is_none());
        let one_line = vec![b'a'; 3 * BLOCK_BYTES];
        let s = Sketch::build(&one_line, &mut GramCounts::default());
        assert!(s.plan(one_line.len(), &[needle_grams(b"pm_suspend")], &[]).is_none());
    }

    #[test]
    fn counts_bound_needle_occurrences() {
        let mut counts = GramCounts::default();
        Sketch::build(b"#define A 1\n#define B 2\n#define PAGE_SHIFT 12\n", &mut counts);
        assert!(counts.estimate(b"page_shift") >= Some(1));
        assert!(counts.estimate(b"page_shift") < counts.estimate(b"#define"));
        assert_eq!(counts.estimate(b"zzz"), Some(0));
    }

    #[test]
    fn counting_a_file_alone_counts_as_sketching_it() {
        let text = b"#define PAGE_SHIFT 12\nstatic int Foo(void);\n".repeat(9);
        let (mut built, mut counted) = (GramCounts::default(), GramCounts::default());
        Sketch::build(&text, &mut built);
        counted.add_file(&text);
        assert_eq!(built.grams, counted.grams);
        assert_eq!(built.bytes, counted.bytes);
    }
}
