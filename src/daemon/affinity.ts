/**
 * Pins a search worker's thread to one CPU.
 *
 * Why: on the 2-vCPU KVM machines we run on, a search split across both
 * workers usually ran on ONE CPU when it arrived after a few idle
 * milliseconds. The kernel queued both woken workers on the same sleeping
 * CPU and did not move the second for longer than the search took, so the
 * two shards ran one after the other (two 1 ms jobs: 2.5 ms instead of
 * 1.4 ms). A thread allowed on one CPU only is woken there. Measured in
 * the 100-client benchmark on 50 MB (bench/daemon_bench.ts --think-ms 2000,
 * two runs each, alternated): all-tools p50 1.82 → 1.66–1.70 ms, p99
 * 15.8–18.2 → 13.4–14.7 ms; grep p50 3.62–3.72 → 3.19–3.33 ms.
 *
 * Linux only (glibc's `sched_setaffinity` through Deno's FFI, which needs
 * `--allow-ffi`); elsewhere, or without the permission, threads stay free.
 * @module
 */

/** Bytes of a `cpu_set_t`: room for 1024 CPUs. */
const CPU_SET_BYTES = 128;
const CPU_SET_SIZE = BigInt(CPU_SET_BYTES);

/**
 * Restricts the calling thread to the `slot`-th of the CPUs it may run on
 * now (wrapping around when there are fewer CPUs than slots), so that
 * workers 0, 1, … land on different CPUs of the daemon's allowed set.
 * @returns The CPU it is pinned to.
 * @throws {Error} Saying why it could not pin (not Linux, no FFI
 * permission, no glibc, or the call failed).
 */
export function pinThread(slot: number): number {
  if (Deno.build.os !== "linux") throw new Error(`CPU pinning is for Linux, not ${Deno.build.os}`);
  // Asked first: dlopen would prompt for the permission on a terminal.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new Error("needs --allow-ffi");
  }
  const lib = Deno.dlopen("libc.so.6", {
    sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
    sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  });
  try {
    // Thread id 0: the calling thread.
    const allowed = new Uint8Array(CPU_SET_BYTES);
    if (lib.symbols.sched_getaffinity(0, CPU_SET_SIZE, allowed) !== 0) {
      throw new Error("sched_getaffinity failed");
    }
    const cpus = [];
    for (let cpu = 0; cpu < CPU_SET_BYTES * 8; cpu++) {
      if (allowed[cpu >> 3] & (1 << (cpu & 7))) cpus.push(cpu);
    }
    if (!cpus.length) throw new Error("no CPU allowed");
    const cpu = cpus[slot % cpus.length];
    const mask = new Uint8Array(CPU_SET_BYTES);
    mask[cpu >> 3] = 1 << (cpu & 7);
    if (lib.symbols.sched_setaffinity(0, CPU_SET_SIZE, mask) !== 0) {
      throw new Error(`sched_setaffinity to CPU ${cpu} failed`);
    }
    return cpu;
  } finally {
    lib.close();
  }
}
