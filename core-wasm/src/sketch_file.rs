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
//! Layout (little-endian): a head (magic, the sketch fingerprint, the
//! corpus's [`GramCounts`], an XXH64 of the head), then one record per file
//! (its path, length, hash and sketch, then an XXH64 of the record), then
//! an end marker. The file is written in parts (see [`encode_part`]), the
//! sketches of a few MiB of files at a time, so that writing Linux's
//! 550 MB of sketches never holds up a search for long: hence a checksum
//! per record rather than one over the whole. A truncated file lacks the end marker, and a
//! flipped bit fails a checksum, so either is refused as a whole rather
//! than read into sketches that hide matches.

use crate::content_hash::xxh64;
use crate::sketch::{put_u32s, GramCounts, Reader, Sketch};

const MAGIC: &[u8; 8] = b"CSKETCH\x02";
/// Where a record's path length would be: no path is this long.
const END: u32 = u32::MAX;
const END_MAGIC: &[u8; 8] = b"CSKETEND";

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

/// Appends the head of a sketch file: what comes before the records.
fn encode_head(counts: &GramCounts, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&fingerprint().to_le_bytes());
    counts.write(out);
    let sum = xxh64(&out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Appends one record per file (path, bytes, sketch) to `out`.
fn encode_records<'a>(files: impl Iterator<Item = (&'a str, &'a [u8], &'a Sketch)>, out: &mut Vec<u8>) {
    for (path, data, sketch) in files {
        let start = out.len();
        put_u32s(out, &[path.len() as u32]);
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&xxh64(data).to_le_bytes());
        sketch.write(out);
        let sum = xxh64(&out[start..]);
        out.extend_from_slice(&sum.to_le_bytes());
    }
}

/// Appends the end marker.
fn encode_end(out: &mut Vec<u8>) {
    put_u32s(out, &[END]);
    out.extend_from_slice(END_MAGIC);
}

/// One part of a sketch file whose records are `files`: the head first
/// when `first`, the end marker last when `last`. Parts written one after
/// another make one file.
pub fn encode_part<'a>(
    files: impl Iterator<Item = (&'a str, &'a [u8], &'a Sketch)>,
    counts: &GramCounts,
    first: bool,
    last: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    if first {
        encode_head(counts, &mut out);
    }
    encode_records(files, &mut out);
    if last {
        encode_end(&mut out);
    }
    out
}

/// A whole sketch file of `files` in one part.
pub fn encode<'a>(files: impl Iterator<Item = (&'a str, &'a [u8], &'a Sketch)>, counts: &GramCounts) -> Vec<u8> {
    encode_part(files, counts, true, true)
}

/// Decodes what [`encode`] (or its parts in order) wrote.
/// Errors: says why the bytes are refused (truncated, corrupt, another build's).
pub fn decode(bytes: &[u8]) -> Result<(GramCounts, Vec<SavedSketch>), String> {
    if bytes.len() < MAGIC.len() {
        return Err(format!("{} bytes: too short to be a sketch file", bytes.len()));
    }
    if !bytes.starts_with(MAGIC) {
        return Err("not a sketch file (wrong magic)".to_string());
    }
    let mut r = Reader { rest: &bytes[MAGIC.len()..] };
    let truncated = |what: &str| format!("truncated or corrupt {what}");
    // Each part is parsed, then its checksum checked over the bytes parsed
    // (a corrupt length can only make the parse fail or the sum differ).
    let check = |r: &mut Reader, start: usize, what: &str| -> Result<(), String> {
        let end = bytes.len() - r.rest.len();
        let sum = r.u64().map_err(|_| truncated(what))?;
        if xxh64(&bytes[start..end]) != sum {
            return Err(format!("checksum mismatch in {what}: truncated or corrupt"));
        }
        Ok(())
    };
    let fingerprint_saved = r.u64().map_err(|_| truncated("head"))?;
    let counts = GramCounts::read(&mut r).map_err(|_| truncated("head"))?;
    check(&mut r, 0, "the head")?;
    if fingerprint_saved != fingerprint() {
        return Err("saved by a build that sketches differently".to_string());
    }
    let mut files = Vec::new();
    loop {
        let start = bytes.len() - r.rest.len();
        let path_len = r.u32().map_err(|_| "truncated or corrupt: no end marker".to_string())?;
        if path_len == END {
            if r.bytes(END_MAGIC.len()).ok() != Some(&END_MAGIC[..]) {
                return Err(truncated("end marker"));
            }
            break;
        }
        let mut record = || -> Result<SavedSketch, String> {
            let path = std::str::from_utf8(r.bytes(path_len as usize)?).map_err(|_| "a path is not UTF-8")?;
            Ok(SavedSketch { path: path.to_string(), len: r.u64()?, hash: r.u64()?, sketch: Sketch::read(&mut r)? })
        };
        let saved = record().map_err(|_| truncated("record"))?;
        check(&mut r, start, "a record")?;
        files.push(saved);
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
    fn parts_written_in_turn_make_one_file() {
        let (files, whole) = sample();
        let mut counts = GramCounts::default();
        let sketches: Vec<Sketch> = files.iter().map(|(_, d)| Sketch::build(d, &mut counts)).collect();
        let record = |i: usize| std::iter::once((files[i].0.as_str(), files[i].1.as_slice(), &sketches[i]));
        let mut parts = encode_part(record(0), &counts, true, false);
        parts.extend(encode_part(std::iter::empty(), &counts, false, false));
        parts.extend(encode_part(record(1), &counts, false, true));
        assert_eq!(parts, whole);
        // Without its last part, a file is refused.
        let cut = encode_part(record(0), &counts, true, false);
        assert!(decode(&cut).err().is_some_and(|e| e.contains("no end marker")));
    }

    #[test]
    fn truncated_or_corrupt_files_are_refused() {
        let (_, bytes) = sample();
        for cut in (0..bytes.len()).step_by(97).chain([7, 20, bytes.len() / 2, bytes.len() - 1]) {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut} was accepted");
        }
        for at in (0..bytes.len()).step_by(89).chain([8, 30, bytes.len() / 2, bytes.len() - 3]) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(decode(&bad).is_err(), "a flipped bit at {at} was accepted");
        }
    }
}
