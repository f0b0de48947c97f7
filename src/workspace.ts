/**
 * {@link Workspace}: a directory tree read once into WebAssembly memory and
 * searched like rg searches it. Re-exported by mod.ts, the public API.
 * @module
 */
import { resolve } from "node:path";
import { type GrepArgs, loadPatternFiles, parseArgs } from "./args.ts";
import { readIgnoreFiles, runGrep, searchPart } from "./cli.ts";
import { captureIO, finishSearch, type Resume, type SearchPart, splitMissing } from "./output.ts";
import {
  CoreCorpus,
  coreEpoch,
  coreRestarting,
  globsRescue,
  importSketchFile,
  wasmMemoryBytes,
} from "./core.ts";
import { type GrepMatch, jsonMatches } from "./matches.ts";
import type { GrepRequest, OutputSpec } from "./request.ts";
import {
  hasNegation,
  type LoadReport,
  type PathRange,
  type SearchRoot,
  shownPath,
  Walker,
  walkOrder,
} from "./walk.ts";

/** How a workspace is loaded. */
export interface OpenOptions {
  /** Also load hidden files and directories (`--hidden`). */
  hidden?: boolean;
  /** Ignore `.gitignore`, `.ignore` and `.rgignore` (`--no-ignore`). */
  noIgnore?: boolean;
  /** Called every 1000 files (and at the end) while loading. */
  onProgress?: (progress: { files: number; bytes: number }) => void;
  /** Hold only the files in this share of the tree (one shard of a
   * workspace split across workers; see `planShards` in src/walk.ts). */
  range?: PathRange;
  /** Byte budget: a load that would hold more file bytes than this stops
   * and fails, naming the limit and the size reached (a `RangeError`);
   * {@link Workspace.buildSketches} then sketches only while files and
   * sketches together stay within it. Default: no limit. */
  maxBytes?: number;
  /** Files larger than this are skipped, as by rg's `--max-filesize`.
   * Default (and ceiling): 2 GiB - 1, the most linear memory can hold. */
  maxFileBytes?: number;
}

/** A search, in rg's terms. Paths are relative to the workspace root. */
export interface GrepOptions {
  /** One pattern, or several (like repeated `-e`). */
  pattern: string | string[];
  fixedStrings?: boolean;
  ignoreCase?: boolean;
  smartCase?: boolean;
  word?: boolean;
  lineRegexp?: boolean;
  invert?: boolean;
  multiline?: boolean;
  lineNumber?: boolean;
  /** Defaults to true, as for rg searching a directory. */
  withFilename?: boolean;
  onlyMatching?: boolean;
  count?: boolean;
  filesWithMatches?: boolean;
  filesWithoutMatch?: boolean;
  maxCount?: number;
  before?: number;
  after?: number;
  context?: number;
  globs?: string[];
  iglobs?: string[];
  types?: string[];
  typesNot?: string[];
  /** Files or directories to search (default: the whole workspace). */
  paths?: string[];
}

/** The outcome of {@link Workspace.grep}. */
export interface GrepResult {
  /** What `rg --sort path` prints for this search. */
  text: string;
  /** Whether anything matched (rg's exit status 0). */
  matched: boolean;
}

/** Sizes of a loaded workspace. */
export interface WorkspaceStats {
  files: number;
  /** Bytes of file contents held. */
  bytes: number;
  /** Bytes of the per-file n-gram sketches that let searches skip files. */
  sketchBytes: number;
  /** Bytes of WebAssembly memory in this process (shared by workspaces). */
  wasmMemoryBytes: number;
  /** Milliseconds the load took. */
  loadMs: number;
}

/** A corpus with the walker that filled it (kept for updates). */
interface Loaded {
  corpus: CoreCorpus;
  walker: Walker;
  report: LoadReport;
  loadMs: number;
  /** The core instance it lives in (see `coreEpoch` in src/core.ts). */
  epoch: number;
}

/** A `--files` listing (one path per line, in walk order) with `names`
 * added in their places. */
function withNames(listing: Uint8Array, names: string[]): Uint8Array {
  const text = new TextDecoder().decode(listing);
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  for (const name of names) {
    let [lo, hi] = [0, lines.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (walkOrder(lines[mid], name) < 0) lo = mid + 1;
      else hi = mid;
    }
    lines.splice(lo, 0, name);
  }
  return new TextEncoder().encode(lines.map((l) => l + "\n").join(""));
}

/** Walks `root` into a new corpus. */
function load(root: string, options: OpenOptions): Loaded {
  const started = performance.now();
  const corpus = new CoreCorpus();
  const walker = new Walker(corpus, {
    hidden: options.hidden ?? false,
    noIgnore: options.noIgnore ?? false,
    cwd: root,
    globs: [],
    iglobs: [],
    types: [],
    typesNot: [],
    range: options.range,
    maxBytes: options.maxBytes,
    maxFileBytes: options.maxFileBytes,
  }, options.onProgress && ((r) => r.files % 1000 === 0 && options.onProgress!(r)));
  let report;
  try {
    report = walker.load([{ path: root, display: "", isFile: false }]);
  } catch (err) {
    walker.free();
    corpus.free();
    throw err;
  }
  // In walk order and indexed now, not in the first search after the open.
  corpus.prepare();
  options.onProgress?.(report);
  return { corpus, walker, report, loadMs: performance.now() - started, epoch: coreEpoch() };
}

/** A directory tree loaded into memory and searched like rg searches it. */
export class Workspace {
  #loaded: Loaded;
  #options: OpenOptions;
  #closed = false;

  private constructor(readonly root: string, options: OpenOptions, loaded: Loaded) {
    this.#options = options;
    this.#loaded = loaded;
  }

  /**
   * Reads every file rg would search under `root` into memory, applying
   * `.gitignore` (in git repositories), `.ignore`, `.rgignore`,
   * `.git/info/exclude` and skipping hidden files.
   * @param root Directory to load.
   * @param options What to load and how to report progress.
   * @returns The loaded workspace.
   * @throws {TypeError} When `root` is not a readable directory.
   * @throws {RangeError} When the files exceed `options.maxBytes`.
   */
  static open(root: string, options: OpenOptions = {}): Promise<Workspace> {
    try {
      return Promise.resolve(Workspace.openSync(root, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * {@link open}, synchronously: every file-system access happens before it
   * returns (the daemon's workers run it with a user's rights, which hold
   * only for synchronous calls; see src/daemon/credentials.ts).
   * @throws {TypeError} When `root` is not a readable directory.
   */
  static openSync(root: string, options: OpenOptions = {}): Workspace {
    const abs = resolve(root);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(abs);
    } catch (err) {
      throw new TypeError(`Cannot open workspace ${abs}: ${(err as Error).message}`);
    }
    if (!info.isDirectory) throw new TypeError(`Cannot open workspace ${abs}: not a directory`);
    return new Workspace(abs, options, load(abs, options));
  }

  /**
   * Makes changes on disk visible: re-reads the given paths (files or
   * directories, absolute or relative to the root; created, changed or
   * deleted). A changed ignore file reloads the whole workspace, since it
   * can change what every path means.
   * @returns How many paths were applied.
   * @throws {TypeError} When the workspace is closed.
   */
  refresh(paths: string[]): number {
    this.#live();
    const inside = paths.map((p) => resolve(this.root, p)).filter((p) =>
      p === this.root || p.startsWith(this.root + "/")
    );
    // The root itself (`""`, `"."`): read it all again. The walker's
    // update would find the root outside every walked directory and drop
    // everything (a `touch` of the root emptied the workspace).
    if (inside.includes(this.root)) {
      this.reload();
      return inside.length;
    }
    for (const abs of inside) {
      if (this.#loaded.walker.update(abs) === "reload") {
        this.reload();
        break;
      }
    }
    return inside.length;
  }

  /**
   * Builds per-file n-gram sketches, which let searches skip files that
   * cannot match (rare identifiers then take a fraction of a full scan).
   * Every file first gets a quick sketch (its 4-grams only, about 2–4 ns
   * per byte held), then its full one (about 12–20 ns per byte), so this is
   * left out of {@link open}; the daemon builds them in the background.
   * Files added later need another call.
   * @param maxBytes Stop after sketching about this many bytes of files.
   * @returns How many files still have no sketch.
   */
  buildSketches(maxBytes = Infinity): number {
    const corpus = this.#live();
    const budget = this.#options.maxBytes;
    if (budget !== undefined) {
      // Sketches take about half the bytes they cover (a little less).
      const room = budget - corpus.byteCount - corpus.sketchBytes;
      if (room <= 0) return maxBytes === 0 ? corpus.buildSketches(0) : 0;
      maxBytes = Math.min(maxBytes, room * 2);
    }
    return corpus.buildSketches(maxBytes);
  }

  /**
   * The sketches built so far, each saved with its file's length and
   * content hash (core-wasm/src/sketch_file.rs), for
   * {@link importSketches} in a later process: the part for the files
   * from the `from`-th holding about `budgetBytes` of file bytes (all of
   * them by default). Parts asked for in turn, each `from` the last one's
   * `next`, make the whole, the last one `done`; taken out a few MB at a
   * time, they hold up no search for long.
   * @throws {TypeError} When the workspace is closed.
   */
  exportSketches(from = 0, budgetBytes = Infinity): {
    bytes: Uint8Array;
    next: number;
    done: boolean;
  } {
    const corpus = this.#live();
    const next = corpus.sketchPartEnd(from, Math.min(budgetBytes, 2 ** 32 - 1));
    const bytes = corpus.exportSketches(from, next - from);
    return { bytes, next, done: next >= corpus.fileCount };
  }

  /**
   * Restores sketches saved by {@link exportSketches} onto the files that
   * still have the saved length and content hash; the others keep none
   * (and are built as usual).
   * @returns How many were restored, saved for files whose bytes changed,
   * and saved for paths not held (or already sketched).
   * @throws {Error} When the saved bytes are refused as a whole (truncated,
   * corrupt, saved by another build), saying why.
   */
  importSketches(saved: Uint8Array): { restored: number; changed: number; other: number } {
    const [restored, changed, other] = this.#live().importSketches(saved);
    return { restored, changed, other };
  }

  /**
   * {@link importSketches} of the bytes of the file at `path`, read
   * straight into the core's memory (a saved shard's file is tens of MB).
   * @throws {Error} As {@link importSketches}, and when the file cannot be read.
   */
  importSketchFile(path: string): { restored: number; changed: number; other: number } {
    const [restored, changed, other] = importSketchFile(this.#live(), path);
    return { restored, changed, other };
  }

  /** Loads the whole tree afresh and swaps it in. */
  reload(): void {
    const fresh = load(this.root, this.#options);
    this.#free();
    this.#loaded = fresh;
  }

  /**
   * The bytes of a file the workspace holds (absolute or relative path),
   * or undefined when it holds no such file.
   * @throws {TypeError} When the workspace is closed.
   */
  readFile(path: string): Uint8Array | undefined {
    return this.#live().readFile(resolve(this.root, path));
  }

  /** Counts and sizes of what is loaded. */
  stats(): WorkspaceStats {
    return {
      files: this.#live().fileCount,
      bytes: this.#live().byteCount,
      sketchBytes: this.#live().sketchBytes,
      wasmMemoryBytes: wasmMemoryBytes(),
      loadMs: this.#loaded.loadMs,
    };
  }

  /** Paths that could not be read while loading, as rg reports them. */
  get loadErrors(): readonly string[] {
    return this.#loaded.report.errors;
  }

  /**
   * Searches the workspace.
   * @param options The pattern and rg options.
   * @returns rg's output text and whether anything matched.
   * @throws {SyntaxError} For an invalid pattern (message as rg prints it).
   */
  grep(options: GrepOptions): GrepResult {
    const { output, matched } = this.#run(this.#request(options, this.#outputFor(options)));
    return { text: new TextDecoder().decode(output), matched };
  }

  /**
   * Searches the workspace and returns each matching line as data.
   * Output options (count, files, context) are ignored.
   * @throws {SyntaxError} For an invalid pattern.
   */
  matches(options: GrepOptions): GrepMatch[] {
    const { output } = this.#run(this.#request(options, { kind: "json", line_number: true }));
    return jsonMatches(output).matches;
  }

  /**
   * Runs an rg command line (flags, pattern, paths) against the loaded
   * files, as if run from `options.cwd` (default: the workspace root; a
   * directory inside it). Paths outside the workspace find nothing. A
   * command that reaches files the load skipped (a `-g` that brings back
   * ignored or hidden files, a path inside an ignored directory) runs from
   * disk instead, so the answer is still rg's.
   * @returns The bytes rg would print, its messages and its exit status.
   * @throws {TypeError} When the workspace is closed.
   */
  run(
    argv: string[],
    options: { cwd?: string } = {},
  ): { stdout: Uint8Array; stderr: string; code: number } {
    const cwd = resolve(this.root, options.cwd ?? ".");
    const out = captureIO(cwd);
    let args;
    try {
      args = parseArgs(argv);
    } catch (err) {
      return { stdout: new Uint8Array(), stderr: (err as Error).message + "\n", code: 2 };
    }
    // Like rg, name paths that do not exist and search the others.
    const { existing, missing } = splitMissing(args.paths, cwd, args.oneThread);
    const part = this.searchPart(args, existing, cwd);
    // What the workspace skipped is read from disk, as the CLI does.
    const code = part.fromDisk
      ? runGrep(argv, out.io)
      : finishSearch(args, [part], missing, out.io);
    return { stdout: out.stdout(), stderr: out.stderr(), code };
  }

  /**
   * This workspace's answer to parsed flags, unprinted: what `finishSearch`
   * (src/output.ts) prints, alone or joined with other shards' answers.
   * @param paths The PATH arguments that exist, relative to `cwd`.
   * @param shard The workspace holds one share of a split tree (see
   * {@link OpenOptions.range}): answer so that shares join exactly.
   * @param maxBytes Only this many bytes of the (joined) output are kept:
   * the search may stop once past them.
   * @param resume Where an earlier slice of the same search paused.
   */
  searchPart(
    args: GrepArgs,
    paths: string[],
    cwd: string,
    shard = false,
    maxBytes?: number,
    resume?: Resume,
  ): SearchPart {
    const fromDisk = { pieces: [], matched: false, searched: 0, separated: shard, fromDisk: true };
    // Not a search of files: the command itself answers (or the real rg).
    if (args.fallback || args.version || args.help || args.typeList) return fromDisk;
    if (args.patternFiles.length) {
      args = { ...args, patterns: [...args.patterns] };
      if (loadPatternFiles(args, cwd)) return fromDisk; // the CLI names it
    }
    // A walk that stops earlier or skips more (or, without git, applies
    // more rules) is the disk's to answer.
    if (args.maxDepth !== undefined || args.maxFilesize !== undefined || args.noRequireGit) {
      return fromDisk;
    }
    const roots = args.paths.length > 0 && paths.length === 0 ? [] : this.#roots(paths, cwd);
    const ignoreFiles = this.#ignoreFilesInMemory(args, roots, cwd);
    if (ignoreFiles === undefined) return fromDisk;
    const reached = this.#reachesUnreadable(roots) || this.#reachesSkipped(args, roots, cwd);
    if (reached === true) return fromDisk;
    const extra = ignoreFiles.length ? { ignore_files: ignoreFiles } : {};
    const part = searchPart(args, this.#live(), roots, cwd, shard, maxBytes, extra, resume);
    if (reached.length && !part.error && !resume) {
      part.pieces[0] = withNames(part.pieces[0] ?? new Uint8Array(), reached);
      part.matched = true;
    }
    return part;
  }

  /** Files rg would search, relative to the root, in path order. */
  files(
    options: Pick<GrepOptions, "globs" | "iglobs" | "types" | "typesNot" | "paths"> = {},
  ): string[] {
    const request = this.#request({ pattern: "", ...options }, { kind: "files_with_matches" });
    const text = new TextDecoder().decode(this.#live().listFiles(JSON.stringify(request)));
    return text === "" ? [] : text.slice(0, -1).split("\n");
  }

  /** Releases the memory holding the files. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#free();
  }

  #free(): void {
    try {
      this.#loaded.walker.free();
      this.#loaded.corpus.free();
    } catch {
      // It lived in an instance that trapped: nothing left to free there.
    }
  }

  /** The corpus, or an error once the workspace is closed. After the core
   * trapped, the files are read again into the fresh instance. */
  #live(): CoreCorpus {
    if (this.#closed) throw new TypeError(`Workspace ${this.root} is closed`);
    if (coreRestarting()) {
      throw new Error(`the search core is restarting after a failure; try again`);
    }
    if (this.#loaded.epoch !== coreEpoch()) this.reload();
    return this.#loaded.corpus;
  }

  /**
   * The `--ignore-file` texts to filter the held files with: an ignore
   * file only takes files away, so the held files answer, unless (then
   * undefined: answer from disk) one cannot be read (rg names it), one has
   * a `!` rule (which may bring back a hidden file), or an ignore file the
   * load applied at or around a root has one (a file it whitelists stays,
   * whatever the ignore file says; the walk alone knows which).
   */
  #ignoreFilesInMemory(args: GrepArgs, roots: SearchRoot[], cwd: string): string[] | undefined {
    if (args.noIgnoreFiles || args.ignoreFiles.length === 0) return [];
    const { texts, errors } = readIgnoreFiles(args, cwd);
    if (errors.length || texts.some(hasNegation)) return undefined;
    for (const dir of this.#loaded.walker.negatingDirs) {
      const inside = (a: string, b: string) =>
        a === b || a.startsWith(b.endsWith("/") ? b : b + "/");
      if (roots.some((r) => inside(dir, r.path) || inside(r.path, dir))) return undefined;
    }
    return texts;
  }

  /**
   * Whether the command reaches files the load skipped (ignored or hidden),
   * which only the disk can answer: `--hidden` or `--no-ignore` beyond the
   * workspace's own, a root at or inside a skipped entry (rg searches what
   * it is pointed at), or `-g`/`--iglob`/`-t` filters that bring a skipped
   * entry back, as rg's overrides do.
   * @returns true (search from disk), or the printed paths of skipped files
   * to list besides the held ones: a `--files` listing from one directory
   * whose filters bring back files only (no directory to walk) needs their
   * names, not the disk.
   */
  #reachesSkipped(args: GrepArgs, roots: SearchRoot[], cwd: string): true | string[] {
    const skipped = this.#loaded.walker.skipped;
    if (skipped.size === 0) return [];
    const { hidden = false, noIgnore = false } = this.#options;
    if ((args.hidden && !hidden) || (args.noIgnore && !noIgnore)) return true;
    // Fewer ignore files than the load applied bring skipped files back.
    const fewerRules = args.noIgnoreVcs || args.noIgnoreExclude || args.noIgnoreDot ||
      args.noIgnoreParent;
    if (fewerRules && !noIgnore) return true;
    for (const root of roots) {
      for (let p: string = root.path; p.startsWith(this.root); p = p.slice(0, p.lastIndexOf("/"))) {
        if (skipped.has(p)) return true;
        if (p === this.root) break;
      }
    }
    if (!args.globs.length && !args.iglobs.length && !args.types.length) return [];
    const request = JSON.stringify({
      cwd,
      globs: args.globs,
      iglobs: args.iglobs,
      types: args.types,
      types_not: args.typesNot,
      type_add: args.typeAdd,
      type_clear: args.typeClear,
    });
    const rescued: { shown: string; isDir: boolean }[] = [];
    for (const root of roots) {
      if (root.isFile) continue;
      const prefix = root.path.endsWith("/") ? root.path : root.path + "/";
      const below: { shown: string; isDir: boolean; kind: number }[] = [];
      for (const [abs, entry] of skipped) {
        if (!abs.startsWith(prefix)) continue;
        below.push({
          shown: shownPath(root.display, abs.slice(prefix.length)),
          isDir: entry.isDir,
          kind: (entry.isDir ? 1 : 0) | (entry.hiddenOnly ? 2 : 0),
        });
      }
      if (below.length === 0) continue;
      let verdicts: Uint8Array;
      try {
        verdicts = globsRescue(
          request,
          root.display,
          below.map((e) => e.shown).join("\0"),
          Uint8Array.from(below, (e) => e.kind),
        );
      } catch {
        return true; // a bad glob: the CLI reports it as rg would
      }
      below.forEach((e, i) => verdicts[i] && rescued.push(e));
    }
    if (rescued.length === 0) return [];
    const namesWillDo = args.files && roots.length <= 1 && !rescued.some((e) => e.isDir) &&
      !args.nullPath && !args.pathSeparator;
    return namesWillDo ? rescued.map((e) => e.shown) : true;
  }

  /** Whether a search of `roots` reaches a file or directory the load
   * could not read: rg names each in an error and exits 2 (and `--files`
   * lists an unreadable file's name), so only the disk answers exactly. */
  #reachesUnreadable(roots: SearchRoot[]): boolean {
    const unreadable = this.#loaded.walker.unreadable;
    if (unreadable.size === 0) return false;
    for (const u of unreadable) {
      for (const { path } of roots) {
        if (u === path || u.startsWith(path + "/") || path.startsWith(u + "/")) return true;
      }
    }
    return false;
  }

  /** Search roots for paths given relative to `cwd` (default: the root). */
  #roots(paths: string[] | undefined, cwd = this.root): SearchRoot[] {
    if (!paths || paths.length === 0) return [{ path: cwd, display: "", isFile: false }];
    return paths.map((p) => {
      const path = resolve(cwd, p);
      return { path, display: p, isFile: this.#live().hasFile(path) };
    });
  }

  #outputFor(o: GrepOptions): OutputSpec {
    if (o.count) return { kind: "count", matches: o.onlyMatching ?? false };
    if (o.filesWithMatches) return { kind: "files_with_matches" };
    if (o.filesWithoutMatch) return { kind: "files_without_match" };
    return {
      kind: "standard",
      line_number: o.lineNumber ?? false,
      only_matching: o.onlyMatching ?? false,
    };
  }

  #request(o: GrepOptions, output: OutputSpec): GrepRequest {
    const context = o.context ?? 0;
    return {
      patterns: Array.isArray(o.pattern) ? o.pattern : [o.pattern],
      fixed_strings: o.fixedStrings ?? false,
      case: o.ignoreCase ? "insensitive" : o.smartCase ? "smart" : "sensitive",
      word: o.word ?? false,
      line_regexp: o.lineRegexp ?? false,
      multiline: o.multiline ?? false,
      invert: o.invert ?? false,
      before: context > 0 ? context : o.before ?? 0,
      after: context > 0 ? context : o.after ?? 0,
      max_count: o.maxCount ?? null,
      output,
      with_filename: o.withFilename ?? true,
      roots: this.#roots(o.paths).map((r) => ({
        path: r.path,
        display: r.display,
        is_file: r.isFile,
      })),
      cwd: this.root,
      globs: o.globs ?? [],
      iglobs: o.iglobs ?? [],
      types: o.types ?? [],
      types_not: o.typesNot ?? [],
    };
  }

  #run(request: GrepRequest): { output: Uint8Array; matched: boolean } {
    let result;
    try {
      result = this.#live().grep(JSON.stringify(request));
    } catch (err) {
      throw new SyntaxError((err as Error).message);
    }
    try {
      return { output: result.takeOutput(), matched: result.matched };
    } finally {
      result.free();
    }
  }
}
