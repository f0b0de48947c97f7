/**
 * The README's two commands, read from README.md itself (the ```sh blocks
 * of its "The two commands" section) and run exactly as written, in a fresh
 * clone with nothing cached and the npm registry refused, as a new user's
 * first run would be. So the README cannot drift from what works.
 *
 * The main job (the first command) runs to its end, bounded by a time limit.
 * The second, the test suite, is the very suite this file is part of: run
 * whole from here it would start itself again. So this checks that it is a
 * `deno task` whose deno.json task runs `deno test` over `tests/`, then runs
 * the command as written with `--filter` appended, selecting one quick core
 * test: the task really starts, type-checks every test file, and passes.
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { dirname, join } from "node:path";
import { cloneWorkingTree, firstRunEnv } from "./checkout.ts";
import { REPO, TEST_OPTS, within } from "./harness.ts";

const SECTION = "## The two commands";

/** The ```sh blocks of the README's "The two commands" section, each one command. */
function readmeCommands(readme: string): string[] {
  const start = readme.indexOf(`\n${SECTION}\n`);
  ok(start >= 0, `README.md has no "${SECTION}" section`);
  const end = readme.indexOf("\n## ", start + SECTION.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1].trim());
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` with bash in `cwd`, as a user would paste it (bounded). */
async function shell(
  command: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Run> {
  const child = new Deno.Command("bash", {
    args: ["-c", command],
    cwd,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const out = await within(child.output(), timeoutMs, `README command: ${command}`);
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch {
      // it exited meanwhile
    }
    throw err;
  }
}

Deno.test("README: its two commands, run as written in a fresh clone", TEST_OPTS, async () => {
  const commands = readmeCommands(await Deno.readTextFile(join(REPO, "README.md")));
  strictEqual(commands.length, 2, `expected two sh blocks in "${SECTION}":\n${commands}`);
  for (const c of commands) ok(!c.includes("\n"), `one command per block, got:\n${c}`);
  const [mainJob, tests] = commands;

  const clone = await cloneWorkingTree("curserve-readme-");
  try {
    const denoDir = join(dirname(clone), "deno-dir");
    await Deno.mkdir(denoDir);
    const env = firstRunEnv(denoDir);

    // The main job: it must end by itself, find something, and agree with rg.
    const job = await shell(mainJob, clone, env, 180_000);
    strictEqual(job.code, 0, `${mainJob} exited ${job.code}:\n${job.stdout}\n${job.stderr}`);
    match(job.stdout, /^workspace .*: \d+ files/m, `no workspace line:\n${job.stdout}`);
    match(job.stdout, /^daemon: .* median of \d+ searches/m, `no daemon timing:\n${job.stdout}`);
    match(job.stdout, /^rg: .* median of \d+ runs/m, `no rg timing:\n${job.stdout}`);
    match(job.stdout, /^same answer as rg --sort path/m, `no agreement with rg:\n${job.stdout}`);
    const found = Number(job.stdout.match(/^(\d+) lines/m)?.[1]);
    ok(found > 0, `the main job found nothing in the clone:\n${job.stdout}`);

    // The tests: the command is a task of deno.json that runs `deno test` over tests/ ...
    const task = tests.match(/^deno task (\S+)$/)?.[1];
    ok(task, `the test command is not 'deno task NAME': ${tests}`);
    const defined = JSON.parse(await Deno.readTextFile(join(clone, "deno.json"))).tasks[task];
    ok(typeof defined === "string", `deno.json defines no task '${task}'`);
    const words = defined.split(/\s+/);
    deepStrictEqual(words.slice(0, 2), ["deno", "test"], `task ${task} is not deno test`);
    ok(words.includes("tests/"), `task ${task} does not run the tests/ folder: ${defined}`);

    // ... and, run as written with one quick core test selected, it passes.
    const name = "the committed WASM matches the sources";
    const run = await shell(`${tests} --filter '${name}'`, clone, env, 300_000);
    strictEqual(run.code, 0, `${tests} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
    match(run.stdout, /ok \| 1 passed \| 0 failed/, `not exactly one test passed:\n${run.stdout}`);
  } finally {
    await Deno.remove(dirname(clone), { recursive: true });
  }
});
