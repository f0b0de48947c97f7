/**
 * Reads a regular file without ever blocking on something else: the file
 * is opened with O_NONBLOCK (opening a FIFO for reading otherwise waits for
 * a writer, forever), then checked with fstat on the descriptor itself, so
 * a FIFO or device swapped in after any earlier check is refused, not
 * read. Deno's own open has no such flag; this goes through libc (FFI).
 * Without FFI permission it falls back to stat-then-read.
 * @module
 */
import { cString } from "../cstring.ts";

const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null | undefined;

function symbols() {
  if (libc === undefined) {
    libc = Deno.build.os === "linux" && Deno.build.arch === "x86_64" &&
        Deno.permissions.querySync({ name: "ffi" }).state === "granted"
      ? Deno.dlopen("libc.so.6", SYMBOLS).symbols
      : null;
  }
  return libc;
}

const ERRORS: Record<number, string> = {
  1: "Operation not permitted (os error 1)",
  2: "No such file or directory (os error 2)",
  13: "Permission denied (os error 13)",
  20: "Not a directory (os error 20)",
  40: "Too many levels of symbolic links (os error 40)",
};

function osError(lib: NonNullable<typeof libc>): Error {
  const errno = new Deno.UnsafePointerView(lib.__errno_location()!).getInt32();
  return new Error(ERRORS[errno] ?? `os error ${errno}`);
}

/**
 * The bytes of the regular file at `path`, at most `max` of them.
 * @throws {Error} For a directory, a FIFO, socket or device ("not a
 * regular file"), a file over `max`, or what open/read report.
 */
export function readRegularFile(path: string, max: number): Uint8Array {
  const lib = symbols();
  if (!lib) return fallback(path, max);
  const fd = lib.open(cString(path), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw osError(lib);
  try {
    // struct stat on x86_64: st_mode (u32) at byte 24, st_size (i64) at 48.
    const st = new Uint8Array(144);
    if (lib.fstat(fd, st) !== 0) throw osError(lib);
    const view = new DataView(st.buffer);
    const kind = view.getUint32(24, true) & S_IFMT;
    if (kind === S_IFDIR) throw new Error("is a directory");
    if (kind !== S_IFREG) throw new Error("not a regular file");
    const size = Number(view.getBigInt64(48, true));
    if (size > max) {
      throw new Error(`the file is ${size} bytes, more than read_file reads (${max})`);
    }
    // Read what is there, which may differ from the size stated.
    let buf = new Uint8Array(Math.max(size, 4096));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (buf.length >= max) throw new Error(`the file grew past ${max} bytes`);
        const bigger = new Uint8Array(Math.min(buf.length * 2, max));
        bigger.set(buf);
        buf = bigger;
      }
      const n = Number(lib.read(fd, buf.subarray(len), BigInt(buf.length - len)));
      if (n < 0) throw osError(lib);
      if (n === 0) break;
      len += n;
    }
    return buf.subarray(0, len);
  } finally {
    lib.close(fd);
  }
}

function fallback(path: string, max: number): Uint8Array {
  const info = Deno.statSync(path);
  if (info.isDirectory) throw new Error("is a directory");
  if (!info.isFile) throw new Error("not a regular file");
  if (info.size > max) {
    throw new Error(`the file is ${info.size} bytes, more than read_file reads (${max})`);
  }
  return Deno.readFileSync(path);
}
