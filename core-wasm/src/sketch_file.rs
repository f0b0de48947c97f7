//! Saved sketches: the sketches of a corpus's files in one byte string, so
//! a daemon that restarts (or reloads an evicted workspace) restores them
//! instead of building them again (about 10 ns a byte, 13 s of CPU for
//! Linux). Each sketch is saved with its file's length and content hash,
//! and restored only onto bytes with the same length and hash: a sketch is
//! never served for bytes that changed. The bytes are in memory anyway
//! when a corpus is loaded, so hashing them all costs a fraction of a
//! stat-based check's certainty problem (an edit within one mtime tick, a
//! restored mtime) and far less than sketching.
//!
//! Layout (little-endian): magic, the sketch fingerprint, the file count,
//! the corpus's [`GramCounts`], then per file its path, length, hash and
//! sketch; last, an XXH64 of everything before it, so a truncated or
//! corrupted file is refused as a whole rather than read into sketches
//! that hide matches.

use crate::content_hash::xxh64;
use crate::sketch::{put_u32s, GramCounts, Reader, Sketch};

const MAGIC: &[u8; 8] = b"CSKETCH\x01";

/// A hash of the sketch of a fixed text: sketches saved by a build that
/// sketches differently (gram hashes, block sizes) have another one and are
/// refused, with no version number to remember to bump.
fn fingerprint() -> u64 {
    let mut text = Vec::new();
    for i in 0..400u32 {
        text.extend_from_slice(format!("line {i}: static inline int Pm_Suspend_{}(void);\n", i % 37).as_bytes());
    }
    let mut out = Vec::new();
    Sketch::build(&text, &mut GramCounts::default()).write(&mut out);
    xxh64(&out)
}

/// One saved file: path, length, content hash, and its sketch.
pub struct SavedSketch {
    pub path: String,
    pub len: u64,
    pub hash: u64,
    pub sketch: Sketch,
}

/// Encodes `files` (path, bytes, sketch) with the corpus's gram counts.
pub fn encode<'a>(files: impl Iterator<Item = (&'a str, &'a [u8], &'a Sketch)>, counts: &GramCounts) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&fingerprint().to_le_bytes());
    let count_at = out.len();
    put_u32s(&mut out, &[0]);
    counts.write(&mut out);
    let mut n = 0u32;
    for (path, data, sketch) in files {
        put_u32s(&mut out, &[path.len() as u32]);
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&xxh64(data).to_le_bytes());
        sketch.write(&mut out);
        n += 1;
    }
    out[count_at..count_at + 4].copy_from_slice(&n.to_le_bytes());
    let sum = xxh64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Decodes what [`encode`] wrote.
/// Errors: says why the bytes are refused (truncated, corrupt, another build's).
pub fn decode(bytes: &[u8]) -> Result<(GramCounts, Vec<SavedSketch>), String> {
    if bytes.len() < MAGIC.len() + 8 {
        return Err(format!("{} bytes: too short to be a sketch file", bytes.len()));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if !body.starts_with(MAGIC) {
        return Err("not a sketch file (wrong magic)".to_string());
    }
    if xxh64(body).to_le_bytes() != sum {
        return Err("checksum mismatch: truncated or corrupt".to_string());
    }
    let mut r = Reader { rest: &body[MAGIC.len()..] };
    if r.u64()? != fingerprint() {
        return Err("saved by a build that sketches differently".to_string());
    }
    let n = r.u32()? as usize;
    let counts = GramCounts::read(&mut r)?;
    let mut files = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let len = r.u32()? as usize;
        let path = std::str::from_utf8(r.bytes(len)?).map_err(|_| "a path is not UTF-8")?.to_string();
        let len = r.u64()?;
        let hash = r.u64()?;
        files.push(SavedSketch { path, len, hash, sketch: Sketch::read(&mut r)? });
    }
    if !r.rest.is_empty() {
        return Err("trailing bytes".to_string());
    }
    Ok((counts, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::needle_grams;

    fn sample() -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
        let files = vec![
            ("/r/a.c".to_string(), b"int kmalloc_array(void);\n".repeat(300)),
            ("/r/b.c".to_string(), b"nothing much\n".to_vec()),
        ];
        let mut counts = GramCounts::default();
        let sketches: Vec<Sketch> = files.iter().map(|(_, d)| Sketch::build(d, &mut counts)).collect();
        let bytes =
            encode(files.iter().zip(&sketches).map(|((p, d), s)| (p.as_str(), d.as_slice(), s)), &counts);
        (files, bytes)
    }

    #[test]
    fn sketches_round_trip() {
        let (files, bytes) = sample();
        let (counts, saved) = decode(&bytes).expect("decodes");
        assert_eq!(saved.len(), 2);
        assert_eq!(saved[0].path, "/r/a.c");
        assert_eq!(saved[0].len, files[0].1.len() as u64);
        assert_eq!(saved[0].hash, xxh64(&files[0].1));
        assert!(saved[0].sketch.may_contain_any(&[needle_grams(b"kmalloc_array")]));
        assert!(!saved[1].sketch.may_contain_any(&[needle_grams(b"kmalloc_array")]));
        assert!(saved[0].sketch.plan(files[0].1.len(), &[needle_grams(b"kmalloc_array")], &[]).is_some());
        assert!(counts.estimate(b"kmalloc") >= Some(300));
    }

    #[test]
    fn truncated_or_corrupt_files_are_refused() {
        let (_, bytes) = sample();
        for cut in [0, 7, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut} was accepted");
        }
        for at in [8, 30, bytes.len() / 2, bytes.len() - 3] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(decode(&bad).is_err(), "a flipped bit at {at} was accepted");
        }
    }
}
