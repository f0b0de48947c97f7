/**
 * Raises the soft limit on open files to the hard limit (Linux, FFI): each
 * connection holds a file descriptor, and at Deno's default soft limit
 * about a thousand idle clients would exhaust them.
 * @module
 */

const RLIMIT_NOFILE = 7;

/** @returns The soft limit now in force, or undefined if unchanged. */
export function raiseFileLimit(): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  const lib = Deno.dlopen("libc.so.6", {
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  });
  try {
    const lim = new BigUint64Array(2);
    const bytes = new Uint8Array(lim.buffer);
    if (lib.symbols.getrlimit(RLIMIT_NOFILE, bytes) !== 0) return undefined;
    if (lim[0] < lim[1]) {
      lim[0] = lim[1];
      if (lib.symbols.setrlimit(RLIMIT_NOFILE, bytes) !== 0) return undefined;
    }
    return Number(lim[0]);
  } finally {
    lib.close();
  }
}
