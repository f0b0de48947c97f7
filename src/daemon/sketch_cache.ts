/**
 * Saved sketches on disk, so a workspace re-opened after a daemon restart
 * (or an eviction) is fast from its first search instead of after the
 * seconds of CPU that sketching takes (about 10 ns a byte: 13 s for
 * Linux's 1.3 GB).
 *
 * One file per shard of a workspace, at
 * `<cache dir>/<uid>/<sha256 of root, load options, shard>.sketches`,
 * holding each sketched file's path, length, content hash and sketch
 * (core-wasm/src/sketch_file.rs). A sketch is restored only onto bytes
 * with the saved length and content hash, hashed from the bytes just
 * loaded, so a file changed while the daemon was down (content, size or
 * mtime; even one rewritten within one mtime tick, or with its old mtime
 * put back) never gets a stale sketch.
 *
 * The cache is on by default (`defaultCacheDir`) and bounded: past its
 * byte budget the least recently used files go, every user's alike (used:
 * written or restored from, which sets the file's mtime; see
 * {@link pruneCache}).
 *
 * Tenancy: the cache directory and each per-uid directory in it are the
 * daemon's own, mode 0700; they are read and written with the daemon's
 * rights (never a user's, so no user can plant or read a cache file) and
 * a user's workspaces only ever use their own uid's directory. A file that
 * cannot be read as a sketch file (truncated, corrupt, another build's) is
 * ignored with a log line and written afresh after the next build.
 *
 * Beside a workspace's sketches, its shard plan (`<key>.plan`, see
 * {@link readPlan}): the walk that makes one is a third of a large tree's
 * open (Linux: 1.3 s of 4-5), and a re-open can do without it.
 * @module
 */
import { createHash } from "node:crypto";
import type { Workspace } from "../workspace.ts";

/** Where one shard's saved sketches live. */
export interface SketchCacheSpot {
  /** The daemon's cache directory. */
  dir: string;
  /** Whose workspace it is. */
  uid: number;
  /** The workspace's real root and load options. */
  root: string;
  hidden: boolean;
  noIgnore: boolean;
  /** Which shard of how many. */
  shard: number;
  shards: number;
}

/** Where sketches are saved unless the daemon is told otherwise:
 * `$XDG_CACHE_HOME/curserve/sketches`, or `~/.cache/curserve/sketches`;
 * undefined when neither variable says where that is. */
export function defaultCacheDir(): string | undefined {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg?.startsWith("/")) return `${xdg}/curserve/sketches`;
  const home = Deno.env.get("HOME");
  return home?.startsWith("/") ? `${home}/.cache/curserve/sketches` : undefined;
}

/** The cache's byte budget unless the daemon is told otherwise. */
export const DEFAULT_CACHE_MAX_BYTES = 4 * 2 ** 30;

/** The cache file of a shard. */
export function cacheFile(spot: SketchCacheSpot): string {
  const key = createHash("sha256")
    .update(
      JSON.stringify([spot.root, spot.hidden, spot.noIgnore, spot.shard, spot.shards]),
    )
    .digest("hex");
  return `${spot.dir}/${spot.uid}/${key}.sketches`;
}

/** A workspace's shard plan (`planShards` in src/walk.ts) as saved: the
 * paths where its shards begin, the bytes and the tree signature it was
 * made from, and the workers and `--shard-bytes` it was made for. */
export interface SavedPlan {
  bounds: string[];
  bytes: number;
  tree: string;
  workers: number;
  shardBytes: number;
}

/** The file of a workspace's saved shard plan. */
export function planFile(spot: Omit<SketchCacheSpot, "shard" | "shards">): string {
  const key = createHash("sha256")
    .update(JSON.stringify([spot.root, spot.hidden, spot.noIgnore, "plan"]))
    .digest("hex");
  return `${spot.dir}/${spot.uid}/${key}.plan`;
}

/**
 * The shard plan saved at `file` for the same workers and `--shard-bytes`.
 * A plan only places files: shards are ranges of paths that together hold
 * every file, so a plan saved before the tree changed gives the same
 * answers, at worst from unevenly sized shards (which the daemon checks
 * after the load, and then forgets the plan).
 * @param log Gets a line saying why a plan file was ignored.
 * @returns The plan, or undefined when none was saved for these settings.
 */
export function readPlan(
  file: string,
  settings: Pick<SavedPlan, "workers" | "shardBytes">,
  log: (line: string) => void = console.error,
): SavedPlan | undefined {
  let plan: SavedPlan;
  try {
    const why = privateDir(file.slice(0, file.lastIndexOf("/")));
    if (why) return undefined; // said by the sketches' restore
    markUsed(file);
    plan = JSON.parse(Deno.readTextFileSync(file));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      log(`curserve: ignoring shard plan ${file}: ${(err as Error).message}`);
    }
    return undefined;
  }
  const wellFormed = Array.isArray(plan?.bounds) &&
    plan.bounds.every((b) => typeof b === "string") && Number.isSafeInteger(plan.bytes) &&
    typeof plan.tree === "string";
  if (!wellFormed) {
    log(`curserve: ignoring shard plan ${file}: not a plan`);
    return undefined;
  }
  return plan.workers === settings.workers && plan.shardBytes === settings.shardBytes
    ? plan
    : undefined;
}

/** A new name beside `file` for writing it whole before renaming it over
 * `file` (a `.partial` file, which {@link pruneCache} deletes once stale). */
function partialFile(file: string): string {
  return `${file}.${Deno.pid}.${crypto.randomUUID()}.partial`;
}

/** Saves a shard plan for {@link readPlan} (whole or not at all: written
 * beside it, then renamed over it). */
export async function savePlan(
  file: string,
  plan: SavedPlan,
  log: (line: string) => void = console.error,
): Promise<void> {
  const partial = partialFile(file);
  try {
    const why = privateDir(file.slice(0, file.lastIndexOf("/")));
    if (why) throw new Error(why);
    await Deno.writeTextFile(partial, JSON.stringify(plan), { mode: 0o600 });
    await Deno.rename(partial, file);
  } catch (err) {
    log(`curserve: shard plan not saved to ${file}: ${(err as Error).message}`);
    await Deno.remove(partial).catch(() => {});
  }
}

/** Deletes a saved shard plan (the next load makes a new one). */
export function forgetPlan(file: string): void {
  try {
    Deno.removeSync(file);
  } catch {
    // never saved, or gone
  }
}

/** Checks that the cache file `file` is a regular file, and marks it used
 * now: the last file {@link pruneCache} would delete.
 * @throws {Deno.errors.NotFound} When there is none; {@link Error} when it
 * is not a regular file. */
function markUsed(file: string): void {
  if (!Deno.lstatSync(file).isFile) throw new Error("not a regular file");
  const now = new Date();
  Deno.utimeSync(file, now, now);
}

/**
 * Makes `path` a directory only this process's user may use (mode 0700),
 * or checks that it is one.
 * @returns Why it cannot be used, or undefined when it can.
 */
export function privateDir(path: string): string | undefined {
  try {
    Deno.mkdirSync(path, { recursive: true, mode: 0o700 });
    const info = Deno.lstatSync(path);
    if (!info.isDirectory) return `${path} is not a directory`;
    if (info.uid !== Deno.uid()) return `${path} belongs to uid ${info.uid}, not to the daemon`;
    if ((info.mode ?? 0) & 0o077) {
      return `${path} has mode ${((info.mode ?? 0) & 0o777).toString(8)}, not 700`;
    }
    return undefined;
  } catch (err) {
    return `${path}: ${(err as Error).message}`;
  }
}

/**
 * Restores a shard's saved sketches into `ws` (see the module docs).
 * @param log Gets a line saying why a cache file was ignored.
 * @returns What was restored, or undefined when nothing was saved (or the
 * file was ignored).
 */
export function restoreSketches(
  ws: Workspace,
  file: string,
  log: (line: string) => void = console.error,
): { restored: number; changed: number; other: number } | undefined {
  try {
    const dir = file.slice(0, file.lastIndexOf("/"));
    const why = privateDir(dir);
    if (why) {
      log(`curserve: sketch cache not used: ${why}`);
      return undefined;
    }
    markUsed(file);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      log(`curserve: ignoring sketch cache file ${file}: ${(err as Error).message}`);
    }
    return undefined;
  }
  try {
    return ws.importSketchFile(file);
  } catch (err) {
    log(`curserve: ignoring sketch cache file ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

/** File bytes whose sketches go into one part of a cache file: a few ms
 * of hashing and copying. (Linux's shards' sketches, 60-80 MB each, took
 * 0.4-2.3 s to take out in one go, and every search on the worker
 * waited; parts of 256 files still took a second where a directory holds
 * hundreds of multi-megabyte headers.) */
export const SAVE_PART_BYTES = 4 << 20;

/**
 * Saves the sketches of `ws` to `file`: written part by part to a new
 * file beside it, then renamed over it, so a reader never sees half a
 * file. Between parts it waits for `between()`, so searches go first; the
 * disk writes themselves hold up nothing.
 * @param log Gets a line saying where it was saved, or why it was not.
 * @returns Whether it was saved.
 */
export async function saveSketches(
  ws: Workspace,
  file: string,
  log: (line: string) => void = console.error,
  between: () => Promise<void> = () => Promise.resolve(),
): Promise<boolean> {
  const dir = file.slice(0, file.lastIndexOf("/"));
  const why = privateDir(dir);
  if (why) {
    log(`curserve: sketches not saved: ${why}`);
    return false;
  }
  const temp = partialFile(file);
  let out: Deno.FsFile | undefined;
  try {
    out = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    let size = 0;
    for (let from = 0;;) {
      const part = ws.exportSketches(from, SAVE_PART_BYTES);
      for (let at = 0; at < part.bytes.length;) at += await out.write(part.bytes.subarray(at));
      size += part.bytes.length;
      if (part.done) break;
      from = part.next;
      await between();
    }
    out.close();
    out = undefined;
    await Deno.rename(temp, file);
    log(`curserve: sketches saved to ${file} (${size} bytes)`);
    return true;
  } catch (err) {
    out?.close();
    try {
      await Deno.remove(temp);
    } catch {
      // never written
    }
    log(`curserve: sketches not saved to ${file}: ${(err as Error).message}`);
    return false;
  }
}

/** Every file in the cache's per-user directories (`<dir>/<uid>/<name>`):
 * saved sketches end in `.sketches`, shard plans in `.plan`, saves in
 * progress in `.partial`. */
export function cacheEntries(dir: string): { path: string; name: string }[] {
  const entries: { path: string; name: string }[] = [];
  for (const user of Deno.readDirSync(dir)) {
    if (!user.isDirectory) continue;
    for (const f of Deno.readDirSync(`${dir}/${user.name}`)) {
      if (f.isFile) entries.push({ path: `${dir}/${user.name}/${f.name}`, name: f.name });
    }
  }
  return entries;
}

/** A save in progress writes its `.partial` file every few ms; one this
 * old was left by a daemon stopped mid-save. */
const STALE_PARTIAL_MS = 10 * 60_000;

function removeIfStale(path: string, log: (line: string) => void): void {
  try {
    const mtime = Deno.lstatSync(path).mtime?.getTime() ?? 0;
    if (Date.now() - mtime < STALE_PARTIAL_MS) return;
    Deno.removeSync(path);
    log(`curserve: sketch cache: deleted ${path}, left by a save that never finished`);
  } catch {
    // gone meanwhile
  }
}

/**
 * Deletes the least recently used cache files under `dir` (every user's:
 * the budget is the daemon's disk) until the rest hold at most `maxBytes`.
 * `keep`, the file just written, is never deleted. Partial files left by
 * a daemon stopped while saving are deleted too.
 * @param log Gets a line for each file deleted, and for each failure.
 * @returns The bytes deleted.
 */
export function pruneCache(
  dir: string,
  maxBytes: number,
  keep: string,
  log: (line: string) => void = console.error,
): number {
  const files: { path: string; size: number; used: number }[] = [];
  try {
    for (const { path, name } of cacheEntries(dir)) {
      if (name.endsWith(".partial")) removeIfStale(path, log);
      if (!name.endsWith(".sketches") && !name.endsWith(".plan")) continue;
      try {
        const info = Deno.lstatSync(path);
        files.push({ path, size: info.size, used: info.mtime?.getTime() ?? 0 });
      } catch {
        // deleted meanwhile (another worker pruning)
      }
    }
  } catch (err) {
    log(`curserve: sketch cache not pruned: ${(err as Error).message}`);
    return 0;
  }
  let total = files.reduce((sum, f) => sum + f.size, 0);
  let freed = 0;
  files.sort((a, b) => a.used - b.used);
  for (const f of files) {
    if (total <= maxBytes) break;
    if (f.path === keep) continue;
    try {
      Deno.removeSync(f.path);
      log(`curserve: sketch cache over ${maxBytes} bytes: deleted ${f.path} (${f.size} bytes)`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        log(`curserve: sketch cache: cannot delete ${f.path}: ${(err as Error).message}`);
        continue;
      }
    }
    total -= f.size;
    freed += f.size;
  }
  return freed;
}
