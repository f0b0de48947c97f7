/**
 * `run_shell_command`'s process handling: `bash -c` in the workspace, in a
 * process group of its own so that a timeout or Ctrl-C kills everything the
 * command started, with the output kept to a head and a tail.
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** What a shell command did. */
export interface ShellOutcome {
  /** stdout and stderr interleaved, cut to a head and a tail past the cap. */
  output: string;
  /** Bytes it printed in all. */
  bytes: number;
  /** Exit status (128 + signal number when killed). */
  code: number;
  /** Killed because it ran past its time limit. */
  timedOut: boolean;
}

/** Keeps the first and the last `half` bytes of a stream. */
class HeadTail {
  #head: Uint8Array[] = [];
  #headBytes = 0;
  #tail = new Uint8Array(0);
  bytes = 0;

  constructor(readonly half: number) {}

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    const room = this.half - this.#headBytes;
    if (room > 0) {
      this.#head.push(chunk.subarray(0, room));
      this.#headBytes += Math.min(room, chunk.length);
      chunk = chunk.subarray(room);
    }
    if (chunk.length === 0) return;
    const tail = new Uint8Array(Math.min(this.half, this.#tail.length + chunk.length));
    const keep = tail.length - Math.min(chunk.length, tail.length);
    tail.set(this.#tail.subarray(this.#tail.length - keep), 0);
    tail.set(chunk.subarray(chunk.length - (tail.length - keep)), keep);
    this.#tail = tail;
  }

  text(): string {
    const dec = new TextDecoder();
    const head = concatBytes(this.#head);
    const skipped = this.bytes - this.#headBytes - this.#tail.length;
    if (skipped === 0) return dec.decode(concatBytes([head, this.#tail]));
    return `${dec.decode(head)}\n[… ${skipped} bytes of output left out …]\n${
      dec.decode(this.#tail)
    }`;
  }
}

/**
 * Runs `command` with `bash -c` in `cwd`, stdin closed.
 * @param timeoutMs Kill the command's process group after this long.
 * @param capBytes Keep at most about this much output (half head, half tail).
 * @param signal Aborting it kills the process group too (Ctrl-C).
 * @throws When bash cannot be started.
 */
export async function runShell(
  command: string,
  cwd: string,
  timeoutMs: number,
  capBytes: number,
  signal?: AbortSignal,
): Promise<ShellOutcome> {
  // setsid makes bash a process group leader, so one kill reaches its
  // children too (a `sleep` in the background would otherwise hold the
  // output pipe open after bash is gone).
  const child = new Deno.Command("setsid", {
    args: ["bash", "-c", `exec 2>&1\n${command}`],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let timedOut = false;
  const killGroup = () => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  signal?.addEventListener("abort", killGroup);
  const out = new HeadTail(capBytes >> 1);
  try {
    for await (const chunk of child.stdout) out.push(chunk);
    const status = await child.status;
    return { output: out.text(), bytes: out.bytes, code: status.code, timedOut };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", killGroup);
  }
}
