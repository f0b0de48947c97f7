/**
 * Command output as JSON can carry it: text, capped at a size, with the
 * exact bytes in base64 when they are not UTF-8 (rg prints file bytes as
 * they are).
 * @module
 */

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
