/**
 * Shared pieces of the rg-parity tests: the fixture root, running `rg` (or
 * any command) with a clean environment, normalizing `--json` timings, and
 * comparing outputs with a readable diff.
 *
 * @module
 */

import { makeFixtureTree } from "./fixtures.ts";
import type { ParityCase } from "./parity_cases.ts";

/** The reference ripgrep. */
export const RG = "/usr/bin/rg";
/** The repository root (no trailing slash). */
export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** What a command (or an engine standing in for one) produced. */
export interface Outcome {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

// --- fixture -----------------------------------------------------------------

let fixture: Promise<string> | undefined;
/** The fixture root, built on first use and removed when the tests end. */
export function fixtureRoot(): Promise<string> {
  return fixture ??= (async () => {
    const dir = await Deno.realPath(
      await Deno.makeTempDir({ prefix: "curserve-parity-" }),
    );
    globalThis.addEventListener(
      "unload",
      () => Deno.removeSync(dir, { recursive: true }),
    );
    await makeFixtureTree(dir);
    return dir;
  })();
}

// --- running -------------------------------------------------------------------

/** The environment without variables that change rg's or grep.ts's behaviour. */
function cleanEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.INIT_CWD; // grep.ts resolves paths against it (set by `deno task`)
  delete env.RIPGREP_CONFIG_PATH;
  return env;
}

/** Runs `cmd` in `cwd` with a clean environment and stdin closed. */
export async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<Outcome> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    clearEnv: true,
    env: cleanEnv(),
    stdin: "null", // with a piped stdin rg would search stdin, not the cwd
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: out.stdout,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Runs `rg --sort path ...args` in `cwd`. */
export function rg(args: string[], cwd: string): Promise<Outcome> {
  return run(RG, ["--sort", "path", ...args], cwd);
}

/** The lines of `rg --sort path --files ...args` in `cwd`. */
export async function rgFiles(args: string[], cwd: string): Promise<string[]> {
  const { stdout } = await rg(["--files", ...args], cwd);
  return new TextDecoder().decode(stdout).split("\n").filter(Boolean);
}

// --- comparing -------------------------------------------------------------------

/** `--json` output carries timings; blank them (and nothing else). */
export function normalize(c: ParityCase, stdout: Uint8Array): Uint8Array {
  if (!c.args.includes("--json")) return stdout;
  const text = new TextDecoder().decode(stdout); // --json output is always UTF-8
  return new TextEncoder().encode(
    text.replace(/"(elapsed|elapsed_total)":\{[^{}]*\}/g, '"$1":{}'),
  );
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A short, readable account of where two outputs first differ. */
export function describeDiff(expected: Uint8Array, actual: Uint8Array): string {
  const dec = new TextDecoder();
  const lines = (b: Uint8Array) => b.length ? dec.decode(b).split("\n") : [];
  const exp = lines(expected);
  const act = lines(actual);
  let i = 0;
  while (i < exp.length && i < act.length && exp[i] === act[i]) i++;
  if (i === exp.length && i === act.length) {
    let b = 0;
    while (expected[b] === actual[b]) b++;
    const hex = (x?: number) => x === undefined ? "end" : `0x${x.toString(16)}`;
    return `outputs differ only in non-UTF-8 bytes, first at byte ${b}: ` +
      `rg ${hex(expected[b])} vs ours ${hex(actual[b])}`;
  }
  const cut = (s: string) => JSON.stringify(s.length > 300 ? s.slice(0, 300) + "…" : s);
  const show = (lines: string[], from: number) =>
    lines.slice(from, from + 6).map((l, k) => `    ${from + k + 1}: ${cut(l)}`)
      .join("\n") || "    (end)";
  const from = Math.max(0, i - 2);
  return `first difference at line ${i + 1} (rg: ${exp.length} lines, ours: ${act.length}):\n` +
    `  rg:\n${show(exp, from)}\n  ours:\n${show(act, from)}`;
}

/**
 * Throws, naming the case, unless `ours` matches `rg`: same exit code, same
 * (normalized) stdout bytes, and on rg errors a non-empty stderr without a
 * stack trace.
 */
export function check(
  c: ParityCase,
  { rg, ours }: { rg: Outcome; ours: Outcome },
): void {
  const problems: string[] = [];
  if (rg.code !== ours.code) {
    problems.push(`exit code: rg ${rg.code}, ours ${ours.code}`);
  }
  const expected = normalize(c, rg.stdout);
  const actual = normalize(c, ours.stdout);
  if (!equalBytes(expected, actual)) {
    problems.push(describeDiff(expected, actual));
  }
  if (rg.code === 2) {
    if (ours.stderr.trim() === "") {
      problems.push("ours: stderr is empty on error");
    }
    if (/^ {4}at |Uncaught/m.test(ours.stderr)) {
      problems.push(
        `ours: stderr has a stack trace:\n${ours.stderr.slice(0, 1000)}`,
      );
    }
  } else if (ours.code !== rg.code && ours.stderr) {
    problems.push(`ours: stderr:\n${ours.stderr.slice(0, 1000)}`);
  }
  if (problems.length) {
    throw new Error(
      `case ${JSON.stringify(c.name)}\n  args: ${JSON.stringify(c.args)}` +
        (c.cwd ? `\n  cwd: ${c.cwd}` : "") + `\n${problems.join("\n")}`,
    );
  }
}

/** Options for tests that share the fixture and spawn processes. */
export const TEST_OPTS = { sanitizeOps: false, sanitizeResources: false };
