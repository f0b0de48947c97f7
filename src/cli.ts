/**
 * The `grep` command: parses rg's flags, loads the named paths into the
 * core, searches once and prints what `rg --sort path` prints.
 * @module
 */
import { resolve } from "node:path";
import {
  type GrepArgs,
  HELP,
  loadPatternFiles,
  parseArgs,
  searchPatterns,
  USAGE,
  UsageError,
  ValueError,
  versionText,
} from "./args.ts";
import { CoreCorpus, typeList } from "./core.ts";
import type { GrepRequest, LineStyleSpec, OutputSpec } from "./request.ts";
import { type SearchRoot, Walker } from "./walk.ts";
import {
  type CommandIO,
  finishSearch,
  osErrorText,
  reportError,
  type Resume,
  type SearchPart,
} from "./output.ts";
import { NeedsRealRg, runRealRg } from "./fallback.ts";

/** Why a search that meets a file name that is not UTF-8 runs the real rg. */
export const NOT_UTF8_NAME = "a file name that is not UTF-8";

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
  // --column implies line numbers (an explicit -N still wins).
  const lineNumber = a.lineNumber ?? (a.column || a.vimgrep) ?? false;
  return { kind: "standard", line_number: lineNumber, only_matching: a.onlyMatching };
}

/**
 * Builds the core's request from parsed flags and resolved roots.
 * @param allRoots Every root of the command, when `roots` is a share of them.
 */
export function grepRequest(
  a: GrepArgs,
  roots: SearchRoot[],
  cwd: string,
  allRoots = roots,
): GrepRequest {
  const [before, after] = a.context > 0 ? [a.context, a.context] : [a.before, a.after];
  // rg counts the paths given (even missing ones): one file means no names.
  const singleFile = a.paths.length <= 1 && allRoots.length === 1 && allRoots[0].isFile;
  return {
    patterns: searchPatterns(a),
    ...(a.regexSizeLimit === undefined ? {} : { regex_size_limit: a.regexSizeLimit }),
    ...(a.dfaSizeLimit === undefined ? {} : { dfa_size_limit: a.dfaSizeLimit }),
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
    // --vimgrep names the file even when it is the only one.
    with_filename: a.withFilename ?? (a.vimgrep || !singleFile),
    roots: roots.map((r) => ({ path: r.path, display: r.display, is_file: r.isFile })),
    cwd,
    globs: a.globs,
    iglobs: a.iglobs,
    types: a.types,
    types_not: a.typesNot,
    ...(a.typeAdd.length || a.typeClear.length
      ? { type_add: a.typeAdd, type_clear: a.typeClear }
      : {}),
    ...(hasStyle(a) ? { style: lineStyle(a) } : {}),
  };
}

/**
 * What a file's output opens with when output came before it: a blank
 * line with `--heading` (and file names), else the context separator in
 * context mode (`--` unless changed). A shard's part, searched as if
 * output came before, may start with it; the join drops it where nothing
 * did (see {@link SearchPart.opener}).
 */
function opener(a: GrepArgs, withFilename: boolean): Uint8Array | undefined {
  if (a.heading && !a.vimgrep && withFilename) return new Uint8Array([10]);
  if (a.contextSeparator === null) return undefined;
  return Uint8Array.from((a.contextSeparator ?? "--") + "\n", (c) => c.charCodeAt(0));
}

/** Whether any flag changes rg's separators or line fields. */
function hasStyle(a: GrepArgs): boolean {
  return Boolean(
    a.nullPath || a.column || a.byteOffset || a.trim || a.includeZero || a.pathSeparator ||
      a.heading || a.vimgrep || a.maxColumns || a.text ||
      a.contextSeparator !== undefined || a.fieldMatch !== undefined ||
      a.fieldContext !== undefined,
  );
}

/** A binary string (one char per byte) as the byte values the core takes. */
const bytesOf = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** The core's `style` for these flags. */
export function lineStyle(a: GrepArgs): LineStyleSpec {
  return {
    null: a.nullPath ?? false,
    column: (a.column || a.vimgrep) ?? false,
    // --vimgrep wins over --heading, whichever comes first.
    heading: (a.heading && !a.vimgrep) ?? false,
    per_match: a.vimgrep ?? false,
    ...(a.maxColumns ? { max_columns: a.maxColumns } : {}),
    text: a.text ?? false,
    byte_offset: a.byteOffset ?? false,
    trim: a.trim ?? false,
    include_zero: a.includeZero ?? false,
    ...(a.pathSeparator ? { path_separator: bytesOf(a.pathSeparator) } : {}),
    ...(a.fieldMatch !== undefined ? { field_match: bytesOf(a.fieldMatch) } : {}),
    ...(a.fieldContext !== undefined ? { field_context: bytesOf(a.fieldContext) } : {}),
    ...(a.contextSeparator === null
      ? { no_context_separator: true }
      : a.contextSeparator !== undefined
      ? { context_separator: bytesOf(a.contextSeparator) }
      : {}),
  };
}

/** Resolves PATH arguments; none means the current directory, printed
 * without a `./` prefix. */
export function searchRoots(paths: string[], cwd: string): SearchRoot[] {
  if (paths.length === 0) return [{ path: cwd, display: "", isFile: false }];
  return paths.map((p) => ({ path: resolve(cwd, p), display: p, isFile: false }));
}

/**
 * Reads the `--ignore-file`s of a command (none with `--no-ignore-files`),
 * resolved against `cwd`.
 * @returns Their texts in order, and rg's message for each unreadable one
 * (rg names it and goes on without it).
 */
export function readIgnoreFiles(a: GrepArgs, cwd: string): { texts: string[]; errors: string[] } {
  const texts: string[] = [];
  const errors: string[] = [];
  if (a.noIgnoreFiles) return { texts, errors };
  for (const path of a.ignoreFiles) {
    try {
      texts.push(Deno.readTextFileSync(resolve(cwd, path)));
    } catch (err) {
      errors.push(`${path}: ${osErrorText(err)}`);
    }
  }
  return { texts, errors };
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
    io.stderr(
      err instanceof ValueError
        ? `${err.message}\n`
        : `${err.message}\n\n${USAGE}\n\nFor more information try --help\n`,
    );
    return 2;
  }
  if (args.help) {
    io.stdout(new TextEncoder().encode(HELP + "\n"));
    return 0;
  }
  if (args.fallback) return runRealRg(argv, io, args.fallback);
  if (args.version) {
    io.stdout(new TextEncoder().encode(versionText(args.shortVersion)));
    return 0;
  }
  if (args.typeList) {
    try {
      const request = JSON.stringify({ type_add: args.typeAdd, type_clear: args.typeClear });
      io.stdout(new TextEncoder().encode(typeList(request)));
      return 0;
    } catch (err) {
      return reportError(err, io);
    }
  }
  if (args.daemon !== undefined) {
    io.stderr("error: --daemon is handled by grep.ts; runGrep searches in-process\n");
    return 2;
  }
  const patternError = loadPatternFiles(args, io.cwd);
  if (patternError) {
    io.stderr(patternError + "\n");
    return 2;
  }
  const roots = searchRoots(args.paths, io.cwd);
  const ignoreFiles = readIgnoreFiles(args, io.cwd);
  const corpus = new CoreCorpus();
  let walker: Walker | undefined;
  try {
    // Compile before reading files: a bad pattern should fail fast. Then,
    // as rg 13 does, unreadable ignore files are named, then bad globs.
    if (!args.files && args.maxCount !== 0) {
      const filterless = {
        globs: [],
        iglobs: [],
        types: [],
        types_not: [],
        type_add: [],
        type_clear: [],
      };
      corpus.grep(JSON.stringify({ ...grepRequest(args, [], io.cwd), ...filterless, roots: [] }))
        .free();
    }
    if (!args.noMessages) { for (const m of ignoreFiles.errors) io.stderr(m + "\n"); }
    walker = new Walker(corpus, {
      oneThread: args.oneThread,
      hidden: args.hidden,
      noIgnore: args.noIgnore,
      noIgnoreVcs: args.noIgnoreVcs,
      noIgnoreExclude: args.noIgnoreExclude,
      noIgnoreDot: args.noIgnoreDot,
      noIgnoreParent: args.noIgnoreParent,
      noRequireGit: args.noRequireGit,
      maxDepth: args.maxDepth,
      maxFilesize: args.maxFilesize,
      ignoreFileTexts: ignoreFiles.texts,
      cwd: io.cwd,
      globs: args.globs,
      iglobs: args.iglobs,
      types: args.types,
      typesNot: args.typesNot,
      typeAdd: args.typeAdd,
      typeClear: args.typeClear,
      // A listing needs no contents: rg does not open the files either.
      namesOnly: args.files,
    });
    const report = walker.load(roots);
    // Names the walk cannot spell (or open) as rg does.
    if (walker.notUtf8.size) return runRealRg(argv, io, NOT_UTF8_NAME);
    return finishSearch(args, [searchPart(args, corpus, roots, io.cwd)], report.errors, io);
  } catch (err) {
    if (err instanceof NeedsRealRg) throw err;
    return reportError(err, io);
  } finally {
    try {
      walker?.free();
      corpus.free();
    } catch {
      // They lived in an instance that trapped (reported above): gone with it.
    }
  }
}

/**
 * Runs parsed flags against a corpus that already holds the roots' files.
 * @param shard One of several corpora splitting a workspace by path: answer
 * per root and as if output came before, so parts merge exactly.
 * @param maxBytes The caller keeps only this many bytes of the joined
 * output: the part may stop once its own output is past it (whatever comes
 * after it in the join is past it too).
 * @param extra Request fields the flags alone do not give (a workspace's
 * `--ignore-file` texts, which a fresh walk applies while loading instead).
 */
export function searchPart(
  args: GrepArgs,
  corpus: CoreCorpus,
  roots: SearchRoot[],
  cwd: string,
  shard = false,
  maxBytes?: number,
  extra: Partial<GrepRequest> = {},
  resume?: Resume,
): SearchPart {
  // A slice after a pause joins after the earlier ones, as a shard does.
  const part: SearchPart = {
    pieces: [],
    matched: false,
    searched: 0,
    separated: shard || !!resume,
  };
  const groups = shard ? roots.map((r) => [r]) : [roots];
  let printed = 0;
  try {
    for (const [g, group] of groups.entries()) {
      if (maxBytes !== undefined && printed > maxBytes) break;
      if (resume && g < resume.group) {
        part.pieces.push(new Uint8Array()); // done before the pause
        continue;
      }
      const resumed = resume?.group === g;
      const request: GrepRequest = {
        ...grepRequest(args, group, cwd, roots),
        ...extra,
        ...(maxBytes === undefined ? {} : { max_output: maxBytes - printed }),
        ...(resumed ? { resume_at: resume.file } : {}),
      };
      if (args.files) {
        const out = corpus.listFiles(JSON.stringify(request));
        part.pieces.push(out);
        part.matched ||= out.length > 0;
        continue;
      }
      if (args.maxCount === 0) continue;
      part.opener = opener(args, request.with_filename);
      const result = corpus.grep(JSON.stringify({ ...request, printed_before: part.separated }));
      part.pieces.push(result.takeOutput());
      printed += part.pieces.at(-1)!.length;
      part.matched ||= result.matched;
      part.searched += result.searched;
      const paused = result.resumeAt;
      result.free();
      // Paused for another request (only a daemon's worker asks that): the
      // rest is the next slice's, unless nothing more can change the answer.
      if (paused !== undefined && !(args.quiet && part.matched)) {
        part.resume = { group: g, file: paused };
        break;
      }
    }
  } catch (err) {
    part.error = err instanceof Error ? err.message : String(err);
  }
  return part;
}
