/**
 * Walks directories the way ripgrep does and reads every file it would
 * search into a corpus. Directory listing and file reading happen here;
 * which entries to keep (ignore files, globs, types, hidden names) is decided
 * by the core, from the ignore-file text this module hands it.
 * @module
 */
import { resolve } from "node:path";
import { CoreCorpus, CoreWalkRules, OverBudget, readFileInto, SkippedFile } from "./core.ts";
import { osErrorText, rootErrorText } from "./output.ts";

/** What the walk skips and selects. */
export interface WalkOptions {
  /** rg would walk with one thread (GrepArgs.oneThread): its messages. */
  oneThread?: boolean;
  /** Search hidden files and directories (`--hidden`). */
  hidden: boolean;
  /** Do not read ignore files (`--no-ignore`). */
  noIgnore: boolean;
  /** Skip `.gitignore` and `.git/info/exclude` (`--no-ignore-vcs`). */
  noIgnoreVcs?: boolean;
  /** Skip `.git/info/exclude` (`--no-ignore-exclude`). */
  noIgnoreExclude?: boolean;
  /** Skip `.ignore` and `.rgignore` (`--no-ignore-dot`). */
  noIgnoreDot?: boolean;
  /** Skip the ignore files of the roots' parent directories
   * (`--no-ignore-parent`). */
  noIgnoreParent?: boolean;
  /** `.gitignore` files apply outside git repositories too
   * (`--no-require-git`). */
  noRequireGit?: boolean;
  /** Walk at most this deep below a directory root (`--max-depth`). */
  maxDepth?: number;
  /** Skip walked files larger than this many bytes (`--max-filesize`). */
  maxFilesize?: number;
  /** The text of each `--ignore-file`, in command-line order: rules below
   * every other ignore file, matched against paths as printed. */
  ignoreFileTexts?: string[];
  /** Directory that globs containing a slash are anchored to. */
  cwd: string;
  /** `-g` globs, `!` to exclude. */
  globs: string[];
  /** `--iglob` globs, matched case-insensitively. */
  iglobs: string[];
  /** `-t` file types to include. */
  types: string[];
  /** `-T` file types to exclude. */
  typesNot: string[];
  /** `--type-add` definitions and `--type-clear` names. */
  typeAdd?: string[];
  typeClear?: string[];
  /** Read only the files in this share of the tree (a workspace shard). */
  range?: PathRange;
  /** Instead of reading files, hand each path to this (planning shards). */
  list?: (abs: string) => void;
  /** Hold each file's name but not its contents (enough for `--files`). */
  namesOnly?: boolean;
  /** Skip files larger than this, as rg's `--max-filesize` does. */
  maxFileBytes?: number;
  /** Stop the load (throwing {@link LoadLimitError}) rather than hold more
   * than this many bytes of files. */
  maxBytes?: number;
}

/** A load stopped because the files would take more than its byte budget. */
export class LoadLimitError extends RangeError {
  constructor(readonly limit: number, readonly reached: number, readonly files: number) {
    super(
      `loading stopped at the byte budget of ${limit} bytes: ${files} files held ${reached} bytes and the next needed more`,
    );
  }
}

/** A contiguous share of a tree in {@link walkOrder}: `from` inclusive, `to`
 * exclusive, either open. */
export interface PathRange {
  from?: string;
  to?: string;
}

const utf8 = new TextEncoder();

/**
 * Orders absolute paths as the core keeps files, which is the order of rg's
 * `--sort path` walk: byte by byte, `/` before every other byte, so `a/b`
 * sorts before `a.txt` (the core's `walk_order`).
 */
export function walkOrder(a: string, b: string): number {
  return compareBytes(walkKey(a), walkKey(b));
}

/** A path's UTF-8 bytes with `/` as 0: byte order on these is walk order. */
function walkKey(path: string): Uint8Array {
  const key = utf8.encode(path);
  for (let i = 0; i < key.length; i++) if (key[i] === 47) key[i] = 0;
  return key;
}

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** Whether `path` lies in `range`. */
function inRange(path: string, range: PathRange): boolean {
  return (range.from === undefined || walkOrder(range.from, path) <= 0) &&
    (range.to === undefined || walkOrder(path, range.to) < 0);
}

/** Whether no file below directory `dir` can lie in `range`: in walk order
 * a directory's files follow `dir/` without a break, and `/` sorts first. */
function outsideRange(dir: string, range: PathRange): boolean {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  const before = range.from !== undefined && !range.from.startsWith(prefix) &&
    walkOrder(prefix, range.from) < 0;
  const after = range.to !== undefined && walkOrder(prefix, range.to) >= 0;
  return before || after;
}

/** A place to search, in command-line order. */
export interface SearchRoot {
  /** Absolute path. */
  path: string;
  /** The path as printed (empty for the implicit current directory). */
  display: string;
  /** Named directly as a file: never filtered. */
  isFile: boolean;
}

/** An entry the walk skipped: by an ignore rule (or a glob or type of the
 * walk's own), or only for its hidden name. A request's globs may bring it
 * back, as rg's do (see `globsRescue` in the core). */
export interface SkippedEntry {
  isDir: boolean;
  hiddenOnly: boolean;
}

/** What a load did. */
export interface LoadReport {
  files: number;
  bytes: number;
  /** rg-style messages for paths that could not be read. */
  errors: string[];
}

const IGNORE_NAMES = [".rgignore", ".ignore", ".gitignore"] as const;

/** The core's verdicts on a directory entry (`CoreWalkRules.keepEntries`). */
const KEEP = 1;
const SKIP_HIDDEN = 2;

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** A path below a search root as rg prints it: `rel` after the root's
 * printed path (none for the implicit current directory). */
export function shownPath(rootDisplay: string, rel: string): string {
  return rootDisplay === "" ? rel : joinPath(rootDisplay, rel);
}

function parentDir(path: string): string | null {
  if (path === "/") return null;
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function readText(path: string): string {
  try {
    // An ignore file that is a FIFO would block the read forever.
    if (!Deno.statSync(path).isFile) return "";
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Whether ignore-file text has a whitelist (`!`) rule. */
export function hasNegation(text: string): boolean {
  return /^!/m.test(text);
}

/**
 * The `info/exclude` of the repository whose `.git` is in `dir`: in a
 * linked worktree (or a submodule) `.git` is a file naming the git
 * directory (`gitdir: PATH`), whose `commondir` names the main one, where
 * `info/exclude` lives, as git and rg read it.
 * @param cwd Where rg 13 resolves a relative `gitdir:` from.
 */
function gitExclude(dir: string, cwd: string): string {
  const dotGit = joinPath(dir, ".git");
  let gitDir = dotGit;
  try {
    if (Deno.statSync(dotGit).isFile) {
      const m = /^gitdir: (.*)$/m.exec(Deno.readTextFileSync(dotGit));
      if (!m) return "";
      // As rg 13 does, a relative gitdir is taken from the working
      // directory, not from `dir` (git itself writes absolute ones).
      gitDir = resolve(cwd, m[1].trim());
      const common = readText(joinPath(gitDir, "commondir")).trim();
      if (common) gitDir = resolve(gitDir, common);
    }
  } catch {
    return "";
  }
  return readText(joinPath(gitDir, "info/exclude"));
}

interface Entry {
  name: string;
  isDir: boolean;
}

/** Reads the walker-relevant entries of a directory: files and directories,
 * not symbolic links (rg does not follow them), in name byte order, so the
 * walk meets them as rg's `--sort path` walk does (what it cannot read is
 * reported in that order, not the file system's). */
function listDir(abs: string): { entries: Entry[]; names: Set<string>; notUtf8: string[] } {
  const keyed: { entry: Entry; key: Uint8Array }[] = [];
  const names = new Set<string>();
  const notUtf8: string[] = [];
  for (const e of Deno.readDirSync(abs)) {
    if (isNotUtf8(abs, e.name)) {
      notUtf8.push(joinPath(abs, e.name));
      continue;
    }
    names.add(e.name);
    if (e.isSymlink) continue;
    if (e.isDirectory || e.isFile) {
      keyed.push({ entry: { name: e.name, isDir: e.isDirectory }, key: utf8.encode(e.name) });
    }
  }
  keyed.sort((a, b) => compareBytes(a.key, b.key));
  return { entries: keyed.map((k) => k.entry), names, notUtf8 };
}

/** Whether the entry `name` of `dir` was named in bytes that are not UTF-8:
 * Deno hands such a name over with U+FFFD in their place, a name under
 * which nothing is found. */
function isNotUtf8(dir: string, name: string): boolean {
  if (!name.includes("\uFFFD")) return false;
  try {
    Deno.lstatSync(joinPath(dir, name));
    return false; // a real U+FFFD in the name
  } catch {
    return true;
  }
}

/** Loads files into a corpus, walking directories as rg would. */
export class Walker {
  #rules: CoreWalkRules;
  #opts: WalkOptions;
  /** Rule levels of parent directories of roots. */
  #levels = new Map<string, number>();
  /** Rule levels (and printed paths) of the directories walked, for updates. */
  #walked = new Map<string, { level: number; shown: string }>();
  #report: LoadReport = { files: 0, bytes: 0, errors: [] };
  #onFile?: (report: LoadReport) => void;
  /** What the walk skipped, by absolute path. */
  readonly skipped = new Map<string, SkippedEntry>();
  /** Files and directories the walk could not read (with the rights it
   * ran with): rg reports each one a search reaches and exits 2, so such
   * a search is answered from disk. */
  readonly unreadable = new Set<string>();
  /** Entries of walked directories whose names are not UTF-8 (as Deno
   * spells them, with U+FFFD): the walk cannot open or name them as rg
   * does, so a search that reaches one is the real rg's (see
   * src/cli.ts, `NOT_UTF8_NAME`). They count as unreadable too. */
  readonly notUtf8 = new Set<string>();
  /** The level above "/" with `--no-require-git`. */
  #noGitTop?: number;

  constructor(
    private corpus: CoreCorpus,
    opts: WalkOptions,
    onFile?: (report: LoadReport) => void,
  ) {
    this.#opts = opts;
    this.#onFile = onFile;
    this.#rules = new CoreWalkRules(JSON.stringify({
      hidden: opts.hidden,
      no_ignore: opts.noIgnore,
      cwd: opts.cwd,
      globs: opts.globs,
      iglobs: opts.iglobs,
      types: opts.types,
      types_not: opts.typesNot,
      ignore_files: opts.ignoreFileTexts ?? [],
      type_add: opts.typeAdd ?? [],
      type_clear: opts.typeClear ?? [],
    }));
  }

  /** Directories whose ignore files hold a `!` rule: a file kept by one
   * may still be kept where a `--ignore-file` would drop it (an ignore
   * file's whitelist outranks it), which only a walk can tell. */
  readonly negatingDirs = new Set<string>();

  /** Frees the core's rule tables. */
  free(): void {
    this.#rules.free();
  }

  /** Loads every root; returns counts and per-path errors. */
  load(roots: SearchRoot[]): LoadReport {
    for (const root of roots) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(root.path);
      } catch (err) {
        this.#report.errors.push(rootErrorText(root.display || "./", err, !!this.#opts.oneThread));
        continue;
      }
      if (info.isDirectory) {
        root.isFile = false;
        this.#walk(root.path, root.display, this.#ancestorLevel(parentDir(root.path)), 0);
      } else {
        root.isFile = true;
        this.#readFile(root.path, root.display, false);
      }
    }
    return this.#report;
  }

  /** The ignore rules of a root's parent directories (rg reads those too). */
  #ancestorLevel(dir: string | null): number {
    if (this.#opts.noIgnore) return -1;
    if (dir === null) {
      // Without git required, rg counts every directory as inside a
      // repository but none as its top: a rule-less level above "/" that
      // has `.git` says the first, and stops nothing.
      if (!this.#opts.noRequireGit) return -1;
      this.#noGitTop ??= this.#rules.addDir(-1, "", "", "", "", "", true);
      return this.#noGitTop;
    }
    const known = this.#levels.get(dir);
    if (known !== undefined) return known;
    const parent = this.#ancestorLevel(parentDir(dir));
    let names: Set<string>;
    try {
      names = listDir(dir).names;
    } catch {
      names = new Set();
    }
    // --no-ignore-parent drops the parents' rules, not their `.git`: a
    // repository above the root still makes .gitignore files count.
    const level = this.#opts.noIgnoreParent
      ? this.#rules.addDir(
        parent,
        dir,
        "",
        "",
        "",
        "",
        names.has(".git") && !this.#opts.noRequireGit,
      )
      : this.#addLevel(parent, dir, names);
    this.#levels.set(dir, level);
    return level;
  }

  #addLevel(parent: number, dir: string, names: Set<string>): number {
    const hasGit = names.has(".git") && !this.#opts.noRequireGit;
    if (this.#opts.noIgnore) return this.#rules.addDir(parent, dir, "", "", "", "", hasGit);
    const { noIgnoreVcs, noIgnoreExclude, noIgnoreDot } = this.#opts;
    const text = (name: string, skip?: boolean) =>
      !skip && names.has(name) ? readText(joinPath(dir, name)) : "";
    // rg 13's --no-ignore-dot leaves .rgignore (its own file) in force.
    const rgignore = text(".rgignore");
    const ignore = text(".ignore", noIgnoreDot);
    const gitignore = text(".gitignore", noIgnoreVcs);
    const exclude = names.has(".git") && !noIgnoreVcs && !noIgnoreExclude
      ? gitExclude(dir, this.#opts.cwd)
      : "";
    if ([rgignore, ignore, gitignore, exclude].some(hasNegation)) this.negatingDirs.add(dir);
    return this.#rules.addDir(parent, dir, rgignore, ignore, gitignore, exclude, hasGit);
  }

  /** @param depth How far below its root `abs` is (0: the root). */
  #walk(abs: string, shown: string, parent: number, depth = 0): void {
    let listing;
    try {
      listing = listDir(abs);
    } catch (err) {
      this.#report.errors.push(`${shown || "./"}: ${osErrorText(err)}`);
      this.unreadable.add(abs);
      return;
    }
    const level = this.#addLevel(parent, abs, listing.names);
    this.#walked.set(abs, { level, shown });
    for (const path of listing.notUtf8) {
      this.notUtf8.add(path);
      this.unreadable.add(path);
    }
    const { entries } = listing;
    if (entries.length === 0 || depth >= (this.#opts.maxDepth ?? Infinity)) return;
    const keep = this.#rules.keepEntries(
      level,
      abs,
      shown,
      entries.map((e) => e.name).join("\0"),
      Uint8Array.from(entries, (e) => (e.isDir ? 1 : 0)),
    );
    entries.forEach((e, i) => {
      const childAbs = joinPath(abs, e.name);
      const childShown = shownPath(shown, e.name);
      if (keep[i] !== KEEP) {
        this.#skip(childAbs, e.isDir, keep[i] === SKIP_HIDDEN);
        return;
      }
      if (e.isDir) {
        // A shard need not list directories whose files are all another's.
        const range = this.#opts.range;
        if (!range || !outsideRange(childAbs, range)) {
          this.#walk(childAbs, childShown, level, depth + 1);
        }
      } else this.#readFile(childAbs, childShown, true);
    });
  }

  /**
   * Brings one absolute path up to date after it changed on disk: reads a
   * new or changed file the walk would keep, walks a new directory, forgets
   * what was deleted or is now filtered out.
   * @returns "ok", or "reload" when an ignore file changed (rules differ
   * from then on, so the caller should load afresh).
   */
  update(abs: string): "ok" | "reload" {
    // Inside a directory the walk has not seen (new, or skipped)? Then the
    // outermost such directory is what changed.
    for (let dir = parentDir(abs); dir !== null && !this.#walked.has(dir);) {
      const up = parentDir(dir);
      if (up === null || !this.#walked.has(up)) {
        dir = up;
        continue;
      }
      abs = dir;
      break;
    }
    const name = abs.slice(abs.lastIndexOf("/") + 1);
    if ((IGNORE_NAMES as readonly string[]).includes(name) || abs.includes("/.git/info/")) {
      return "reload";
    }
    const dir = parentDir(abs);
    const parent = dir === null ? undefined : this.#walked.get(dir);
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(abs);
    } catch {
      info = undefined;
    }
    /** @param replacing The file is read again at once: its entry is
     * overwritten in place (keeping the corpus's order and index). */
    const forget = (replacing = false) => {
      if (!replacing) this.corpus.removeFile(abs);
      // Only a directory has entries below it: sweeping the corpus and
      // both maps for a file's edit cost over a millisecond per refresh.
      this.unreadable.delete(abs);
      this.notUtf8.delete(abs);
      if (!this.#walked.has(abs) && !this.skipped.get(abs)?.isDir) {
        this.skipped.delete(abs);
        return;
      }
      this.corpus.removeUnder(abs);
      const below = abs + "/";
      for (const set of [this.unreadable, this.notUtf8]) {
        for (const u of set) if (u.startsWith(below)) set.delete(u);
      }
      for (const map of [this.#walked, this.skipped]) {
        for (const d of map.keys()) {
          if (d === abs || d.startsWith(below)) map.delete(d);
        }
      }
    };
    // Gone, a link, or inside a directory the walk skipped.
    if (!info || info.isSymlink || parent === undefined) {
      forget();
      // A name not in UTF-8 never lstats: created or deleted, the real rg
      // answers for its directory from now on (exact either way).
      if (!info && parent !== undefined && isNotUtf8(dir!, name)) {
        this.notUtf8.add(abs);
        this.unreadable.add(abs);
      }
      return "ok";
    }
    const shown = shownPath(parent.shown, name);
    const keep = this.#rules.keepEntries(
      parent.level,
      dir!,
      parent.shown,
      name,
      Uint8Array.of(info.isDirectory ? 1 : 0),
    );
    forget(keep[0] === KEEP && info.isFile && this.corpus.hasFile(abs));
    if (keep[0] !== KEEP) {
      this.#skip(abs, info.isDirectory, keep[0] === SKIP_HIDDEN);
      return "ok";
    }
    if (info.isDirectory) this.#walk(abs, shown, parent.level);
    else if (info.isFile) this.#readFile(abs, shown, true);
    return "ok";
  }

  #skip(abs: string, isDir: boolean, hiddenOnly: boolean): void {
    // A shard records what lies in its share (directories: what may).
    const range = this.#opts.range;
    if (range && (isDir ? outsideRange(abs, range) : !inRange(abs, range))) return;
    this.skipped.set(abs, { isDir, hiddenOnly });
  }

  #readFile(abs: string, shown: string, walked: boolean): void {
    if (this.#opts.list) return this.#opts.list(abs);
    if (this.#opts.range && !inRange(abs, this.#opts.range)) return;
    let size: number;
    try {
      const max = this.#opts.maxFilesize;
      if (walked && max !== undefined && Deno.statSync(abs).size > max) return;
      if (this.#opts.namesOnly) {
        this.corpus.allocFile(abs, 0, walked);
        size = 0;
      } else {
        size = readFileInto(this.corpus, abs, walked, {
          maxFileBytes: this.#opts.maxFileBytes,
          room: (this.#opts.maxBytes ?? Infinity) - this.#report.bytes,
        });
      }
    } catch (err) {
      if (err instanceof OverBudget) {
        throw new LoadLimitError(this.#opts.maxBytes!, this.#report.bytes, this.#report.files);
      }
      // Too large: skipped without a word, as by rg's --max-filesize. A
      // named FIFO or device (which rg would block on): said so.
      if (err instanceof SkippedFile && walked) return;
      if (!(err instanceof SkippedFile) || err.message === "not a regular file") {
        this.#report.errors.push(`${shown}: ${osErrorText(err)}`);
        this.unreadable.add(abs);
      }
      return;
    }
    this.unreadable.delete(abs);
    this.#report.files += 1;
    this.#report.bytes += size;
    this.#onFile?.(this.#report);
  }
}

/** Bytes per shard worth a job of its own: a full scan of one takes tens of
 * milliseconds, while each shard adds a fraction of a millisecond to every
 * search (a message, a regex compile). */
const SLICE_BYTES = 128 << 20;
/** Shards per worker (per CPU) of a split workspace: one per
 * {@link SLICE_BYTES}, at most four, since each shard adds to every search.
 * Two at least once let a long search be a train of jobs with other
 * tenants' searches between them; a search now pauses for those after 3 ms
 * anyway (src/daemon/worker.ts), and the second shard of a 50 MB tree cost
 * every search a job: a search finding nothing took 3.2-4.1 ms inside the
 * daemon with four shards, 1.8-2.0 with two; under load (bench:load, 100
 * sessions) grep p50 went from 3.97 to 3.51 ms. */
const MIN_SHARDS_PER_WORKER = 1;
const MAX_SHARDS_PER_WORKER = 4;

/** What a file weighs in a shard beyond its bytes. A file costs as much
 * as its bytes and a fixed part besides, in a load (Linux: about 1.2 ns a
 * byte and 38 us a file) and in every search (each file's sketch is
 * looked at). Shares cut by bytes alone gave one CPU 49,891 of Linux's
 * 78,258 files (arch/ has many small ones, the amdgpu headers are few and
 * large); with 8 KiB a file, each CPU holds 39-40 thousand files and
 * 648-651 MB. */
const FILE_WEIGHT_BYTES = 8 << 10;

/** What a share of `files` holding `bytes` weighs, for balancing shares. */
export function shardWeight(bytes: number, files: number): number {
  return bytes + files * FILE_WEIGHT_BYTES;
}

/** How many shares {@link planShards} makes of a tree of `bytes`. */
export function shardCount(bytes: number, workers: number, shardBytes: number): number {
  if (bytes < shardBytes) return 1;
  const perWorker = Math.max(
    MIN_SHARDS_PER_WORKER,
    Math.min(MAX_SHARDS_PER_WORKER, Math.ceil(bytes / (SLICE_BYTES * workers))),
  );
  return workers * perWorker;
}

/**
 * Splits the tree a workspace would load into contiguous shares of about
 * equal weight (bytes, and {@link FILE_WEIGHT_BYTES} a file), for workers
 * that each hold and search some. A tree under `shardBytes` stays whole; a larger one gets {@link MIN_SHARDS_PER_WORKER}
 * shares per worker, more for every {@link SLICE_BYTES} each would hold (up
 * to {@link MAX_SHARDS_PER_WORKER}), so one search runs on every core, in
 * jobs short enough that other tenants' searches are not held up for long.
 * @returns The paths where the second and later shares begin (none: one
 * share), the tree's size, and its {@link treeSignature}.
 */
export function planShards(
  root: string,
  opts: Pick<WalkOptions, "hidden" | "noIgnore">,
  workers: number,
  shardBytes: number,
): { bounds: string[]; files: number; bytes: number; tree: string } {
  const files: { path: string; size: number }[] = [];
  const corpus = new CoreCorpus();
  const walker = new Walker(corpus, {
    ...opts,
    cwd: root,
    globs: [],
    iglobs: [],
    types: [],
    typesNot: [],
    list: (path) => {
      try {
        files.push({ path, size: Deno.statSync(path).size });
      } catch {
        // gone since the listing: the load will say so
      }
    },
  });
  try {
    walker.load([{ path: root, display: "", isFile: false }]);
  } finally {
    walker.free();
    corpus.free();
  }
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const shards = shardCount(bytes, workers, shardBytes);
  const bounds: string[] = [];
  if (shards > 1) {
    // Keys made once: encoding in every comparison took over a second on Linux.
    const keyed = files.map((f) => ({ ...f, key: walkKey(f.path) }));
    keyed.sort((a, b) => compareBytes(a.key, b.key));
    const total = shardWeight(bytes, files.length);
    let seen = 0;
    for (const f of keyed) {
      // A share begins at the first file past its fraction of the weight.
      if (seen >= (total * (bounds.length + 1)) / shards && bounds.length < shards - 1) {
        bounds.push(f.path);
      }
      seen += shardWeight(f.size, 1);
    }
  }
  return { bounds, files: files.length, bytes, tree: treeSignature(root, files) };
}

/**
 * A signature of a tree's shape: its files' paths below `root` and sizes.
 * Clones of one repository share it, and so get the same shard plan (shard
 * i holds the same files in each); the daemon places shard i of each on the
 * same worker, where identical files then share one copy (see
 * core-wasm/src/blobs.rs). Only a hint for placement: equal signatures of
 * different trees cost nothing but a less even spread.
 * Sums of per-file hashes, so the order files were listed in does not matter.
 */
export function treeSignature(root: string, files: { path: string; size: number }[]): string {
  let [a, b] = [0, 0];
  for (const { path, size } of files) {
    // Two 32-bit lanes of an FNV-1a-like hash of the relative path and size.
    let [h1, h2] = [0x811c9dc5 ^ size, 0x9747b28c ^ (size / 0x100000000)];
    for (let i = root.length; i < path.length; i++) {
      const c = path.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 15), 0x85ebca6b);
    h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
    a = (a + (h1 ^ (h1 >>> 16))) >>> 0;
    b = (b + (h2 ^ (h2 >>> 16))) >>> 0;
  }
  return `${files.length}:${a.toString(16)}:${b.toString(16)}`;
}
