/**
 * Small helpers the benchmark scripts share: running the rg baseline,
 * comparing outputs, order statistics, and formatting for markdown tables.
 * @module
 */
import { cpus, totalmem } from "node:os";

/** The environment for rg, without a config file adding flags. */
const rgEnv = (() => {
  const env = Deno.env.toObject();
  delete env.RIPGREP_CONFIG_PATH;
  return env;
})();

/** Runs `rg args` in `cwd` (stdin closed: rg would search a piped stdin). */
export function runRg(cwd: string, args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command("rg", {
    args,
    cwd,
    env: rgEnv,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function countLines(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
  return n;
}

/** Nearest-rank percentile of sorted samples (NaN when there are none). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Shell-style quoting for display. */
export function shellWord(w: string): string {
  return /^[\w\-.,/:=+]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`;
}

/** Milliseconds with about three significant digits ("–" for none). */
export const ms = (x: number) =>
  Number.isNaN(x) ? "–" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
export const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Latency order statistics of one set of samples, in ms. */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank p50/p95/p99 and the maximum of `xs` (NaN for none). */
export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/** The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them. */
export const loadavg = (): string =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

export const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

/** A command's trimmed stdout ("" when it cannot run). */
export async function commandText(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/**
 * Parses an integer command-line option.
 * @param name The option, for the message.
 * @param text Its value, or undefined when absent.
 * @param fallback The value when absent.
 * @throws {RangeError} When it is not an integer in [min, max].
 */
export function intOption(
  name: string,
  text: string | undefined,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(
      `--${name} must be an integer ${
        max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
      }, got ${text}`,
    );
  }
  return n;
}

/** What a report says about the run: when, which build, on what. */
export interface RunInfo {
  started: Date;
  gitHead: string;
  gitDirty: boolean;
  rgVersion: string;
  loadStart: string;
}

/** Collects {@link RunInfo} at the start of a benchmark. */
export async function runInfo(): Promise<RunInfo> {
  const repo = new URL("..", import.meta.url).pathname;
  return {
    started: new Date(),
    gitHead: await commandText("git", ["rev-parse", "--short", "HEAD"], repo),
    gitDirty:
      (await commandText("git", ["status", "--porcelain", "--untracked-files=no"], repo)) !== "",
    rgVersion: (await commandText("rg", ["--version"])).split("\n")[0],
    loadStart: loadavg(),
  };
}

/** The report's header lines: date and commit, machine, load average at start and now. */
export function runHeader(info: RunInfo): string {
  const cpu = cpus();
  return `- Date: ${info.started.toISOString()}; curserve ${info.gitHead || "unknown commit"}${
    info.gitDirty ? " (with uncommitted changes)" : ""
  }
- Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), ${
    (totalmem() / 2 ** 30).toFixed(0)
  } GiB RAM; Deno ${Deno.version.deno}; ${info.rgVersion}
- Load average (1/5/15 min): ${info.loadStart} at start, ${loadavg()} at end`;
}

/** CPU seconds a process has used so far (user + system; with `children`, also its
 * waited-for children's, such as rg subprocesses), from `/proc/<pid>/stat`; NaN once gone. */
export function processCpuSeconds(pid: number, children = false): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces): state is field 3.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ").map(Number);
    const ticks = f[11] + f[12] + (children ? f[13] + f[14] : 0);
    return ticks / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** The kernel's USER_HZ: /proc reports CPU time in these ticks (100 on Linux everywhere). */
const CLOCK_TICKS = 100;

/** The whole machine's CPU time so far, busy and total, in seconds summed over cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  return { busy: busy / CLOCK_TICKS, total: (busy + idle + iowait) / CLOCK_TICKS };
}
