/**
 * File-system access with a connecting user's own rights, decided by the
 * kernel: the calling thread's file-system uid, gid and supplementary
 * groups are set to the user's for the duration of a synchronous function,
 * then put back. The kernel then checks every open, stat and directory
 * read against them — modes, ACLs, groups, unreadable parent directories —
 * exactly as for that user's own processes. This is what knfsd and Samba
 * do per request.
 *
 * On Linux, credentials belong to a thread. glibc's `setfsuid`/`setfsgid`
 * change only the calling thread's; its `setgroups` changes every
 * thread's, so the raw system call is used instead. Deno runs synchronous
 * file operations on the calling thread (asynchronous ones on a shared
 * pool, which keeps the daemon's rights): only `*Sync` calls may run
 * inside {@link asUser}, and nothing may be awaited there.
 *
 * Switching needs CAP_SETUID and CAP_SETGID (a daemon run as root, or
 * given those capabilities). A daemon without them serves only its own
 * user, whose rights it already has.
 * @module
 */

/** Whose rights a file-system access uses. */
export interface Credentials {
  uid: number;
  gid: number;
  groups: number[];
}

/** setgroups(2)'s system call number. */
const SYS_SETGROUPS: Record<string, number> = { x86_64: 116, aarch64: 159 };

const SYMBOLS = {
  setfsuid: { parameters: ["u32"], result: "i32" },
  setfsgid: { parameters: ["u32"], result: "i32" },
  getgroups: { parameters: ["i32", "buffer"], result: "i32" },
  syscall: { parameters: ["i64", "i64", "buffer"], result: "i64" },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
let ownUid: number | null | undefined;
/** This thread's own credentials, to return to. */
let own: Credentials | undefined;

let switchable: boolean | undefined;

/** Whether this process can take on other users' file-system rights
 * (asked once: a permission query costs tens of microseconds). */
export function canSwitchUsers(): boolean {
  return switchable ??= Deno.build.os === "linux" && Deno.uid() === 0 &&
    SYS_SETGROUPS[Deno.build.arch] !== undefined &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

function setup() {
  if (libc) return libc;
  libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  const groups = new Uint32Array(65536);
  const n = libc.getgroups(groups.length, new Uint8Array(groups.buffer));
  own = { uid: Deno.uid()!, gid: Deno.gid()!, groups: [...groups.subarray(0, Math.max(n, 0))] };
  return libc;
}

/** The file-system uid (or gid) now in force: an invalid id changes
 * nothing and returns the current one. */
const CURRENT = 0xffffffff;

function apply(c: Credentials): void {
  const lib = setup();
  const list = new Uint32Array(c.groups.length || 1);
  list.set(c.groups);
  const syscallNo = BigInt(SYS_SETGROUPS[Deno.build.arch]);
  if (lib.syscall(syscallNo, BigInt(c.groups.length), new Uint8Array(list.buffer)) !== 0n) {
    throw new Error(`setgroups for uid ${c.uid} failed`);
  }
  lib.setfsgid(c.gid);
  lib.setfsuid(c.uid);
  if (lib.setfsuid(CURRENT) !== c.uid || lib.setfsgid(CURRENT) !== c.gid) {
    throw new Error(`could not take on uid ${c.uid} / gid ${c.gid}`);
  }
}

/**
 * Runs `fn` with `who`'s file-system rights on this thread, then restores
 * the thread's own. `who` undefined, or the process's own uid, runs `fn`
 * as it is.
 * @throws {Error} When the rights cannot be taken on (fail closed: `fn`
 * does not run), or what `fn` throws.
 */
export function asUser<T>(who: Credentials | undefined, fn: () => T): T {
  if (!who || who.uid === (ownUid ??= Deno.uid())) return fn();
  if (!canSwitchUsers()) {
    throw new Error(`this daemon cannot read files as uid ${who.uid}`);
  }
  setup();
  try {
    apply(who);
    const result = fn();
    if (result instanceof Promise) {
      throw new Error("asUser: the function must be synchronous");
    }
    return result;
  } finally {
    apply(own!);
  }
}
