/**
 * Command output as JSON can carry it: text, capped at a size, with the
 * exact bytes in base64 when they are not UTF-8 (rg prints file bytes as
 * they are); and reply lines that carry text already escaped as JSON
 * ({@link JsonText}, from the workers) without making it a string.
 * @module
 */
import { concatBytes } from "../bytes.ts";

const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder();

/** `bytes` as text, plus `stdout_base64` when they are not valid UTF-8. */
function text(bytes: Uint8Array): { stdout: string; stdout_base64?: string } {
  try {
    return { stdout: strict.decode(bytes) };
  } catch {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return { stdout: lossy.decode(bytes), stdout_base64: btoa(binary) };
  }
}

/** `bytes` cut at `max` bytes (at a line boundary when there is one), as
 * text, with whether anything was cut. */
export function cappedText(
  bytes: Uint8Array,
  max: number,
): { stdout: string; stdout_base64?: string; truncated: boolean } {
  if (bytes.length <= max) return { ...text(bytes), truncated: false };
  const cut = bytes.subarray(0, max);
  const nl = cut.lastIndexOf(10);
  return { ...text(nl > 0 ? cut.subarray(0, nl + 1) : cut), truncated: true };
}

const encoder = new TextEncoder();

/** A string value held as the bytes of its JSON literal, quotes included. */
export class JsonText {
  constructor(readonly json: Uint8Array) {}
}

/** Stands in for a {@link JsonText} while the rest is stringified. */
const MARK = "\u0000curserve:json-text\u0000";
const MARK_BYTES = encoder.encode(JSON.stringify(MARK));

/**
 * `message` as one line of JSON (with its `\n`), {@link JsonText} values
 * spliced in as they are: for a 1 MB answer, a copy instead of about 5 ms
 * of decoding, stringifying and encoding on the socket thread.
 */
export function encodeLine(message: unknown): Uint8Array {
  const texts: Uint8Array[] = [];
  let clash = false;
  const json = JSON.stringify(message, (key, value) => {
    if (key === MARK || value === MARK) clash = true;
    return value instanceof JsonText ? (texts.push(value.json), MARK) : value;
  });
  if (clash) {
    // A string of the message is the mark itself: go the slow way.
    return encoder.encode(
      JSON.stringify(
        message,
        (_key, value) => value instanceof JsonText ? JSON.parse(lossy.decode(value.json)) : value,
      ) + "\n",
    );
  }
  const line = encoder.encode(json + "\n");
  if (!texts.length) return line;
  // Where a value starts (after `:`, `,` or `[`), the mark's bytes are the
  // mark: no other string equals it, and inside a string a quote is always
  // escaped, so never preceded by those. Each text has its mark, in order.
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const text of texts) {
    let at = line.indexOf(MARK_BYTES[0], from);
    while (at >= 0 && !(VALUE_START.includes(line[at - 1]) && startsAt(line, MARK_BYTES, at))) {
      at = line.indexOf(MARK_BYTES[0], at + 1);
    }
    if (at < 0) throw new Error("encodeLine: a JsonText's mark is missing");
    pieces.push(line.subarray(from, at), text);
    from = at + MARK_BYTES.length;
  }
  pieces.push(line.subarray(from));
  return concatBytes(pieces);
}

/** The bytes a JSON value follows: `:`, `,` and `[`. */
const VALUE_START = [0x3a, 0x2c, 0x5b];

function startsAt(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}
