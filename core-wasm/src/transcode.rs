//! rg's byte-order-mark sniffing: a file that starts with a UTF-16 BOM is
//! searched (and printed) as the UTF-8 it decodes to, without the BOM, as
//! rg 13 does through `encoding_rs`. Offsets (`-b`, `--json`) then count in
//! the decoded bytes, and the binary test looks at them, not at the file's.

/// The byte order a UTF-16 BOM announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf16 {
    Le,
    Be,
}

/// The UTF-16 byte order `data` announces with a BOM, if it has one
/// (`FF FE 00 00`, UTF-32LE's, counts as UTF-16LE, as in `encoding_rs`).
pub fn utf16_bom(data: &[u8]) -> Option<Utf16> {
    match data {
        [0xFF, 0xFE, ..] => Some(Utf16::Le),
        [0xFE, 0xFF, ..] => Some(Utf16::Be),
        _ => None,
    }
}

/// Decodes `data` (BOM included) into `out` as UTF-8, replacing each
/// unpaired surrogate with U+FFFD, and what is left unfinished at the end
/// (an odd byte, a high surrogate, or both) with one.
pub fn utf16_to_utf8(data: &[u8], order: Utf16, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(data.len() + data.len() / 2);
    let unit = |p: &[u8]| match order {
        Utf16::Le => u16::from_le_bytes([p[0], p[1]]),
        Utf16::Be => u16::from_be_bytes([p[0], p[1]]),
    };
    let mut body = &data[2..];
    let unfinished = body.len() % 2 == 1;
    body = &body[..body.len() & !1];
    // An odd byte after a high surrogate: one sequence cut short, as
    // `encoding_rs` counts it (one U+FFFD, not two).
    if unfinished && body.len() >= 2 && (0xD800..0xDC00).contains(&unit(&body[body.len() - 2..])) {
        body = &body[..body.len() - 2];
    }
    let mut buf = [0u8; 4];
    for c in char::decode_utf16(body.chunks_exact(2).map(unit)) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    if unfinished {
        out.extend_from_slice("\u{FFFD}".as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(text: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        text.encode_utf16().for_each(|u| v.extend_from_slice(&u.to_le_bytes()));
        v
    }

    #[test]
    fn sniffs_only_utf16_marks() {
        assert_eq!(utf16_bom(b"\xFF\xFEa\0"), Some(Utf16::Le));
        assert_eq!(utf16_bom(b"\xFE\xFF\0a"), Some(Utf16::Be));
        assert_eq!(utf16_bom(b"\xEF\xBB\xBFa"), None, "UTF-8's is stripped, not decoded");
        assert_eq!(utf16_bom(b"\xFF"), None);
    }

    #[test]
    fn decodes_both_orders_and_astral_characters() {
        let mut out = Vec::new();
        utf16_to_utf8(&le("héllo 𝄞\n"), Utf16::Le, &mut out);
        assert_eq!(out, "héllo 𝄞\n".as_bytes());
        let mut be = vec![0xFE, 0xFF];
        "ok\n".encode_utf16().for_each(|u| be.extend_from_slice(&u.to_be_bytes()));
        utf16_to_utf8(&be, Utf16::Be, &mut out);
        assert_eq!(out, b"ok\n");
    }

    #[test]
    fn replaces_what_does_not_decode() {
        let mut out = Vec::new();
        // A lone low surrogate, a high one before a letter, an odd end.
        utf16_to_utf8(b"\xFF\xFE\x00\xDCa\x00\x00\xD8b\x00c", Utf16::Le, &mut out);
        assert_eq!(out, "\u{FFFD}a\u{FFFD}b\u{FFFD}".as_bytes());
        // A high surrogate, then an odd byte at the end: one sequence.
        utf16_to_utf8(b"\xFF\xFEa\x00\x00\xD8z", Utf16::Le, &mut out);
        assert_eq!(out, "a\u{FFFD}".as_bytes());
    }
}
