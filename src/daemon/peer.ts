/**
 * Who is on the other end of a Unix socket connection, from the kernel:
 * `SO_PEERCRED` (pid, uid, gid at connect time) and `SO_PEERGROUPS` (the
 * supplementary groups), read through Deno's FFI. Nothing a client sends
 * can change them.
 *
 * Deno does not expose a connection's file descriptor, so the descriptor
 * is found in `/proc/self/fd`: the one socket that has the listener's
 * bound address, is not itself listening, and whose inode was not seen
 * before (read through libc: Deno allows /proc only with --allow-all).
 * The daemon identifies each connection as soon as `accept`
 * returns and before it accepts the next, so there is never more than one
 * such socket; when there is not exactly one, identification fails and the
 * connection is refused (fail closed).
 * @module
 */
import { cString } from "../cstring.ts";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_ACCEPTCONN = 30;
const SO_PEERGROUPS = 59;
const AF_UNIX = 1;

const SYMBOLS = {
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

/** A connected process, as the kernel knows it. */
export interface Peer {
  pid: number;
  uid: number;
  gid: number;
  /** Supplementary groups. */
  groups: number[];
}

/** Whether peers can be identified here (Linux, FFI permitted). */
export function peerCredentialsAvailable(): boolean {
  return Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

function symbols() {
  return libc ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
}

const decoder = new TextDecoder();

/** Names in a directory, through libc (`struct dirent`: name at byte 19). */
function listNames(dir: string): string[] {
  const lib = symbols();
  const handle = lib.opendir(cString(dir));
  if (handle === null) return [];
  const names: string[] = [];
  try {
    for (let e = lib.readdir(handle); e !== null; e = lib.readdir(handle)) {
      const name = new Deno.UnsafePointerView(e).getCString(19);
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    lib.closedir(handle);
  }
  return names;
}

function readLink(path: string): string | undefined {
  const buf = new Uint8Array(256);
  const n = Number(symbols().readlink(cString(path), buf, BigInt(buf.length)));
  return n < 0 ? undefined : decoder.decode(buf.subarray(0, n));
}

/** A small file's text, through libc (a /proc file). */
function readSmallFile(path: string): string | undefined {
  const lib = symbols();
  const fd = lib.open(cString(path), 0);
  if (fd < 0) return undefined;
  try {
    const buf = new Uint8Array(16 * 1024);
    let len = 0;
    for (;;) {
      const n = Number(lib.read(fd, buf.subarray(len), BigInt(buf.length - len)));
      if (n <= 0) break;
      len += n;
    }
    return decoder.decode(buf.subarray(0, len));
  } finally {
    lib.close(fd);
  }
}

function intOption(fd: number, option: number): number | undefined {
  const value = new Uint8Array(4);
  const len = new Uint32Array([4]);
  if (symbols().getsockopt(fd, SOL_SOCKET, option, value, new Uint8Array(len.buffer)) !== 0) {
    return undefined;
  }
  return new DataView(value.buffer).getInt32(0, true);
}

/** The Unix address a socket is bound to, or undefined. */
function boundPath(fd: number): string | undefined {
  const addr = new Uint8Array(110);
  const len = new Uint32Array([addr.length]);
  if (symbols().getsockname(fd, addr, new Uint8Array(len.buffer)) !== 0) return undefined;
  if (new DataView(addr.buffer).getUint16(0, true) !== AF_UNIX) return undefined;
  const path = addr.subarray(2, Math.min(len[0], addr.length));
  const end = path.indexOf(0);
  return new TextDecoder().decode(end < 0 ? path : path.subarray(0, end));
}

/** The peer credentials of socket `fd`. */
export function peerOf(fd: number): Peer | undefined {
  const cred = new Uint8Array(12);
  const len = new Uint32Array([12]);
  if (
    symbols().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, new Uint8Array(len.buffer)) !== 0
  ) {
    return undefined;
  }
  const view = new DataView(cred.buffer);
  const peer = {
    pid: view.getInt32(0, true),
    uid: view.getUint32(4, true),
    gid: view.getUint32(8, true),
    groups: [] as number[],
  };
  const groups = new Uint8Array(4 * 1024);
  const glen = new Uint32Array([groups.length]);
  if (
    symbols().getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, new Uint8Array(glen.buffer)) === 0
  ) {
    const g = new DataView(groups.buffer);
    for (let i = 0; i + 4 <= glen[0]; i += 4) peer.groups.push(g.getUint32(i, true));
  }
  return peer;
}

/**
 * Identifies the connections accepted on one listener. Call
 * {@link identifyNewest} right after each `accept`, before the next.
 */
export class PeerIdentifier {
  /** Inodes of this listener's sockets already accounted for. */
  #known = new Set<string>();

  /** @param bound The address the listener was bound to (what
   * `getsockname` reports for its connections, even after a rename). */
  constructor(readonly bound: string) {
    // The listener itself, and anything accepted before we started.
    for (const { inode } of this.#sockets()) this.#known.add(inode);
  }

  /** Sockets of this process: descriptor and inode. */
  #sockets(): { fd: number; inode: string }[] {
    const found = [];
    for (const name of listNames("/proc/self/fd")) {
      const target = readLink(`/proc/self/fd/${name}`); // undefined: closed meanwhile
      if (target?.startsWith("socket:[")) found.push({ fd: Number(name), inode: target });
    }
    return found;
  }

  /**
   * The peer of the connection just accepted.
   * @throws {Error} When it cannot be told apart (then refuse it).
   */
  identifyNewest(): Peer {
    const live = this.#sockets();
    const candidates = live.filter(({ fd, inode }) =>
      !this.#known.has(inode) && intOption(fd, SO_ACCEPTCONN) === 0 && boundPath(fd) === this.bound
    );
    // Forget inodes no longer open, so the set stays small.
    const open = new Set(live.map((s) => s.inode));
    for (const inode of this.#known) if (!open.has(inode)) this.#known.delete(inode);
    for (const c of candidates) this.#known.add(c.inode);
    if (candidates.length !== 1) {
      throw new Error(`found ${candidates.length} new connections where one was accepted`);
    }
    const peer = peerOf(candidates[0].fd);
    if (!peer) throw new Error("SO_PEERCRED failed");
    return peer;
  }
}

/** The real uid of process `pid` (from /proc), or undefined if none. */
export function uidOfProcess(pid: number): number | undefined {
  if (!peerCredentialsAvailable()) return undefined;
  const status = readSmallFile(`/proc/${pid}/status`);
  const m = status === undefined ? null : /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : undefined;
}
