/**
 * Structured matches from rg's `--json` output: one parser for the API
 * (`Workspace.matches`) and the daemon (`matches`).
 * @module
 */

/** One matching line. */
export interface GrepMatch {
  path: string;
  /** 1-based. */
  lineNumber: number;
  /** The line's text (with its terminator, as rg reports it). */
  line: string;
  /** Byte offsets of each match within the line. */
  submatches: { start: number; end: number; text: string }[];
}

/** rg's `{"text": ...}` or `{"bytes": base64}` as a string. */
function data(d: { text?: string; bytes?: string }): string {
  return d.text ?? atob(d.bytes ?? "");
}

/** The `match` messages of `--json` output, at most `limit` of them. */
export function jsonMatches(
  output: Uint8Array,
  limit = Infinity,
): { matches: GrepMatch[]; truncated: boolean } {
  const matches: GrepMatch[] = [];
  for (const line of new TextDecoder().decode(output).split("\n")) {
    if (!line.startsWith('{"type":"match"')) continue;
    if (matches.length === limit) return { matches, truncated: true };
    const m = JSON.parse(line).data;
    matches.push({
      path: data(m.path),
      lineNumber: m.line_number,
      line: data(m.lines),
      submatches: m.submatches.map((
        s: { start: number; end: number; match: { text?: string } },
      ) => ({
        start: s.start,
        end: s.end,
        text: s.match.text ?? "",
      })),
    });
  }
  return { matches, truncated: false };
}
