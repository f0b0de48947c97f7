/**
 * The core runs on a first run with no npm registry: in a fresh clone, with
 * an empty `DENO_DIR` and the registry refusing connections, `deno task grep`
 * answers as rg does (exit codes 0, 1 and 2 included), the daemon starts and
 * answers a search, and the test suite type-checks and runs a core test.
 *
 * Why this can break: `deno task` installs every npm package named in
 * deno.json's "imports" or in the lockfile it uses before it runs any task,
 * whatever the task imports. So npm packages are imported by full specifier
 * (`npm:name@x.y.z`) in the one module that needs them and locked in
 * npm.lock, which only the tasks that need them name (`--lock=npm.lock`);
 * deno.json has no imports and `"lock": false`. Adding an npm package to
 * deno.json or deno.lock fails this test.
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { dirname, join } from "node:path";
import { cloneWorkingTree, DEAD_REGISTRY, firstRunEnv } from "./checkout.ts";
import { acceptsConnections, RG, sleep, TEST_OPTS, within } from "./harness.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The clone, its empty Deno cache and the environment to run in. */
interface FirstRun {
  clone: string;
  denoDir: string;
  env: Record<string, string>;
}

let made: Promise<FirstRun> | undefined;
/**
 * Makes the clone on first use, not at load: `deno task test --filter` below
 * loads this file again inside the clone, where it must cost nothing.
 */
function firstRun(): Promise<FirstRun> {
  return made ??= (async () => {
    const clone = await cloneWorkingTree("curserve-offline-");
    const denoDir = join(dirname(clone), "deno-dir");
    await Deno.mkdir(denoDir);
    globalThis.addEventListener("unload", () => {
      Deno.removeSync(dirname(clone), { recursive: true });
    });
    return { clone, denoDir, env: firstRunEnv(denoDir) };
  })();
}

/** Runs `deno ...args` in the clone with the first-run environment (bounded). */
async function deno(args: string[], timeoutMs = 120_000): Promise<Run> {
  const { clone, env } = await firstRun();
  const out = await within(
    new Deno.Command(Deno.execPath(), {
      args,
      cwd: clone,
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output(),
    timeoutMs,
    `deno ${args.join(" ")}`,
  );
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** rg's answer in the clone (`--sort path`, as `deno task grep` promises). */
async function rg(args: string[]): Promise<Run> {
  const { clone } = await firstRun();
  const out = await new Deno.Command(RG, {
    args: ["--sort", "path", ...args],
    cwd: clone,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The npm packages in the Deno cache: none may have been fetched for the core. */
async function cachedNpmPackages(): Promise<string[]> {
  const { denoDir } = await firstRun();
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return; // no npm folder at all
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.name === "package.json") found.push(path);
      else if (e.isDirectory) walk(path);
    }
  };
  walk(join(denoDir, "npm"));
  return found;
}

Deno.test("offline: Deno uses the unreachable registry (the setting this file relies on)", async () => {
  // The agent needs npm:openai: with nothing cached, fetching it must fail at 127.0.0.1:9.
  const out = await deno(["cache", "--lock=npm.lock", "agent.ts"]);
  ok(out.code !== 0, `deno cache agent.ts succeeded with the registry at ${DEAD_REGISTRY}`);
  match(out.stderr, /127\.0\.0\.1:9/, `the error does not name the dead registry:\n${out.stderr}`);
});

Deno.test("offline: deno task grep answers as rg does (exit 0, 1 and 2)", async () => {
  const cases: [string, string[]][] = [
    ["a match", ["-n", "Workspace", "src"]],
    ["no match", ["-n", "zq[x]y", "src"]],
    ["a bad regex", ["-n", "(", "src"]],
  ];
  for (const [what, args] of cases) {
    const ours = await deno(["task", "--quiet", "grep", ...args]);
    const ref = await rg(args);
    strictEqual(ours.code, ref.code, `${what}: exit ${ours.code}, rg ${ref.code}\n${ours.stderr}`);
    strictEqual(ours.stdout, ref.stdout, `${what}: stdout differs from rg's`);
    if (ref.code === 2) ok(ours.stderr.trim() !== "", `${what}: nothing on stderr`);
  }
  strictEqual((await rg(["-c", "Workspace", "src"])).code, 0, "rg found nothing: a vacuous test");
  deepStrictEqual(await cachedNpmPackages(), [], "grep made Deno fetch npm packages");
});

Deno.test("offline: the daemon starts and answers a grep", TEST_OPTS, async () => {
  const { clone, env } = await firstRun();
  const socket = join(dirname(clone), "d.sock");
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "daemon", "--socket", socket],
    cwd: clone,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(daemon.stderr).text();
  let exited: Deno.CommandStatus | undefined;
  const status = daemon.status.then((s) => exited = s);
  try {
    await within(
      (async () => {
        while (!(await acceptsConnections(socket))) {
          if (exited) throw new Error(`the daemon exited (${exited.code}):\n${await stderr}`);
          await sleep(50);
        }
      })(),
      60_000,
      "the daemon's socket",
    );
    const args = ["-n", "-i", "workspace", "src"];
    const ours = await deno(["task", "--quiet", "grep", "--daemon", socket, ...args]);
    const ref = await rg(args);
    strictEqual(ours.code, 0, `grep --daemon exited ${ours.code}:\n${ours.stderr}`);
    strictEqual(ours.stdout, ref.stdout, "grep --daemon: stdout differs from rg's");
  } finally {
    if (!exited) daemon.kill("SIGTERM");
    await within(status, 15_000, "the daemon's exit");
    await stderr;
  }
  deepStrictEqual(await cachedNpmPackages(), [], "the daemon made Deno fetch npm packages");
});

Deno.test("offline: deno task test type-checks every test file and runs a core test", async () => {
  const name = "the committed WASM matches the sources";
  const out = await deno(["task", "--quiet", "test", "--filter", name], 300_000);
  strictEqual(out.code, 0, `deno task test --filter failed:\n${out.stdout}\n${out.stderr}`);
  match(out.stdout, new RegExp(`${name} \\.\\.\\. .*ok`), `the test did not run:\n${out.stdout}`);
  match(out.stdout, /ok \| 1 passed/, `not exactly one test ran:\n${out.stdout}`);
  deepStrictEqual(await cachedNpmPackages(), [], "the tests made Deno fetch npm packages");
});
