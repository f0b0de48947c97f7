/**
 * The `grep` command: parses rg's flags, loads the named paths into the
 * core, searches once and prints what `rg --sort path` prints.
 * @module
 */
import { resolve } from "node:path";
import { type GrepArgs, HELP, parseArgs, USAGE, UsageError } from "./args.ts";
import { CoreCorpus } from "./core.ts";
import { type GrepRequest, type OutputSpec, VERSION } from "./request.ts";
import { type SearchRoot, Walker } from "./walk.ts";

/** Where the command writes. */
export interface CommandIO {
  /** Directory relative paths are resolved against. */
  cwd: string;
  stdout: (bytes: Uint8Array) => void;
  stderr: (text: string) => void;
}

/** A {@link CommandIO} that keeps what is written, for callers that hand
 * the output on (the API, the daemon) instead of printing it. */
export function captureIO(cwd: string): { io: CommandIO; stdout(): Uint8Array; stderr(): string } {
  const chunks: Uint8Array[] = [];
  let stderr = "";
  return {
    io: { cwd, stdout: (b) => chunks.push(b), stderr: (t) => (stderr += t) },
    stdout() {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
      return out;
    },
    stderr: () => stderr,
  };
}

/** rg's hint after a newline-in-pattern error. */
const MULTILINE_HINT = "\n\nConsider enabling multiline mode with the --multiline flag " +
  "(or -U for short).\nWhen multiline mode is enabled, new line characters can be matched.";

/** rg's warning when filters left nothing to search in the current directory. */
const NOTHING_SEARCHED = "No files were searched, which means ripgrep probably applied " +
  "a filter you didn't expect.\nRunning with --debug will show why files are being skipped.\n";

/** The output format rg picks for these flags. */
export function outputSpec(a: GrepArgs): OutputSpec {
  if (a.json) return { kind: "json", line_number: a.lineNumber ?? true };
  const countMatches = (a.countMatches && !a.invert) || (a.count && a.onlyMatching);
  const count = (a.count && !a.onlyMatching) || (a.countMatches && a.invert);
  if (a.quiet) return { kind: "files_with_matches" };
  if (countMatches) return { kind: "count", matches: true };
  if (count) return { kind: "count", matches: false };
  if (a.filesWithMatches) return { kind: "files_with_matches" };
  if (a.filesWithoutMatch) return { kind: "files_without_match" };
  return { kind: "standard", line_number: a.lineNumber ?? false, only_matching: a.onlyMatching };
}

/** Builds the core's request from parsed flags and resolved roots. */
export function grepRequest(a: GrepArgs, roots: SearchRoot[], cwd: string): GrepRequest {
  const [before, after] = a.context > 0 ? [a.context, a.context] : [a.before, a.after];
  // rg counts the paths given (even missing ones): one file means no names.
  const singleFile = a.paths.length <= 1 && roots.length === 1 && roots[0].isFile;
  return {
    patterns: a.patterns,
    fixed_strings: a.fixedStrings,
    case: a.caseMode,
    word: a.word,
    line_regexp: a.lineRegexp,
    multiline: a.multiline,
    invert: a.invert,
    before,
    after,
    max_count: a.maxCount ?? null,
    output: outputSpec(a),
    with_filename: a.withFilename ?? !singleFile,
    roots: roots.map((r) => ({ path: r.path, display: r.display, is_file: r.isFile })),
    cwd,
    globs: a.globs,
    iglobs: a.iglobs,
    types: a.types,
    types_not: a.typesNot,
  };
}

/** Resolves PATH arguments; none means the current directory, printed
 * without a `./` prefix. */
export function searchRoots(paths: string[], cwd: string): SearchRoot[] {
  if (paths.length === 0) return [{ path: cwd, display: "", isFile: false }];
  return paths.map((p) => ({ path: resolve(cwd, p), display: p, isFile: false }));
}

/**
 * Runs one `grep` command line.
 * @returns rg's exit status: 0 match, 1 no match, 2 error.
 */
export function runGrep(argv: string[], io: CommandIO): number {
  let args: GrepArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${err.message}\n\n${USAGE}\n\nFor more information try --help\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(new TextEncoder().encode(HELP + "\n"));
    return 0;
  }
  if (args.version) {
    io.stdout(new TextEncoder().encode(`curserve ${VERSION} (ripgrep 13 compatible)\n`));
    return 0;
  }
  if (args.daemon !== undefined) {
    io.stderr("error: --daemon is handled by grep.ts; runGrep searches in-process\n");
    return 2;
  }
  const roots = searchRoots(args.paths, io.cwd);
  const corpus = new CoreCorpus();
  let walker: Walker | undefined;
  try {
    walker = new Walker(corpus, {
      hidden: args.hidden,
      noIgnore: args.noIgnore,
      cwd: io.cwd,
      globs: args.globs,
      iglobs: args.iglobs,
      types: args.types,
      typesNot: args.typesNot,
    });
    // Compile before reading files: a bad pattern should fail fast.
    if (!args.files && args.maxCount !== 0) {
      corpus.grep(JSON.stringify({ ...grepRequest(args, [], io.cwd), roots: [] })).free();
    }
    const report = walker.load(roots);
    return searchCorpus(args, corpus, roots, report.errors, io);
  } catch (err) {
    return reportError(err, io);
  } finally {
    walker?.free();
    corpus.free();
  }
}

/**
 * Runs parsed flags against a corpus that already holds the roots' files
 * (loaded for this command, or a workspace's), printing as rg would.
 * @param loadErrors rg-style messages for paths that could not be read.
 * @returns rg's exit status.
 */
export function searchCorpus(
  args: GrepArgs,
  corpus: CoreCorpus,
  roots: SearchRoot[],
  loadErrors: readonly string[],
  io: CommandIO,
): number {
  try {
    for (const e of loadErrors) io.stderr(e + "\n");
    const errored = loadErrors.length > 0;
    const request = grepRequest(args, roots, io.cwd);
    if (args.files) {
      const out = corpus.listFiles(JSON.stringify(request));
      io.stdout(out);
      return errored ? 2 : out.length > 0 ? 0 : 1;
    }
    if (args.maxCount === 0) return errored ? 2 : 1;
    const result = corpus.grep(JSON.stringify(request));
    const out = result.takeOutput();
    const { matched, searched } = result;
    result.free();
    if (!args.quiet) io.stdout(out);
    if (searched === 0 && args.paths.length === 0) {
      io.stderr(NOTHING_SEARCHED);
      return 2;
    }
    if (matched && (args.quiet || !errored)) return 0;
    return errored ? 2 : 1;
  } catch (err) {
    return reportError(err, io);
  }
}

/** Prints a core error (a bad pattern, glob or type) as rg does. */
function reportError(err: unknown, io: CommandIO): number {
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(message + (message.includes("is not allowed in a regex") ? MULTILINE_HINT : "") + "\n");
  return 2;
}
