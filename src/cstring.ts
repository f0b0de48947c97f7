/**
 * Strings for C functions called through Deno's FFI.
 * @module
 */

const encoder = new TextEncoder();

/** `s` as a NUL-terminated UTF-8 buffer (a path for open, opendir, ...). */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes);
  return buf;
}
