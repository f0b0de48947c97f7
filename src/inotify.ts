/**
 * Linux inotify through Deno's FFI, read synchronously: the daemon drains
 * the queue right before it serves a search, so the answer reflects every
 * change whose write(2), rename(2) or unlink(2) returned before the request
 * was sent. The kernel queues an inotify event inside the system call that
 * makes the change, before it returns; `Deno.watchFs` hands events over
 * from another thread, later, and cannot be asked "anything pending?".
 *
 * One inotify instance serves every tree (the kernel allows 128 per user
 * by default, and a daemon has more workspaces than that); a directory
 * watched for several trees has one watch, with several owners.
 * @module
 */
import { setImmediate } from "node:timers";
import { cString } from "./cstring.ts";

const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const IN_MODIFY = 0x2;
const IN_ATTRIB = 0x4;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400;
const IN_MOVE_SELF = 0x800;
const IN_Q_OVERFLOW = 0x4000;
const IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x01000000;
const IN_DONT_FOLLOW = 0x02000000;
const IN_EXCL_UNLINK = 0x04000000;
const IN_ISDIR = 0x40000000;
const WATCH_MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
  IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |
  IN_EXCL_UNLINK;
const EAGAIN = 11;
/** How long {@link TreeWatcher.watchTree} lists directories before it
 * lets the thread's other work run. */
const WATCH_SLICE_MS = 5;

const SYMBOLS = {
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | undefined;

function errno(): number {
  return new Deno.UnsafePointerView(libc!.__errno_location()!).getInt32();
}

const decoder = new TextDecoder();

/** Something that wants to hear about changes below its root. */
export interface WatchOwner {
  readonly root: string;
}

/** What happened below one owner's root since the last drain. */
export interface Changes {
  /** Absolute paths created, written, deleted, renamed or chmod-ed. */
  paths: Set<string>;
  /** Events were lost (the kernel's queue overflowed): re-read it all. */
  overflow: boolean;
  /** The root itself was deleted or moved away. */
  rootGone: boolean;
}

interface Watch {
  dir: string;
  owners: Set<WatchOwner>;
}

/** Whether inotify can be used here (Linux, FFI permitted). */
export function inotifyAvailable(): boolean {
  return Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/** Directories of `.git` other than `info/` change on every git command
 * and never hold searched files: not watched. */
function skipDir(dir: string, name: string): boolean {
  return name === ".git" || (dir.endsWith("/.git") && name !== "info");
}

/** One inotify instance watching whole trees for their owners. */
export class TreeWatcher {
  #fd: number;
  #byWd = new Map<number, Watch>();
  #byDir = new Map<string, number>();
  #buf = new Uint8Array(64 * 1024);
  #pending = new Map<WatchOwner, Changes>();

  /** @throws {Error} When inotify is unavailable (not Linux, no FFI). */
  constructor() {
    if (!inotifyAvailable()) throw new Error("inotify needs Linux and --allow-ffi");
    libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    this.#fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (this.#fd < 0) throw new Error(`inotify_init1 failed (errno ${errno()})`);
  }

  /** Directories watched (each counted once, whatever its owners). */
  get watches(): number {
    return this.#byWd.size;
  }

  /**
   * Watches `owner.root` and every directory below it (not following
   * symbolic links). Call before reading the tree: a change made after a
   * directory's watch was added is reported, and one made before is seen
   * by the read. The listing gives the caller's thread back every
   * {@link WATCH_SLICE_MS}, so that a large tree does not hold it up.
   * @throws {Error} When the root itself cannot be watched.
   */
  async watchTree(owner: WatchOwner): Promise<void> {
    if (!this.#add(owner.root, owner)) {
      throw new Error(`cannot watch ${owner.root} (errno ${errno()})`);
    }
    const stack = [owner.root];
    let sliceStart = performance.now();
    while (stack.length) {
      const dir = stack.pop()!;
      if (performance.now() - sliceStart >= WATCH_SLICE_MS) {
        // setImmediate, not setTimeout(0): nested timers wait 4 ms each.
        await new Promise((go) => setImmediate(go));
        sliceStart = performance.now();
      }
      try {
        // Listed synchronously, a directory at a time: Deno.readDir's
        // promise per entry made Linux's 5,000 directories take 0.83 s
        // where this takes 0.25 s, and a restart's re-open waits for it.
        for (const e of Deno.readDirSync(dir)) {
          if (!e.isDirectory || skipDir(dir, e.name)) continue;
          const sub = `${dir === "/" ? "" : dir}/${e.name}`;
          if (this.#add(sub, owner)) stack.push(sub);
        }
      } catch {
        // unreadable or gone: its events (if any) still come from its parent
      }
    }
  }

  /** Stops watching for `owner`; watches nobody else needs are removed. */
  unwatch(owner: WatchOwner): void {
    for (const [wd, w] of this.#byWd) {
      if (!w.owners.delete(owner) || w.owners.size) continue;
      libc!.inotify_rm_watch(this.#fd, wd);
      this.#byWd.delete(wd);
      this.#byDir.delete(w.dir);
    }
    this.#pending.delete(owner);
  }

  /** Adds one directory's watch for `owner`; false if it cannot be watched. */
  #add(dir: string, owner: WatchOwner): boolean {
    const wd = libc!.inotify_add_watch(this.#fd, cString(dir), WATCH_MASK);
    if (wd < 0) return false;
    const old = this.#byWd.get(wd);
    if (old && old.dir !== dir) this.#byDir.delete(old.dir); // moved, then re-watched
    const w = old && old.dir === dir ? old : { dir, owners: new Set(old?.owners) };
    w.owners.add(owner);
    this.#byWd.set(wd, w);
    this.#byDir.set(dir, wd);
    return true;
  }

  /** Watches a directory that appeared, and those below it, synchronously:
   * it is usually small, and must be watched before its refresh reads it. */
  #addTree(dir: string, owners: Set<WatchOwner>): void {
    for (const owner of owners) if (!this.#add(dir, owner)) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory && !skipDir(dir, e.name)) this.#addTree(`${dir}/${e.name}`, owners);
    }
  }

  #changes(owner: WatchOwner): Changes {
    let c = this.#pending.get(owner);
    if (!c) {
      c = { paths: new Set(), overflow: false, rootGone: false };
      this.#pending.set(owner, c);
    }
    return c;
  }

  /**
   * Reads every event the kernel has queued (without waiting) and takes
   * the changes gathered for each owner, or for `only` alone (the others'
   * stay gathered for a later call).
   */
  drain(only?: WatchOwner): Map<WatchOwner, Changes> {
    for (;;) {
      const n = Number(libc!.read(this.#fd, this.#buf, BigInt(this.#buf.length)));
      if (n < 0) {
        if (errno() === EAGAIN) break;
        throw new Error(`reading inotify events failed (errno ${errno()})`);
      }
      if (n === 0) break;
      this.#parse(n);
    }
    const taken = new Map<WatchOwner, Changes>();
    for (const [owner, c] of this.#pending) {
      if (only && owner !== only) continue;
      taken.set(owner, c);
      this.#pending.delete(owner);
    }
    return taken;
  }

  #parse(n: number): void {
    const view = new DataView(this.#buf.buffer, 0, n);
    for (let at = 0; at < n;) {
      const wd = view.getInt32(at, true);
      const mask = view.getUint32(at + 4, true);
      const len = view.getUint32(at + 12, true);
      const raw = this.#buf.subarray(at + 16, at + 16 + len);
      const end = raw.indexOf(0);
      const name = decoder.decode(end < 0 ? raw : raw.subarray(0, end));
      at += 16 + len;
      if (mask & IN_Q_OVERFLOW) {
        for (const w of this.#byWd.values()) {
          for (const o of w.owners) this.#changes(o).overflow = true;
        }
        continue;
      }
      const w = this.#byWd.get(wd);
      if (!w) continue;
      if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        for (const o of w.owners) if (o.root === w.dir) this.#changes(o).rootGone = true;
        if (mask & IN_IGNORED) {
          this.#byWd.delete(wd);
          if (this.#byDir.get(w.dir) === wd) this.#byDir.delete(w.dir);
        }
        continue;
      }
      if (name === "") continue; // the directory's own attributes: nothing to re-read
      const path = `${w.dir === "/" ? "" : w.dir}/${name}`;
      if ((mask & IN_ISDIR) && (mask & (IN_CREATE | IN_MOVED_TO)) && !skipDir(w.dir, name)) {
        this.#addTree(path, w.owners);
      }
      for (const o of w.owners) this.#changes(o).paths.add(path);
    }
  }

  close(): void {
    if (this.#fd >= 0) libc!.close(this.#fd);
    this.#fd = -1;
    this.#byWd.clear();
    this.#byDir.clear();
  }
}
