/**
 * Small helpers the benchmark scripts share: running the rg baseline,
 * comparing outputs, order statistics, and formatting for markdown tables.
 * @module
 */

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
