/**
 * Parity with ripgrep: every case of `parity_cases.ts` runs through
 * `rg --sort path` and through our `grep.ts` in the fixture tree of
 * `fixtures.ts`; stdout bytes and exit codes must be identical.
 *
 * One Deno.test per case, so `deno task test --filter '<case name>'` reruns one.
 *
 * @module
 */

import { makeFixtureTree } from "./fixtures.ts";
import { PARITY_CASES, type ParityCase } from "./parity_cases.ts";

const RG = "/usr/bin/rg";
const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const GREP_TS = `${REPO}/grep.ts`;
/** How many cases run ahead of the one being checked (bounds concurrency). */
const LOOKAHEAD = 4;
/** The cases also run through the real contract, `deno task grep`. */
const TASK_CASES = [
  "foo",
  "-n foo repo/src",
  "(in repo/src) foo ../web",
  "--files repo/sort",
  "'foo('",
  "zzz_no_such_word",
];

interface Outcome {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

// --- fixture -----------------------------------------------------------------

let fixture: Promise<string> | undefined;
/** The fixture root, built on first use and removed when the tests end. */
function fixtureRoot(): Promise<string> {
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

async function run(cmd: string, args: string[], cwd: string): Promise<Outcome> {
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

type Runner = "ours" | "task";

async function runCase(
  c: ParityCase,
  runner: Runner,
): Promise<{ rg: Outcome; ours: Outcome }> {
  const root = await fixtureRoot();
  const args = c.args.map((a) => a.replaceAll("{ROOT}", root));
  const cwd = c.cwd ? `${root}/${c.cwd}` : root;
  const rg = await run(RG, ["--sort", "path", ...args], cwd);
  const ours = await run(
    Deno.execPath(),
    runner === "ours"
      ? ["run", "--quiet", "--allow-read", "--allow-env", GREP_TS, ...args]
      : ["task", "--quiet", "--config", `${REPO}/deno.json`, "grep", ...args],
    cwd,
  );
  return { rg, ours };
}

const started = new Map<number, ReturnType<typeof runCase>>();
function result(i: number): ReturnType<typeof runCase> {
  for (let j = i; j < Math.min(i + LOOKAHEAD, PARITY_CASES.length); j++) {
    if (!started.has(j)) started.set(j, runCase(PARITY_CASES[j], "ours"));
  }
  return started.get(i)!;
}

// --- comparing -------------------------------------------------------------------

/** `--json` output carries timings; blank them (and nothing else). */
function normalize(c: ParityCase, stdout: Uint8Array): Uint8Array {
  if (!c.args.includes("--json")) return stdout;
  const text = new TextDecoder().decode(stdout); // --json output is always UTF-8
  return new TextEncoder().encode(
    text.replace(/"(elapsed|elapsed_total)":\{[^{}]*\}/g, '"$1":{}'),
  );
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A short, readable account of where two outputs first differ. */
function describeDiff(expected: Uint8Array, actual: Uint8Array): string {
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
  const cut = (s: string) =>
    JSON.stringify(s.length > 300 ? s.slice(0, 300) + "…" : s);
  const show = (lines: string[], from: number) =>
    lines.slice(from, from + 6).map((l, k) => `    ${from + k + 1}: ${cut(l)}`)
      .join("\n") || "    (end)";
  const from = Math.max(0, i - 2);
  return `first difference at line ${
    i + 1
  } (rg: ${exp.length} lines, ours: ${act.length}):\n` +
    `  rg:\n${show(exp, from)}\n  ours:\n${show(act, from)}`;
}

function check(
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

// --- tests -----------------------------------------------------------------------

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("parity cases have unique names", () => {
  const seen = new Set<string>();
  for (const c of PARITY_CASES) {
    if (seen.has(c.name)) throw new Error(`duplicate case name: ${c.name}`);
    seen.add(c.name);
  }
});

Deno.test({
  name: "fixture: rg applies the intended ignore rules",
  ...opts,
  async fn() {
    const root = await fixtureRoot();
    const files = async (...args: string[]) =>
      new TextDecoder().decode(
        (await run(RG, ["--sort", "path", "--files", ...args], root)).stdout,
      )
        .split("\n").filter(Boolean);
    const listed = await files();
    const expectListed = (path: string, yes: boolean, list = listed) => {
      if (list.includes(path) !== yes) {
        throw new Error(
          `rg --files should ${yes ? "" : "not "}list ${path}:\n${
            list.join("\n")
          }`,
        );
      }
    };
    for (
      const p of [
        "repo/secret.txt", // .gitignore plain name
        "repo/app.log", // *.log
        "repo/sub/deeper/debug.log", // *.log applies in subdirs
        "repo/build/output.txt", // build/
        "repo/src/build/artifact.txt", // build/ matches at any depth
        "repo/only_root.txt", // /only_root.txt
        "repo/src/gen/generated.rs", // **/gen/**
        "repo/gen/top.txt",
        "repo/tmp_scratch.txt", // tmp_*
        "repo/ignored_by_dot_ignore.txt", // .ignore
        "repo/old.bak", // .ignore *.bak
        "repo/rg_skipped.md", // .rgignore
        "repo/excluded_by_info.txt", // .git/info/exclude
        "repo/logs/local.txt", // nested .gitignore
        "plain/plain_ignored.txt", // .ignore outside a git repo
        "repo/.env", // hidden
        "repo/docs/.hidden.txt",
      ]
    ) expectListed(p, false);
    for (
      const p of [
        "repo/keep.log", // !keep.log
        "repo/notes.log", // .ignore's !notes.log beats .gitignore's *.log
        "repo/tmp_keep.txt", // .rgignore's !tmp_keep.txt beats .gitignore's tmp_*
        "repo/logs/trace.log", // nested .gitignore's !*.log
        "repo/sub/only_root.txt", // /only_root.txt is anchored
        "plain/plain_gitignored.txt", // .gitignore outside a git repo is not used
        "repo/data/early.bin",
        "repo/sort/a b.txt",
      ]
    ) expectListed(p, true);
    const hidden = await files("--hidden");
    for (
      const p of [
        "repo/.env",
        "repo/.config/settings.json",
        "repo/docs/.hidden.txt",
      ]
    ) {
      expectListed(p, true, hidden);
    }
    // `rg --sort path` sorts by file name per directory: "a" (a dir) before "a b.txt".
    const sorted = await files("repo/sort");
    if (
      sorted.indexOf("repo/sort/a/inner.txt") >
        sorted.indexOf("repo/sort/a b.txt")
    ) {
      throw new Error(`unexpected sort order:\n${sorted.join("\n")}`);
    }
    // Binary handling: early NUL suppresses lines, late NUL stops after matches.
    const late = await run(RG, ["--sort", "path", "needle", "repo/data"], root);
    const text = new TextDecoder().decode(late.stdout);
    if (
      !text.includes("repo/data/late.bin:line 00400") ||
      !text.includes("WARNING: stopped searching binary file")
    ) {
      throw new Error(`unexpected binary handling:\n${text}`);
    }
    const early = await run(RG, ["needle", "repo/data/early.bin"], root);
    if (
      !new TextDecoder().decode(early.stdout).startsWith("binary file matches")
    ) {
      throw new Error("early.bin should be reported as a binary match");
    }
  },
});

PARITY_CASES.forEach((c, i) => {
  Deno.test({
    name: `parity: ${c.name}`,
    ...opts,
    fn: async () => check(c, await result(i)),
  });
});

for (const name of TASK_CASES) {
  const c = PARITY_CASES.find((c) => c.name === name);
  if (!c) throw new Error(`TASK_CASES names an unknown case: ${name}`);
  Deno.test({
    name: `deno task grep: ${name}`,
    ...opts,
    fn: async () => check(c, await runCase(c, "task")),
  });
}
