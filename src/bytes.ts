/**
 * Byte-buffer helpers shared by the modules that frame, join and capture
 * output.
 * @module
 */

/** The bytes of `chunks`, one after another, in a new buffer. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}
