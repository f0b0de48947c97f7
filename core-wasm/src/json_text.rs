//! Output bytes as a JSON string literal, for replies that carry a large
//! answer: escaped exactly as `JSON.stringify` (and `serde_json`) escape,
//! straight from bytes, with no string made on the way.

/// `bytes` as a JSON string literal, quotes included, or `None` when they
/// are not UTF-8.
pub fn json_string(bytes: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(bytes).ok()?;
    // Code output escapes a tab or newline every few dozen bytes.
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8 + 2);
    out.push(b'"');
    let mut copied = 0;
    let mut at = 0;
    while let Some(i) = next_escape(bytes, at) {
        out.extend_from_slice(&bytes[copied..i]);
        push_escape(&mut out, bytes[i]);
        copied = i + 1;
        at = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
    Some(out)
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\t' => out.extend_from_slice(b"\\t"),
        b'\r' => out.extend_from_slice(b"\\r"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 15)],
        ]),
    }
}

/// The first byte at or after `at` that must be escaped.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn next_escape(bytes: &[u8], at: usize) -> Option<usize> {
    use core::arch::wasm32::*;
    let (space, quote, backslash) = (u8x16_splat(0x20), u8x16_splat(b'"'), u8x16_splat(b'\\'));
    let mut i = at;
    while i + 16 <= bytes.len() {
        // SAFETY: i + 16 <= bytes.len(); wasm loads need no alignment.
        let v = unsafe { v128_load(bytes.as_ptr().add(i).cast()) };
        let hits = v128_or(u8x16_lt(v, space), v128_or(u8x16_eq(v, quote), u8x16_eq(v, backslash)));
        if v128_any_true(hits) {
            return Some(i + u8x16_bitmask(hits).trailing_zeros() as usize);
        }
        i += 16;
    }
    bytes[i..].iter().position(|&b| needs_escape(b)).map(|k| i + k)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn next_escape(bytes: &[u8], at: usize) -> Option<usize> {
    bytes[at..].iter().position(|&b| needs_escape(b)).map(|k| at + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_serde_json_does() {
        let mut all: Vec<u8> = (0u8..0x80).collect();
        all.extend_from_slice("é ü 中文 😀 \u{2028}\u{7f}".as_bytes());
        for text in [&b""[..], b"plain", b"tab\there \"q\" back\\slash\n", &all] {
            let want = serde_json::to_vec(std::str::from_utf8(text).unwrap()).unwrap();
            assert_eq!(json_string(text), Some(want));
        }
    }

    #[test]
    fn rejects_invalid_utf8() {
        for bad in [&[0x80][..], &[0x61, 0xff], &[0xed, 0xa0, 0x80], &[0xe2, 0x82]] {
            assert_eq!(json_string(bad), None);
        }
    }
}
