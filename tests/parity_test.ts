/**
 * Parity with ripgrep: every case of `parity_cases.ts` runs through
 * `rg --sort path` and through our `grep.ts` in the fixture tree of
 * `fixtures.ts`; stdout bytes and exit codes must be identical.
 *
 * One Deno.test per case, so `deno task test --filter '<case name>'` reruns one.
 *
 * @module
 */

import {
  check,
  cleanEnv,
  fixtureRoot,
  type Outcome,
  REPO,
  RG,
  rg,
  rgFiles,
  run,
  TEST_OPTS,
  workspaceSkipRule,
} from "./harness.ts";
import { PARITY_CASES, type ParityCase } from "./parity_cases.ts";
import { ok, strictEqual } from "node:assert/strict";
import { parseArgs } from "../src/args.ts";
import { Workspace } from "../mod.ts";

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

type Runner = "ours" | "task";

async function runCase(
  c: ParityCase,
  runner: Runner,
): Promise<{ rg: Outcome; ours: Outcome }> {
  const root = await fixtureRoot();
  const args = c.args.map((a) => a.replaceAll("{ROOT}", root));
  const cwd = c.cwd ? `${root}/${c.cwd}` : root;
  const expected = await rg(args, cwd);
  const ours = await run(
    Deno.execPath(),
    runner === "ours"
      ? ["run", "--quiet", "--allow-read", "--allow-env", "--allow-run", GREP_TS, ...args]
      : ["task", "--quiet", "--config", `${REPO}/deno.json`, "grep", ...args],
    cwd,
  );
  return { rg: expected, ours };
}

const started = new Map<number, ReturnType<typeof runCase>>();
function result(i: number): ReturnType<typeof runCase> {
  for (let j = i; j < Math.min(i + LOOKAHEAD, PARITY_CASES.length); j++) {
    if (!started.has(j)) started.set(j, runCase(PARITY_CASES[j], "ours"));
  }
  return started.get(i)!;
}

// --- tests -----------------------------------------------------------------------

Deno.test("parity cases have unique names", () => {
  const seen = new Set<string>();
  for (const c of PARITY_CASES) {
    if (seen.has(c.name)) throw new Error(`duplicate case name: ${c.name}`);
    seen.add(c.name);
  }
});

Deno.test({
  name: "fixture: rg applies the intended ignore rules",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const files = (...args: string[]) => rgFiles(args, root);
    const listed = await files();
    const expectListed = (path: string, yes: boolean, list = listed) => {
      if (list.includes(path) !== yes) {
        throw new Error(
          `rg --files should ${yes ? "" : "not "}list ${path}:\n${list.join("\n")}`,
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
    const late = await rg(["needle", "repo/data"], root);
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
    ...TEST_OPTS,
    fn: async () => check(c, await result(i)),
  });
});

for (const name of TASK_CASES) {
  const c = PARITY_CASES.find((c) => c.name === name);
  if (!c) throw new Error(`TASK_CASES names an unknown case: ${name}`);
  Deno.test({
    name: `deno task grep: ${name}`,
    ...TEST_OPTS,
    fn: async () => check(c, await runCase(c, "task")),
  });
}

Deno.test({
  name: "agents' command lines are answered from a workspace's memory, not from disk",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const ws = await Workspace.open(root);
    try {
      const agentLines = PARITY_CASES.filter((c) =>
        c.args.includes("--json") && c.args.includes("--threads") && !workspaceSkipRule(c)
      );
      ok(agentLines.length >= 15, `only ${agentLines.length} agent cases`);
      let inMemory = 0;
      for (const c of agentLines) {
        const args = parseArgs(c.args);
        // Fewer ignore rules than the load's, or a missing ignore file, need
        // the disk; so does an ignore file over a tree with `!` rules (repo/).
        const needsDisk = args.noIgnoreVcs || args.noIgnore ||
          args.ignoreFiles.some((f) => f.includes("nothere")) ||
          (args.ignoreFiles.length > 0 && args.paths.includes("."));
        const part = ws.searchPart(args, args.paths, root);
        strictEqual(Boolean(part.fromDisk), needsDisk, `${c.name}: from disk`);
        if (!needsDisk) inMemory++;
      }
      ok(inMemory >= 10, `only ${inMemory} answered from memory`);
    } finally {
      ws.close();
    }
  },
});

Deno.test({
  name: "RIPGREP_CONFIG_PATH puts its arguments first, unless --no-config; a missing file is named",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const config = await Deno.makeTempFile({ prefix: "curserve-rgconfig-" });
    try {
      await Deno.writeTextFile(
        config,
        "# agents' defaults\n--ignore-case\n\n  -n  \n--glob=!*.md\n",
      );
      for (
        const [path, args] of [
          [config, ["needle", "proj"]],
          [config, ["--no-config", "needle", "proj"]],
          [config, ["-s", "Needle", "proj"]],
          [`${config}.missing`, ["needle", "proj/src"]],
        ] as const
      ) {
        const env = { ...cleanEnv(), RIPGREP_CONFIG_PATH: path };
        const runWith = async (cmd: string, argv: string[]) => {
          const out = await new Deno.Command(cmd, {
            args: argv,
            cwd: root,
            clearEnv: true,
            env,
            stdin: "null",
          }).output();
          return {
            code: out.code,
            stdout: out.stdout,
            stderr: new TextDecoder().decode(out.stderr),
          };
        };
        const c = { name: `RIPGREP_CONFIG_PATH=${path} ${args.join(" ")}`, args: [...args] };
        check(c, {
          rg: await runWith(RG, ["--sort", "path", ...args]),
          ours: await runWith(Deno.execPath(), [
            "run",
            "-q",
            "--allow-read",
            "--allow-env",
            GREP_TS,
            ...args,
          ]),
        });
      }
    } finally {
      await Deno.remove(config);
    }
  },
});
