/**
 * What a search prints: joins the answers of one corpus, or of the shards
 * of a workspace split across workers, into rg's exact output and exit
 * status. Free of the WebAssembly core, so the daemon's socket side can
 * merge what its workers found.
 * @module
 */
import { resolve } from "node:path";
import type { GrepArgs } from "./args.ts";
import { concatBytes } from "./bytes.ts";

/** Where the command writes. */
export interface CommandIO {
  /** Directory relative paths are resolved against. */
  cwd: string;
  stdout: (bytes: Uint8Array) => void;
  stderr: (text: string) => void;
  /** These are the process's own standard streams (the `grep` command):
   * a fallback rg may write to them, and read stdin, directly. */
  inherit?: boolean;
  /** No process may be started for this command (a daemon's worker): what
   * only the real rg answers throws {@link NeedsRealRg} instead, for the
   * client to run rg itself. */
  noProcess?: boolean;
}

/** A {@link CommandIO} that keeps what is written, for callers that hand
 * the output on (the API, the daemon) instead of printing it. */
export function captureIO(cwd: string): { io: CommandIO; stdout(): Uint8Array; stderr(): string } {
  const chunks: Uint8Array[] = [];
  let stderr = "";
  return {
    io: { cwd, stdout: (b) => chunks.push(b), stderr: (t) => (stderr += t) },
    stdout: () => concatBytes(chunks),
    stderr: () => stderr,
  };
}

/** rg's hint after a newline-in-pattern error. */
const MULTILINE_HINT = "\n\nConsider enabling multiline mode with the --multiline flag " +
  "(or -U for short).\nWhen multiline mode is enabled, new line characters can be matched.";

/** rg's hint after an error for what only PCRE2 has. */
const PCRE2_HINT = "\n\nConsider enabling PCRE2 with the --pcre2 flag, which can handle " +
  "backreferences\nand look-around.";

/** rg's warning when filters left nothing to search in the current directory. */
const NOTHING_SEARCHED = "No files were searched, which means ripgrep probably applied " +
  "a filter you didn't expect.\nRunning with --debug will show why files are being skipped.\n";

/**
 * What one corpus found for a command: the whole workspace's answer, or one
 * shard's share of it when a workspace is split across workers by path
 * (see {@link finishSearch}).
 */
export interface SearchPart {
  /** Output in command-line root order: one piece per root when `perRoot`,
   * else one piece for all. */
  pieces: Uint8Array[];
  matched: boolean;
  /** Files that passed the filters and were searched. */
  searched: number;
  /** Searched as if output came before it (`--` opens its first file in
   * context mode, for the merge to keep or drop). */
  separated: boolean;
  /** What the part's first file opens with when searched as if output
   * came before (`separated`), for the join to drop: the context
   * separator, or a blank line with `--heading`. */
  opener?: Uint8Array;
  /** A core error (bad pattern, glob or type), as rg prints it. */
  error?: string;
  /** Nothing searched: the command reaches files the workspace skipped
   * (ignored or hidden ones a `-g` brings back, or a path inside an ignored
   * directory), so it must run from disk (`runGrep`) instead. */
  fromDisk?: boolean;
  /** When asked for and every piece is UTF-8: each piece as a JSON string
   * literal (quotes included), for {@link joinJsonText}. */
  json?: Uint8Array[];
  /** Set when the search paused to let another request run: where the
   * next slice starts (see `searchPart` in src/cli.ts). Its parts follow
   * this one in the join, as a shard's would. */
  resume?: Resume;
}

/** Where a paused search goes on: its group of roots (one per root for a
 * shard, else one), and how many of that group's files are done. */
export interface Resume {
  group: number;
  file: number;
}

/**
 * Prints the answer of one or more {@link SearchPart}s (in path order: the
 * shards of a workspace) as rg would print it, and returns rg's exit status.
 * Pieces join root by root; across a join, a context separator a shard
 * opened with is dropped when nothing was printed before it, and `--json`
 * summaries add up into one.
 * @param loadErrors rg-style messages for paths that could not be read.
 * @param maxBytes Output past this many bytes may be left out, for a caller
 * that cuts it there anyway (joining hundreds of megabytes of shard output
 * only to drop them held up the daemon's socket side).
 */
export function finishSearch(
  args: GrepArgs,
  parts: SearchPart[],
  loadErrors: readonly string[],
  io: CommandIO,
  maxBytes = Infinity,
): number {
  if (!args.noMessages) { for (const e of loadErrors) io.stderr(e + "\n"); }
  const errored = loadErrors.length > 0;
  const failed = parts.find((p) => p.error !== undefined);
  if (failed) return reportError(failed.error, io);
  const out = joinPieces(parts, args.json, maxBytes, contextSeparator(args));
  if (args.files) {
    if (!args.quiet) io.stdout(out);
    return errored ? 2 : out.length > 0 ? 0 : 1;
  }
  if (args.maxCount === 0) return errored ? 2 : 1;
  if (!args.quiet) io.stdout(out);
  const searched = parts.reduce((n, p) => n + p.searched, 0);
  if (searched === 0 && args.paths.length === 0) {
    if (!args.noMessages) io.stderr(NOTHING_SEARCHED);
    return 2;
  }
  const matched = parts.some((p) => p.matched);
  if (matched && (args.quiet || !errored)) return 0;
  return errored ? 2 : 1;
}

/** The line between context groups (`--` unless changed), as bytes;
 * undefined with `--no-context-separator`. */
function contextSeparator(args: GrepArgs): Uint8Array | undefined {
  if (args.contextSeparator === null) return undefined;
  const sep = args.contextSeparator ?? "--";
  return Uint8Array.from(sep + "\n", (c) => c.charCodeAt(0));
}

/**
 * Whether the parts of a search's first shards (in shard order) already
 * make {@link finishSearch} print more than `maxBytes`, whatever the
 * other shards add: then a reply cut at `maxBytes` needs none of those.
 * Only the first root's pieces count, since the shards' pieces join root
 * by root.
 */
export function fillsReply(args: GrepArgs, firstShards: SearchPart[], maxBytes: number): boolean {
  if (args.quiet || (args.maxCount === 0 && !args.files)) return false;
  if (firstShards.some((p) => p.error !== undefined)) return false;
  const firstRoot = firstShards.map((p) => ({ ...p, pieces: p.pieces.slice(0, 1) }));
  const chunks = joinedChunks(firstRoot, args.json, maxBytes, contextSeparator(args));
  return chunks.reduce((n, chunk) => n + chunk.length, 0) > maxBytes;
}

/** Joins parts' pieces root by root (see {@link finishSearch}), stopping
 * once past `maxBytes`. */
function joinPieces(
  parts: SearchPart[],
  json: boolean,
  maxBytes: number,
  separator: Uint8Array | undefined,
): Uint8Array {
  if (parts.length === 1 && parts[0].pieces.length <= 1 && !parts[0].separated) {
    return parts[0].pieces[0] ?? new Uint8Array();
  }
  return concatBytes(joinedChunks(parts, json, maxBytes, separator));
}

/** The pieces {@link joinPieces} joins, unjoined. */
function joinedChunks(
  parts: SearchPart[],
  json: boolean,
  maxBytes: number,
  separator: Uint8Array | undefined,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let summary: JsonSummary | undefined;
  for (let [part, , piece] of inJoinOrder(parts)) {
    if (size > maxBytes) break;
    if (json) {
      const [body, last] = splitLastLine(piece);
      summary = addSummary(summary, last);
      piece = body;
    } else if (part.separated && size === 0) {
      const open = part.opener ?? separator;
      if (open && startsWith(piece, open)) piece = piece.subarray(open.length);
    }
    chunks.push(piece);
    size += piece.length;
  }
  if (summary && size <= maxBytes) {
    const line = new TextEncoder().encode(JSON.stringify(summary) + "\n");
    chunks.push(line);
    size += line.length;
  }
  return chunks;
}

/** The context separator as it reads inside a JSON string. */
const JSON_SEPARATOR = new TextEncoder().encode("--\\n");

/**
 * What {@link finishSearch} prints to stdout, as one JSON string literal
 * joined from the parts' {@link SearchPart.json} pieces, when it prints all
 * of {@link joinPieces} (no `--json` summary to merge, no error, within
 * `maxBytes`). A JSON string's escaping works character by character, and
 * pieces end at line ends, so joined literals are the literal of the joined
 * text.
 * @returns undefined when those conditions do not hold.
 */
export function joinJsonText(
  args: GrepArgs,
  parts: SearchPart[],
  maxBytes = Infinity,
): Uint8Array | undefined {
  // (A separator other than `--` would need its JSON form: left to the
  // plain path.)
  const printsAll = !args.json && !args.quiet && (args.files || args.maxCount !== 0) &&
    args.contextSeparator === undefined && !args.heading;
  if (!printsAll || parts.some((p) => p.error !== undefined || !p.json)) return undefined;
  if (parts.reduce((n, p) => n + p.pieces.reduce((m, x) => m + x.length, 0), 0) > maxBytes) {
    return undefined;
  }
  const bodies: Uint8Array[] = [];
  let size = 0;
  for (const [part, root] of inJoinOrder(parts)) {
    // Without its quotes.
    let body = part.json![root].subarray(1, -1);
    if (part.separated && size === 0 && startsWith(body, JSON_SEPARATOR)) {
      body = body.subarray(JSON_SEPARATOR.length);
    }
    bodies.push(body);
    size += body.length;
  }
  return concatBytes([QUOTE, ...bodies, QUOTE]);
}

const QUOTE = new TextEncoder().encode('"');

/** The parts' non-empty pieces in the order output joins them: root by
 * root, and within a root part by part (shards in path order); with the
 * root's index. */
function* inJoinOrder(parts: SearchPart[]): Generator<[SearchPart, number, Uint8Array]> {
  const roots = Math.max(0, ...parts.map((p) => p.pieces.length));
  for (let r = 0; r < roots; r++) {
    for (const part of parts) {
      const piece = part.pieces[r];
      if (piece?.length) yield [part, r, piece];
    }
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** Splits off the last line (with its newline) of `bytes`. */
function splitLastLine(bytes: Uint8Array): [Uint8Array, Uint8Array] {
  const end = bytes.length - 1;
  const nl = bytes.lastIndexOf(10, end - 1);
  return [bytes.subarray(0, nl + 1), bytes.subarray(nl + 1)];
}

/** rg's `--json` summary message; its counts add up across parts. */
interface JsonSummary {
  data: { stats: Record<string, unknown> };
}

function addSummary(sum: JsonSummary | undefined, line: Uint8Array): JsonSummary {
  const next = JSON.parse(new TextDecoder().decode(line)) as JsonSummary;
  if (!sum) return next;
  for (const [key, value] of Object.entries(next.data.stats)) {
    if (typeof value === "number") {
      sum.data.stats[key] = (sum.data.stats[key] as number) + value;
    }
  }
  return sum;
}

/** Prints a core error (a bad pattern, glob or type) as rg does. */
export function reportError(err: unknown, io: CommandIO): number {
  const message = err instanceof Error ? err.message : String(err);
  const hint = message.includes("is not allowed in a regex")
    ? MULTILINE_HINT
    : /backreferences|look-around/.test(message)
    ? PCRE2_HINT
    : "";
  io.stderr(message + hint + "\n");
  return 2;
}

/** rg's text for an OS error, e.g. `No such file or directory (os error 2)`. */
export function osErrorText(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "No such file or directory (os error 2)";
  if (err instanceof Deno.errors.PermissionDenied) return "Permission denied (os error 13)";
  if (err instanceof Deno.errors.NotADirectory) return "Not a directory (os error 20)";
  return err instanceof Error ? err.message : String(err);
}

/**
 * Splits PATH arguments into those that exist and rg's message for each
 * that does not (rg names them and searches the rest).
 */
export function splitMissing(
  paths: string[],
  cwd: string,
  oneThread = false,
): { existing: string[]; missing: string[] } {
  const missing: string[] = [];
  const existing = paths.filter((p) => {
    try {
      Deno.statSync(resolve(cwd, p));
      return true;
    } catch (err) {
      missing.push(rootErrorText(p, err, oneThread));
      return false;
    }
  });
  return { existing, missing };
}

/** rg's message for a PATH argument it cannot read, shown as `shown`: its
 * one-thread walk (see GrepArgs.oneThread) wraps the OS error. */
export function rootErrorText(shown: string, err: unknown, oneThread: boolean): string {
  const os = osErrorText(err);
  return oneThread ? `${shown}: IO error for operation on ${shown}: ${os}` : `${shown}: ${os}`;
}
