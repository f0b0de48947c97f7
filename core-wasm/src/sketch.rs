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

/// [`fold`] as a table: one load in [`Sketch::build`]'s inner loop.
static FOLDED: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).to_ascii_lowercase();
        b += 1;
    }
    table
};

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
    ((gram_mix(t, n) >> 32) as u32 & !3) | (n as u32 - 3)
}

/// The 64-bit product whose top half, less its two lowest bits, is
/// [`gram_hash`]: the bitsets only use bits above those, so
/// [`Sketch::build`] takes them straight from here.
fn gram_mix(t: u64, n: usize) -> u64 {
    (t | ((n as u64) << 56)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
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
#[cfg_attr(test, derive(PartialEq))]
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
#[cfg_attr(test, derive(PartialEq))]
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
#[cfg_attr(test, derive(PartialEq))]
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

/// One bitset's words and where a gram's bit is in them, unpacked for
/// [`Sketch::build`]'s inner loop.
struct BitsMut<'a> {
    words: &'a mut [u64],
    /// A [`gram_mix`] shifted right by this is the gram's bit, as
    /// [`Bits::has`] finds it from the [`gram_hash`].
    shift: u32,
}

impl<'a> BitsMut<'a> {
    fn new(bits: &'a mut Bits) -> Self {
        BitsMut { shift: 64 - bits.log2, words: &mut bits.words }
    }

    fn set(&mut self, mix: u64) {
        let bit = mix >> self.shift;
        self.words[(bit >> 6) as usize] |= 1 << (bit & 63);
    }
}

/// As [`block_bit`] of the [`gram_hash`].
fn block_bit_of_mix(mix: u64) -> u32 {
    (mix >> 34) as u32 & ((1 << BLOCK_BITS_LOG2) - 1)
}

/// The state of [`Sketch::build`] between bytes.
struct Builder<'a> {
    grams: BitsMut<'a>,
    trigrams: BitsMut<'a>,
    /// `GramCounts::grams`, sized so that a 16-bit index needs no check.
    counts: &'a mut [u32; 1 << 16],
    bytes: &'a mut [u64; 256],
    /// The last eight folded bytes; the low n are the n-gram ending here.
    t: u64,
    /// The current block's bitset.
    block: [u64; BLOCK_WORDS],
    line_ends: u32,
}

impl<'a> Builder<'a> {
    fn new(grams: &'a mut Bits, trigrams: &'a mut Bits, counts: &'a mut GramCounts) -> Self {
        Builder {
            grams: BitsMut::new(grams),
            trigrams: BitsMut::new(trigrams),
            counts: (&mut *counts.grams).try_into().expect("2^16 gram counts"),
            bytes: &mut counts.bytes,
            t: 0,
            block: [0; BLOCK_WORDS],
            line_ends: 0,
        }
    }

    /// Adds byte `b`, the `in_file`-th of the file and `in_block`-th of its
    /// block: only grams that fit in the file so far count, and only those
    /// that fit in the block go in its bitset.
    fn head(&mut self, b: u8, in_file: usize, in_block: usize) {
        self.bytes[usize::from(b)] += 1;
        self.t = (self.t << 8) | u64::from(fold(b));
        let t = self.t;
        for n in GRAMS.take_while(|&n| n <= in_file) {
            let mix = gram_mix(t & ((1 << (8 * n)) - 1), n);
            self.grams.set(mix);
            if n == 3 {
                self.count(t as u32 & 0x00FF_FFFF);
                self.trigrams.set(mix);
            } else if n <= in_block {
                set_bit(&mut self.block, block_bit_of_mix(mix));
            }
        }
        self.line_ends += u32::from(b == b'\n');
    }

    fn count(&mut self, trigram: u32) {
        let c = &mut self.counts[(trigram_hash(trigram) >> 16) as usize];
        *c = c.saturating_add(1);
    }

    /// Adds `data`, bytes that end a whole gram of every length (past the
    /// file's fifth byte) and, when `BLOCKED`, whose 4- to 6-grams all lie
    /// in the current block. (Line ends only matter for blocks.)
    fn run<const BLOCKED: bool>(&mut self, data: &[u8]) {
        let mut t = self.t;
        for &b in data {
            self.bytes[usize::from(b)] += 1;
            t = (t << 8) | u64::from(FOLDED[usize::from(b)]);
            self.count(t as u32 & 0x00FF_FFFF);
            let m3 = gram_mix(t & 0xFF_FFFF, 3);
            let m4 = gram_mix(t & 0xFFFF_FFFF, 4);
            let m5 = gram_mix(t & 0xFF_FFFF_FFFF, 5);
            let m6 = gram_mix(t & 0xFFFF_FFFF_FFFF, 6);
            self.trigrams.set(m3);
            for m in [m3, m4, m5, m6] {
                self.grams.set(m);
            }
            if BLOCKED {
                for m in [m4, m5, m6] {
                    set_bit(&mut self.block, block_bit_of_mix(m));
                }
            }
        }
        if BLOCKED {
            // Counted outside the loop above: this pass vectorizes.
            self.line_ends += data.iter().filter(|&&c| c == b'\n').count() as u32;
        }
        self.t = t;
    }
}

/// A sketch being built a few blocks at a time: Linux holds files of up to
/// 24 MB, whose sketch in one go (0.3 s) held up every request behind it.
#[derive(Debug)]
pub struct SketchInProgress {
    grams: Bits,
    trigrams: Bits,
    /// [`Builder`]'s state between calls.
    t: u64,
    block: [u64; BLOCK_WORDS],
    line_ends: u32,
    /// The blocks so far, as in [`Blocks`], and where the current one starts.
    starts: Vec<u32>,
    lines: Vec<u32>,
    bits: Vec<u64>,
    block_start: usize,
    /// Bytes of the file added so far.
    done: usize,
}

impl SketchInProgress {
    pub fn new(len: usize) -> SketchInProgress {
        SketchInProgress {
            grams: Bits::for_len(len, 0),
            trigrams: Bits::for_len(len, 2),
            t: 0,
            block: [0; BLOCK_WORDS],
            line_ends: 0,
            starts: vec![0],
            lines: vec![0],
            bits: Vec::new(),
            block_start: 0,
            done: 0,
        }
    }

    /// Bytes of the file added so far.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Adds about `budget` more bytes of `data` (the same bytes on every
    /// call; whole blocks, at least one), their bytes and trigrams to
    /// `counts`; returns whether the whole file is in.
    ///
    /// Every gram ending at each byte goes into the file bitsets; each 4- to
    /// 6-gram that starts in the current block into the block's bitset too.
    /// A block ends at the first line end at least [`BLOCK_BYTES`] from its
    /// start (unless that is the file's end). Only the first five bytes of
    /// the file and of each block end fewer grams than that, so they take
    /// the general [`Builder::head`] step; everything else the fast
    /// [`Builder::run`] loop, which checks no positions at all.
    pub fn advance(&mut self, data: &[u8], counts: &mut GramCounts, budget: usize) -> bool {
        let len = data.len();
        let stop = self.done.saturating_add(budget);
        let mut b = Builder::new(&mut self.grams, &mut self.trigrams, counts);
        (b.t, b.block, b.line_ends) = (self.t, self.block, self.line_ends);
        if self.done == 0 {
            self.done = len.min(GRAMS.end() - 1);
            for (i, &c) in data[..self.done].iter().enumerate() {
                b.head(c, i + 1, i + 1);
            }
        }
        let complete = if len < 2 * BLOCK_BYTES {
            b.run::<false>(&data[self.done..]);
            true
        } else {
            loop {
                // The block runs to the line end that closes it (or the file's end).
                let first_end = self.block_start + BLOCK_BYTES - 1;
                let end = data
                    .get(first_end..)
                    .and_then(|rest| memchr::memchr(b'\n', rest))
                    .map_or(len, |k| first_end + k + 1);
                b.run::<true>(&data[self.done..end]);
                if end == len {
                    break true;
                }
                self.bits.extend_from_slice(&b.block);
                b.block = [0; BLOCK_WORDS];
                self.block_start = end;
                self.starts.push(end as u32);
                self.lines.push(b.line_ends);
                // The grams that start before the block go in the file bitsets only.
                self.done = len.min(end + GRAMS.end() - 1);
                for (k, &c) in data[end..self.done].iter().enumerate() {
                    b.head(c, usize::MAX, k + 1);
                }
                if self.done >= stop {
                    break false;
                }
            }
        };
        (self.t, self.block, self.line_ends) = (b.t, b.block, b.line_ends);
        if complete {
            self.done = len;
        }
        complete
    }

    /// The sketch, once [`SketchInProgress::advance`] said the file is in.
    pub fn finish(mut self) -> Sketch {
        self.bits.extend_from_slice(&self.block);
        // One long line may leave a single block: the file bitset says as much.
        let blocks = (self.starts.len() > 1).then(|| Blocks {
            starts: self.starts.into_boxed_slice(),
            lines: self.lines.into_boxed_slice(),
            bits: self.bits.into_boxed_slice(),
        });
        Sketch { grams: self.grams, trigrams: self.trigrams, blocks }
    }
}

/// A first sketch of a file, five times cheaper to build than a
/// [`Sketch`]: only its 4-grams, in the bitset its full sketch will use
/// ([`SketchInProgress::from_quick`] goes on from it, so no work or memory
/// is spent twice). It tells files apart almost as well (on Linux, of the
/// 287 MB first in walk order, 5 MB of files pass it for `kmalloc_array`,
/// 4 MB hold it; 50 and 48 MB for `static inline`) but has no blocks and
/// no sparse trigram bitset, and passes every needle shorter than four
/// bytes. Right after a big workspace is opened, it makes searches skip
/// files within seconds, long before the full sketches are all built.
#[derive(Debug)]
pub struct QuickSketch {
    grams: Bits,
}

impl QuickSketch {
    pub fn build(data: &[u8]) -> QuickSketch {
        let mut grams = Bits::for_len(data.len(), 0);
        let mut bits = BitsMut::new(&mut grams);
        let (head, rest) = data.split_at(data.len().min(3));
        let mut t = head.iter().fold(0u64, |t, &b| (t << 8) | u64::from(FOLDED[usize::from(b)]));
        for &b in rest {
            t = ((t << 8) | u64::from(FOLDED[usize::from(b)])) & 0xFFFF_FFFF;
            bits.set(gram_mix(t, 4));
        }
        QuickSketch { grams }
    }

    /// As [`Sketch::may_contain_any`], from the needles' 4-grams alone.
    pub fn may_contain_any(&self, needles: &[Vec<u32>]) -> bool {
        needles.iter().any(|grams| grams.iter().filter(|&&g| gram_len(g) == 4).all(|&g| self.grams.has(g)))
    }

    pub fn bytes(&self) -> usize {
        self.grams.words.len() * 8
    }
}

impl SketchInProgress {
    /// The full sketch of a file of `len` bytes, begun from its quick one.
    pub fn from_quick(quick: QuickSketch, len: usize) -> SketchInProgress {
        let mut s = SketchInProgress::new(len);
        debug_assert_eq!(s.grams.log2, quick.grams.log2, "a quick sketch of other bytes");
        s.grams = quick.grams;
        s
    }
}

impl Sketch {
    /// Sketches `data`, adding its bytes and trigrams to `counts`.
    pub fn build(data: &[u8], counts: &mut GramCounts) -> Sketch {
        let mut s = SketchInProgress::new(data.len());
        s.advance(data, counts, usize::MAX);
        s.finish()
    }

    fn has(&self, hash: u32) -> bool {
        self.grams.has(hash) && (gram_len(hash) > 3 || self.trigrams.has(hash))
    }

    /// Whether some needle (given as its [`needle_grams`]) may occur.
    pub fn may_contain_any(&self, needles: &[Vec<u32>]) -> bool {
        needles.iter().any(|grams| grams.iter().all(|&g| self.has(g)))
    }

    /// Whether a quick look shows that no needle occurs: each lacks one of
    /// its first two (longest) grams. Then [`Sketch::may_contain_any`] is
    /// false too; when this is false, it may still be. A needle without
    /// grams may always occur.
    pub fn surely_lacks_all(&self, needles: &[Vec<u32>]) -> bool {
        needles.iter().all(|grams| match grams[..] {
            [] => false,
            [g] => !self.has(g),
            // Both bits asked without a branch between: their cache misses overlap.
            [g, h, ..] => !(self.has(g) & self.has(h)),
        })
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
    fn a_quick_look_rules_out_only_what_the_whole_test_does() {
        let text = b"static inline int kmalloc_array(size_t n); /* TODO: FIXME */\n".repeat(30);
        let s = Sketch::build(&text, &mut GramCounts::default());
        let needles: Vec<&[u8]> =
            vec![b"kmalloc_array", b"TODO", b"fixme", b"size", b"ab", b"kmalloc_arrax", b"curserve_no_such"];
        for a in &needles {
            for b in &needles {
                let set = [needle_grams(a), needle_grams(b)];
                if s.surely_lacks_all(&set) {
                    assert!(!s.may_contain_any(&set), "{a:?} {b:?}");
                }
            }
            let present = text.windows(a.len()).any(|w| w.eq_ignore_ascii_case(a));
            if present {
                assert!(!s.surely_lacks_all(&[needle_grams(a)]), "{a:?}");
            }
        }
        assert!(!s.surely_lacks_all(&[needle_grams(b"ab")]), "a needle without grams may occur");
        assert!(s.surely_lacks_all(&[needle_grams(b"curserve_no_such")]));
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

    impl Bits {
        fn set(&mut self, hash: u32) {
            set_bit(&mut self.words, hash >> (32 - self.log2));
        }
    }

    /// `Sketch::build` as it was before it was made fast: the plain
    /// definition the fast one must match bit for bit.
    fn build_reference(data: &[u8], counts: &mut GramCounts) -> Sketch {
        let mut grams = Bits::for_len(data.len(), 0);
        let mut trigrams = Bits::for_len(data.len(), 2);
        let blocked = data.len() >= 2 * BLOCK_BYTES;
        let (mut starts, mut lines, mut bits) = (vec![0u32], vec![0u32], Vec::new());
        let mut block = [0u64; BLOCK_WORDS];
        let (mut block_start, mut line_ends) = (0usize, 0u32);
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
        let blocks = (blocked && starts.len() > 1).then(|| Blocks {
            starts: starts.into_boxed_slice(),
            lines: lines.into_boxed_slice(),
            bits: bits.into_boxed_slice(),
        });
        Sketch { grams, trigrams, blocks }
    }

    /// Builds `data` both ways into counts that already hold `seed`.
    fn assert_same_as_reference(data: &[u8], seed: &[u8]) {
        let (mut fast, mut slow) = (GramCounts::default(), GramCounts::default());
        fast.add_file(seed);
        slow.add_file(seed);
        let (a, b) = (Sketch::build(data, &mut fast), build_reference(data, &mut slow));
        assert!(a == b, "sketches differ for {} bytes: {:?}", data.len(), &data[..data.len().min(40)]);
        assert!(
            fast.grams == slow.grams && fast.bytes == slow.bytes,
            "counts differ for {} bytes",
            data.len()
        );
    }

    /// A small xorshift generator: tests need no crate for it.
    fn random_bytes(seed: u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn build_matches_the_reference() {
        let all: Vec<u8> = (0..=255).collect();
        let code = b"aAbBzZ_ (){};\n\n\r\t0x";
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=7 {
            inputs.push(b"aB\ncD\r\n"[..len].to_vec());
            inputs.push(vec![b'\n'; len]);
        }
        let filler = text_with(b"Get_Buffer", 70, 400);
        for len in [2 * BLOCK_BYTES - 1, 2 * BLOCK_BYTES, 2 * BLOCK_BYTES + 1, 3 * BLOCK_BYTES + 7] {
            inputs.push(filler[..len].to_vec());
            let mut no_nl = filler[..len].to_vec();
            no_nl.retain(|&c| c != b'\n');
            inputs.push(no_nl);
        }
        // Lines of `every` bytes: blocks end right at, or just after, their least length.
        for every in
            [1, 2, 5, 6, 7, BLOCK_BYTES - 6, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, BLOCK_BYTES + 5]
        {
            let mut v = vec![b'x'; 5 * BLOCK_BYTES];
            for k in (every - 1..v.len()).step_by(every) {
                v[k] = b'\n';
            }
            inputs.push(v.clone());
            v.pop();
            inputs.push(v.clone());
            v.push(b'\n');
            inputs.push(v);
        }
        inputs.push(vec![b'a'; 3 * BLOCK_BYTES]);
        inputs.push(filler.clone());
        inputs.push(filler[..filler.len() - 1].to_vec());
        inputs.push(
            filler.iter().flat_map(|&c| if c == b'\n' { vec![b'\r', b'\n'] } else { vec![c] }).collect(),
        );
        for seed in 1..40u64 {
            let len = (seed * seed * 977 % 20_000) as usize;
            inputs.push(random_bytes(seed, len, &all));
            inputs.push(random_bytes(seed, len, code));
        }
        for data in &inputs {
            assert_same_as_reference(data, b"");
            assert_same_as_reference(data, &filler);
        }
    }

    #[test]
    fn a_sketch_begun_quick_is_the_one_built_at_once() {
        for (seed, len) in [(1, 0), (2, 3), (3, 4), (4, 700), (5, 3 * BLOCK_BYTES + 17), (6, 40_000)] {
            let data = random_bytes(seed, len, b"abcdefgh_ \nXYZ");
            let quick = QuickSketch::build(&data);
            let mut s = SketchInProgress::from_quick(quick, data.len());
            assert!(s.advance(&data, &mut GramCounts::default(), usize::MAX));
            assert_eq!(s.finish(), Sketch::build(&data, &mut GramCounts::default()), "seed {seed}");
        }
    }

    #[test]
    fn quick_sketches_pass_present_needles_and_rule_out_absent_ones() {
        let text = text_with(b"kmalloc_array", 150, 300);
        let quick = QuickSketch::build(&text);
        for present in [&b"kmalloc_array"[..], b"KMALLOC", b"mall", b"ab", b""] {
            assert!(quick.may_contain_any(&[needle_grams(present)]), "{present:?}");
        }
        assert!(!quick.may_contain_any(&[needle_grams(b"ext4_fill_super")]));
        assert!(quick.may_contain_any(&[needle_grams(b"ext4_fill_super"), needle_grams(b"array")]));
    }

    #[test]
    fn a_sketch_built_in_slices_is_the_one_built_at_once() {
        let code = b"aAbBzZ_ (){};\n\n\r\t0x";
        let filler = text_with(b"Get_Buffer", 70, 400);
        for data in [filler.clone(), random_bytes(7, 50_000, code), vec![b'x'; 5 * BLOCK_BYTES]] {
            let mut whole = GramCounts::default();
            let at_once = Sketch::build(&data, &mut whole);
            for budget in [0, 1, BLOCK_BYTES, 3 * BLOCK_BYTES + 5] {
                let mut counts = GramCounts::default();
                let mut s = SketchInProgress::new(data.len());
                let mut calls = 1;
                while !s.advance(&data, &mut counts, budget) {
                    calls += 1;
                }
                assert_eq!(s.done(), data.len());
                // (A file with no line end is one block.)
                assert!(calls > 1 || !data.contains(&b'\n'), "{budget}: one call");
                assert!(s.finish() == at_once, "{budget}: differs");
                assert!(counts.grams == whole.grams && counts.bytes == whole.bytes, "{budget}: counts");
            }
        }
    }

    /// Host timing of `Sketch::build` against [`build_reference`] over
    /// real source files: `CURSERVE_SKETCH_BENCH` names the directories
    /// (`:`-separated; the Linux tree's fs, kernel, net and mm by default).
    #[test]
    #[ignore]
    fn bench_build() {
        let dirs = std::env::var("CURSERVE_SKETCH_BENCH").unwrap_or_else(|_| {
            ["fs", "kernel", "net", "mm"].map(|d| format!("/root/.cache/curserve/linux-6.1/{d}")).join(":")
        });
        fn walk(dir: &std::path::Path, files: &mut Vec<Vec<u8>>, total: &mut usize) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
            paths.sort();
            for p in paths {
                if *total >= 80 << 20 {
                    return;
                }
                if p.is_dir() {
                    walk(&p, files, total);
                } else if let Ok(data) = std::fs::read(&p) {
                    *total += data.len();
                    files.push(data);
                }
            }
        }
        let (mut files, mut total) = (Vec::new(), 0);
        for d in dirs.split(':') {
            walk(std::path::Path::new(d), &mut files, &mut total);
        }
        assert!(total >= 50 << 20, "only {total} bytes of files to time");
        let time = |f: fn(&[u8], &mut GramCounts) -> Sketch| {
            let mut counts = GramCounts::default();
            let start = std::time::Instant::now();
            for data in &files {
                std::hint::black_box(f(data, &mut counts));
            }
            start.elapsed().as_nanos() as f64 / total as f64
        };
        // Interleaved, so that load from elsewhere weighs on both alike.
        let (mut slow, mut fast, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..3 {
            slow.push(time(build_reference));
            fast.push(time(Sketch::build));
            ratio.push(fast[fast.len() - 1] / slow[slow.len() - 1]);
        }
        for v in [&mut slow, &mut fast, &mut ratio] {
            v.sort_by(f64::total_cmp);
        }
        println!("{} files, {:.1} MB", files.len(), total as f64 / 1e6);
        println!("reference: {:.2} ns/byte (median; runs {slow:.2?})", slow[1]);
        println!("build:     {:.2} ns/byte (median; runs {fast:.2?})", fast[1]);
        println!("build / reference: {:.3} (median)", ratio[1]);
    }
}
