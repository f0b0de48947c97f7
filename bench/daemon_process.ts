/**
 * A curserve daemon as the benchmarks run it: a real `deno run -A daemon.ts`
 * subprocess on a socket in a temporary directory, its memory read from
 * `/proc`, and always stopped at the end (also on Ctrl-C), so a benchmark
 * never leaves a daemon behind. Shared by `daemon_bench.ts` and `load.ts`.
 * @module
 */
import { join } from "node:path";
import type { DaemonClient } from "../mod.ts";
import { sleep } from "./stats.ts";

const daemonScript = new URL("../daemon.ts", import.meta.url).pathname;

/** What the daemon's `stats` method answers (docs/PROTOCOL.md). */
export interface DaemonStats {
  workspaces: {
    workspace: string;
    root: string;
    files: number;
    bytes: number;
    unsketched_files: number;
    clients: number;
    /** Parts the workspace is split into across workers. */
    shards: number;
  }[];
  clients: number;
  rss_bytes: number;
  /** The CPU each search worker is kept on; empty when not pinned. */
  worker_cpus: number[];
}

/** What the daemon's `grep` method answers. */
export interface GrepAnswer {
  stdout: string;
  stdout_base64?: string;
  stderr: string;
  code: number;
  truncated: boolean;
}

/** What the daemon's `open` method answers. */
export interface OpenAnswer {
  workspace: string;
  root: string;
  files: number;
  bytes: number;
  load_ms: number;
}

/** A grep answer's stdout bytes, exactly (base64 when they are not UTF-8). */
export function stdoutBytes(r: GrepAnswer): Uint8Array {
  if (r.stdout_base64 !== undefined) {
    return Uint8Array.from(atob(r.stdout_base64), (c) => c.charCodeAt(0));
  }
  return new TextEncoder().encode(r.stdout);
}

/** Reads one `kB` field of `/proc/<pid>/status` in bytes (NaN when gone). */
function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(
      new RegExp(`${field}:\\s+(\\d+) kB`),
    );
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Waits until the daemon has sketched every loaded file: it builds sketches
 * in the background after an open, and searches skip fewer files until then,
 * so measuring before would measure a warm-up, not the steady state.
 * @returns How long it waited, in ms.
 * @throws {Error} When sketching has not finished within `timeoutMs`.
 */
export async function waitForSketches(client: DaemonClient, timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  while (
    (await client.request<DaemonStats>("stats")).workspaces.some((w) => w.unsketched_files > 0)
  ) {
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`background sketches not done after ${timeoutMs} ms`);
    }
    await sleep(100);
  }
  return performance.now() - t0;
}

/** A daemon subprocess on a temporary socket. */
export class DaemonProcess {
  static #live = new Set<DaemonProcess>();
  #child: Deno.ChildProcess;
  #exited = false;
  #stderr = "";
  /** Resolves when the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;

  private constructor(
    child: Deno.ChildProcess,
    readonly socket: string,
    readonly dir: string,
    onStderrLine?: (line: string) => void,
  ) {
    this.#child = child;
    this.status = child.status.finally(() => (this.#exited = true));
    (async () => {
      const decoder = new TextDecoder();
      let partial = "";
      try {
        for await (const chunk of child.stderr) {
          const text = decoder.decode(chunk, { stream: true });
          // Keep the tail only: enough to explain a failure.
          this.#stderr = (this.#stderr + text).slice(-8192);
          if (onStderrLine) {
            const lines = (partial + text).split("\n");
            partial = lines.pop()!;
            for (const line of lines) onStderrLine(line);
          }
        }
      } catch {
        // closed
      }
    })();
  }

  /** The daemon's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The last 8 KiB the daemon wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Starts a daemon and waits until it accepts connections.
   * @param workerCount `--workers` for the daemon; its own default when undefined.
   * @param options `verbose`: start it with `--verbose` (a line per request
   * with its time inside the daemon); `flags`: more daemon flags (e.g.
   * `--no-pin`); `onStderrLine`: called with each line it writes to stderr.
   * @throws {Error} When it exits first or does not listen within 120 s.
   */
  static async start(
    workerCount?: number,
    options: {
      verbose?: boolean;
      flags?: string[];
      onStderrLine?: (line: string) => void;
      /** Another checkout's daemon.ts, to compare versions. */
      script?: string;
    } = {},
  ): Promise<DaemonProcess> {
    const dir = await Deno.makeTempDir({ prefix: "curserve-bench-daemon-" });
    const socket = join(dir, "daemon.sock");
    const args = ["run", "-A", options.script ?? daemonScript, "--socket", socket];
    if (workerCount !== undefined) args.push("--workers", String(workerCount));
    if (options.verbose) args.push("--verbose");
    // Each run measures what it says: a load builds every sketch unless
    // the benchmark itself gives a cache (older checkouts lack the flag).
    const flags = options.flags ?? [];
    if (!options.script && !flags.includes("--cache-dir")) args.push("--no-cache");
    args.push(...flags);
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const d = new DaemonProcess(child, socket, dir, options.onStderrLine);
    DaemonProcess.#live.add(d);
    const deadline = performance.now() + 120_000;
    while (true) {
      if (d.#exited) {
        await d.stop();
        throw new Error(`the daemon exited before listening:\n${d.#stderr}`);
      }
      try {
        (await Deno.connect({ transport: "unix", path: socket })).close();
        return d;
      } catch {
        if (performance.now() > deadline) {
          await d.stop();
          throw new Error(`the daemon did not listen on ${socket} within 120 s:\n${d.#stderr}`);
        }
        await sleep(50);
      }
    }
  }

  /**
   * Stops every daemon still running on SIGINT or SIGTERM and exits with
   * 130, so an interrupted benchmark leaves no process or socket behind.
   * Requests failing as the daemons go away are expected then, and silenced.
   * @param tag Prefix for the message on stderr.
   * @returns A function that removes the handlers again.
   */
  static stopAllOnSignal(tag: string): () => void {
    let interrupted = false;
    const onSignal = () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`${tag}: interrupted, stopping the daemon`);
      Promise.all([...DaemonProcess.#live].map((d) => d.stop())).finally(() => Deno.exit(130));
    };
    const onRejection = (e: PromiseRejectionEvent) => {
      if (interrupted) e.preventDefault();
    };
    globalThis.addEventListener("unhandledrejection", onRejection);
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    return () => {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
      globalThis.removeEventListener("unhandledrejection", onRejection);
    };
  }

  /** Resident set size now (VmRSS), in bytes; NaN once the process is gone. */
  rss(): number {
    return procStatus(this.pid, "VmRSS");
  }

  /** Peak resident set size so far (VmHWM), in bytes; NaN once the process is gone. */
  peakRss(): number {
    return procStatus(this.pid, "VmHWM");
  }

  /** SIGTERM, then SIGKILL if it is still there after 5 s; removes the temp dir. */
  async stop(): Promise<void> {
    DaemonProcess.#live.delete(this);
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const done = await Promise.race([
        this.status.then(() => true),
        sleep(5_000).then(() => false),
      ]);
      if (!done) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await this.status;
      }
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
