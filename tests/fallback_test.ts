/**
 * The exact fallback (src/fallback.ts): flags only the real rg answers run
 * it with the same argv, cwd and stdin, and its stdout bytes, stderr and
 * exit status come back unchanged, through `grep.ts` and `Workspace.run`;
 * a curserve shim on PATH is never taken for rg; with no rg, a clear error.
 * Through a daemon (`grep.ts --daemon`), the daemon answers `grep_cli` with
 * `{fallback}` and never runs rg itself: the client runs it, as above.
 *
 * @module
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { DaemonClient, DaemonError, Workspace } from "../mod.ts";
import { SHIM_MARKER } from "../src/fallback.ts";
import {
  cleanEnv,
  equalBytes,
  fixtureRoot,
  normalize,
  REPO,
  RG,
  SLOW_PATTERN,
  slowProse,
  taskRunArgs,
  TEST_OPTS,
  withDaemon,
} from "./harness.ts";

const GREP_TS = join(REPO, "grep.ts");
const PERMS = ["--allow-read", "--allow-env", "--allow-run"];

interface Outcome {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

async function exec(
  cmd: string,
  args: string[],
  cwd: string,
  opts: { env?: Record<string, string>; stdin?: Uint8Array } = {},
): Promise<Outcome> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    clearEnv: true,
    env: { ...cleanEnv(), ...opts.env },
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    try {
      await w.write(opts.stdin);
      await w.close();
    } catch (err) {
      // Given a path, rg reads no stdin and may be gone before the write.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    }
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** grep.ts and rg on the same command line: all three outputs identical.
 * @param opts.daemon Run `grep.ts --daemon SOCKET` (with the grep task's
 * flags) instead of grep.ts in its own process. */
async function assertPassedThrough(
  args: string[],
  cwd: string,
  opts: { env?: Record<string, string>; stdin?: Uint8Array; daemon?: string } = {},
): Promise<Outcome> {
  const grep = opts.daemon === undefined
    ? ["run", "--quiet", ...PERMS, GREP_TS]
    : [...taskRunArgs("grep"), "--daemon", opts.daemon];
  const [expected, ours] = await Promise.all([
    exec(RG, args, cwd, opts),
    exec(Deno.execPath(), [...grep, ...args], cwd, opts),
  ]);
  const what = JSON.stringify(args) + (opts.daemon === undefined ? "" : " (--daemon)");
  strictEqual(ours.code, expected.code, `${what}: exit status`);
  const c = { name: what, args };
  ok(equalBytes(normalize(c, ours.stdout), normalize(c, expected.stdout)), `${what}: stdout`);
  strictEqual(ours.stderr, expected.stderr, `${what}: stderr`);
  return expected;
}

/** A directory with gzip-compressed files, for -z. */
async function zipTree(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "curserve-zip-" });
  await Deno.writeTextFile(join(dir, "plain.txt"), "needle in plain text\n");
  const gz = (text: string) =>
    new Response(
      new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
    ).bytes();
  await Deno.writeFile(join(dir, "packed.txt.gz"), await gz("one\nneedle two\nthree needle\n"));
  return dir;
}

Deno.test({
  name: "fallback: --pcre2 prints rg's bytes, stderr and exit status",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    // Look-around: the core's regex engines have none.
    const hit = await assertPassedThrough(
      ["--sort", "path", "-P", "-n", "foo(?=\\()", "repo"],
      root,
    );
    strictEqual(hit.code, 0);
    ok(hit.stdout.length > 0);
    const none = await assertPassedThrough(["--pcre2", "zzz(?!q)", "repo/src"], root);
    strictEqual(none.code, 1);
    const bad = await assertPassedThrough(["--pcre2", "foo(?<", "repo/src"], root);
    strictEqual(bad.code, 2);
    ok(bad.stderr.length > 0, "rg's error message passes through");
    await assertPassedThrough(["--json", "-P", "(?<=let )needle", "repo/src/main.rs"], root);
  },
});

Deno.test({
  name: "fallback: -z searches compressed files as rg does",
  ...TEST_OPTS,
  async fn() {
    const dir = await zipTree();
    try {
      const out = await assertPassedThrough(["--sort", "path", "-z", "-n", "needle"], dir);
      strictEqual(out.code, 0);
      ok(new TextDecoder().decode(out.stdout).includes("packed.txt.gz:2:needle two"));
      await assertPassedThrough(["--search-zip", "-c", "needle", "packed.txt.gz"], dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fallback: piped standard input with no path, or -, is searched as rg searches it",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const stdin = new TextEncoder().encode("hello\nneedle here\nbye needle\n");
    const out = await assertPassedThrough(["-n", "needle"], root, { stdin });
    ok(new TextDecoder().decode(out.stdout).startsWith("2:needle here"));
    await assertPassedThrough(["--sort", "path", "-c", "needle", "-", "repo/src/main.rs"], root, {
      stdin,
    });
  },
});

Deno.test({
  name: "fallback: Workspace.run passes rg's answer through too",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const ws = await Workspace.open(root);
    try {
      const args = ["--sort", "path", "-P", "-c", "needle(?=;)", "repo"];
      const expected = await exec(RG, args, root);
      const ours = ws.run(args);
      strictEqual(ours.code, expected.code);
      ok(equalBytes(ours.stdout, expected.stdout));
      strictEqual(ours.stderr, expected.stderr);
    } finally {
      ws.close();
    }
  },
});

Deno.test({
  name: "fallback: a curserve shim first on PATH is skipped; with no rg, a clear error (exit 2)",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const dir = await Deno.makeTempDir({ prefix: "curserve-path-" });
    try {
      // A shim that would recurse forever if run: it must be passed over.
      await Deno.writeTextFile(join(dir, "rg"), `#!/bin/sh\n# ${SHIM_MARKER}\nexit 99\n`, {
        mode: 0o755,
      });
      const env = { PATH: `${dir}:/usr/bin:/bin` };
      await assertPassedThrough(["--sort", "path", "-P", "-l", "needle(?=\\b)", "repo/src"], root, {
        env,
      });
      const lonely = await exec(
        Deno.execPath(),
        ["run", "--quiet", ...PERMS, GREP_TS, "-P", "needle", "repo/src"],
        root,
        { env: { PATH: dir } },
      );
      strictEqual(lonely.code, 2);
      strictEqual(lonely.stdout.length, 0);
      ok(/--pcre2 needs the real ripgrep.*no rg/s.test(lonely.stderr), lonely.stderr);
      ok(!/^\s+at /m.test(lonely.stderr), "no stack trace");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fallback: the native shim (marker at its end) and CURSERVE_SHIM_SKIP's files are skipped",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const dir = await Deno.makeTempDir({ prefix: "curserve-path-" });
    const other = await Deno.makeTempDir({ prefix: "curserve-path-" });
    try {
      // As installed, the native shim carries the marker past its first
      // 512 bytes (a static string) and in its last line.
      const padding = "#" + "x".repeat(4000) + "\n";
      await Deno.writeTextFile(
        join(dir, "rg"),
        `#!/bin/sh\nexit 99\n${padding}# ${SHIM_MARKER}: native\n`,
        { mode: 0o755 },
      );
      // Unmarked, but named by a shim that already passed through it.
      await Deno.writeTextFile(join(other, "rg"), "#!/bin/sh\nexit 98\n", { mode: 0o755 });
      const info = Deno.statSync(join(other, "rg"));
      const args = ["--sort", "path", "-P", "-l", "needle(?=\\b)", "repo/src"];
      await assertPassedThrough(args, root, { env: { PATH: `${dir}:/usr/bin:/bin` } });
      await assertPassedThrough(args, root, {
        env: { PATH: `${other}:/usr/bin:/bin`, CURSERVE_SHIM_SKIP: `1:2,${info.dev}:${info.ino}` },
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(other, { recursive: true });
    }
  },
});

Deno.test({
  name: "fallback through a daemon: grep.ts --daemon runs the real rg itself, as rg prints",
  ...TEST_OPTS,
  async fn(t) {
    const root = await fixtureRoot();
    const zips = await zipTree();
    try {
      await withDaemon([], async (d) => {
        const cases = async (loaded: string) => {
          await t.step(`${loaded}--pcre2 look-ahead`, async () => {
            const hit = await assertPassedThrough(
              ["--sort", "path", "-n", "--pcre2", "foo(?=bar)"],
              root,
              { daemon: d.socket },
            );
            strictEqual(hit.code, 0);
            ok(new TextDecoder().decode(hit.stdout).includes("foobar"));
            strictEqual(
              (await assertPassedThrough(["-P", "zzz(?!q)", "repo/src"], root, {
                daemon: d.socket,
              })).code,
              1,
            );
            const bad = await assertPassedThrough(["-P", "foo(?<", "repo/src"], root, {
              daemon: d.socket,
            });
            strictEqual(bad.code, 2);
            ok(bad.stderr.length > 0, "rg's error message passes through");
          });
          await t.step(`${loaded}-z on a gzip file`, async () => {
            const out = await assertPassedThrough(["--sort", "path", "-z", "-n", "needle"], zips, {
              daemon: d.socket,
            });
            strictEqual(out.code, 0);
            ok(new TextDecoder().decode(out.stdout).includes("packed.txt.gz:2:needle two"));
          });
          await t.step(`${loaded}-f - reads the patterns from the client's stdin`, async () => {
            const stdin = new TextEncoder().encode("needle two\nplain\n");
            const out = await assertPassedThrough(["--sort", "path", "-z", "-f", "-"], zips, {
              daemon: d.socket,
              stdin,
            });
            strictEqual(out.code, 0);
          });
        };
        await cases("");
        // A workspace holding the tree changes nothing: rg still answers.
        const holder = await DaemonClient.connect(d.socket);
        try {
          await holder.request("open", { root });
          await holder.request("open", { root: zips });
          await cases("(loaded) ");
        } finally {
          holder.close();
        }
        await t.step("with no rg on PATH, the clear error (exit 2)", async () => {
          const out = await exec(
            Deno.execPath(),
            [...taskRunArgs("grep"), "--daemon", d.socket, "-P", "needle", "repo/src"],
            root,
            { env: { PATH: d.dir } },
          );
          strictEqual(out.code, 2);
          strictEqual(out.stdout.length, 0);
          ok(/--pcre2 needs the real ripgrep.*no rg/s.test(out.stderr), out.stderr);
        });
      });
    } finally {
      await Deno.remove(zips, { recursive: true });
    }
  },
});

Deno.test({
  name: "fallback through a daemon: grep_cli answers {fallback} at once, opening nothing",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    await withDaemon([], async (d) => {
      const client = await DaemonClient.connect(d.socket);
      try {
        const cwd = join(root, "repo"); // a git repository: a search would open it
        deepStrictEqual(
          await client.request("grep_cli", { cwd, argv: ["--pcre2", "foo(?=bar)"] }),
          { fallback: "--pcre2" },
        );
        deepStrictEqual(
          await client.request("grep_cli", { cwd, argv: ["-z", "-n", "needle", "src"] }),
          { fallback: "--search-zip" },
        );
        const stats = await client.request<{ workspaces: unknown[] }>("stats", {});
        deepStrictEqual(stats.workspaces, [], "no workspace opened for a fallback");
        // The same connection still searches what the core answers.
        const r = await client.request<{ code: number }>("grep_cli", {
          cwd,
          argv: ["-c", "needle", "src/main.rs"],
        });
        strictEqual(r.code, 0);
      } finally {
        client.close();
      }
    });
  },
});

Deno.test({
  name: "grep.ts --daemon with piped standard input searches it here, as rg does (no request)",
  ...TEST_OPTS,
  async fn(t) {
    const root = await fixtureRoot();
    const cwd = join(root, "repo"); // a git repository: a grep_cli would open it
    const stdin = new TextEncoder().encode("hello\nneedle here\nbye needle\n");
    await withDaemon([], async (d) => {
      await t.step("no path: stdin, not the tree", async () => {
        const out = await assertPassedThrough(["-n", "needle"], cwd, { stdin, daemon: d.socket });
        strictEqual(new TextDecoder().decode(out.stdout), "2:needle here\n3:bye needle\n");
      });
      await t.step("- among the paths", async () => {
        await assertPassedThrough(["--sort", "path", "-c", "needle", "-", "src/main.rs"], cwd, {
          stdin,
          daemon: d.socket,
        });
      });
      const client = await DaemonClient.connect(d.socket);
      try {
        const stats = await client.request<{ workspaces: unknown[] }>("stats", {});
        deepStrictEqual(stats.workspaces, [], "nothing was sent to the daemon");
        // With the tree loaded, stdin is still what is searched.
        await client.request("open", { root: cwd });
        await t.step("(loaded) no path", async () => {
          await assertPassedThrough(["-n", "needle"], cwd, { stdin, daemon: d.socket });
        });
      } finally {
        client.close();
      }
      await t.step("a path and stdin piped: the tree, through the daemon", async () => {
        await assertPassedThrough(["--sort", "path", "-n", "needle", "src"], cwd, {
          stdin,
          daemon: d.socket,
        });
      });
    });
  },
});

Deno.test({
  name: "fallback through a daemon: grep and matches refuse at once what only rg answers (-32602)",
  ...TEST_OPTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "curserve-rgonly-" });
    await Deno.writeTextFile(join(dir, "prose.txt"), slowProse(4 << 20));
    await Deno.writeTextFile(join(dir, "x.txt"), "foobar needle\nfoo needle\n");
    try {
      // One worker, one shard: a request that reached a worker would wait
      // behind the slow search.
      await withDaemon(["--workers", "1", "--shard-bytes", "1G"], async (d) => {
        const client = await DaemonClient.connect(d.socket);
        try {
          const { workspace } = await client.request<{ workspace: string }>("open", { root: dir });
          let slowDone = false;
          const slow = client.request("grep", { workspace, args: ["-c", SLOW_PATTERN] })
            .catch(() => {}).finally(() => (slowDone = true));
          const cases: [string[], string][] = [
            [["-P", "foo(?=bar)"], "--pcre2"],
            [["-n", "--pcre2", "foo(?!bar)", "x.txt"], "--pcre2"],
            [["-z", "needle"], "--search-zip"],
            [["--pre", "cat", "needle"], "--pre"],
            [["--sortr", "path", "needle"], "--sortr path"],
            [["--sort", "modified", "needle"], "--sort modified"],
            [["-E", "latin1", "needle"], "--encoding"],
            [["-f", "-"], "-f -"],
          ];
          for (const [args, flag] of cases) {
            for (const method of ["grep", "matches"]) {
              const what = `${method} ${JSON.stringify(args)}`;
              await rejects(client.request(method, { workspace, args }), (err: unknown) => {
                ok(err instanceof DaemonError, `${what}: ${err}`);
                strictEqual(err.code, -32602, `${what}: code`);
                ok(err.message.startsWith(`${flag} needs the real ripgrep`), err.message);
                deepStrictEqual(err.data, { fallback: flag }, `${what}: data`);
                return true;
              });
              ok(!slowDone, `${what}: answered before the worker was free`);
            }
          }
          // Not a fallback: searched (once the worker is free), as rg prints it.
          const args = ["-n", "foo(bar)?", "x.txt"];
          const r = await client.request<{ stdout: string; code: number }>("grep", {
            workspace,
            args,
          });
          const expected = await exec(RG, ["--sort", "path", ...args], dir);
          strictEqual(r.code, expected.code);
          ok(equalBytes(new TextEncoder().encode(r.stdout), expected.stdout), r.stdout);
          await slow;
        } finally {
          client.close();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "flags the engine lacks run the real rg: its bytes and exit code, exactly",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    const lines = [
      ["--passthru", "needle", "repo/src"],
      ["-r", "[$0]", "-n", "needle", "repo"],
      ["--replace=X", "-o", "needle", "repo/src"],
      ["--crlf", "-c", "needle$", "repo"],
      ["--null-data", "-c", "needle", "repo"],
      ["-uuu", "-l", "needle", "repo"],
      ["--no-unicode", "-c", "\\w+", "repo"],
      ["--max-columns", "10", "--max-columns-preview", "needle", "repo"],
      ["--vimgrep", "-U", "needle", "repo"],
      ["--binary", "-c", "needle", "repo"],
    ];
    for (const line of lines) {
      const argv = ["--sort", "path", ...line]; // (rg's own order varies run to run)
      const ours = await exec(
        Deno.execPath(),
        ["run", "--quiet", ...PERMS, GREP_TS, ...argv],
        root,
      );
      const theirs = await exec(RG, argv, root);
      const what = argv.join(" ");
      ok(
        equalBytes(ours.stdout, theirs.stdout),
        `${what}: ${new TextDecoder().decode(ours.stdout)}`,
      );
      deepStrictEqual([ours.stderr, ours.code], [theirs.stderr, theirs.code], what);
    }
    // --stats: rg's summary, with its timings.
    const stats = await exec(Deno.execPath(), [
      "run",
      "--quiet",
      ...PERMS,
      GREP_TS,
      "--stats",
      "needle",
      "repo",
    ], root);
    strictEqual(stats.code, 0, stats.stderr);
    ok(/\d+ matches\n[\s\S]*seconds spent searching/.test(new TextDecoder().decode(stats.stdout)));
    const unknown = await exec(
      Deno.execPath(),
      ["run", "--quiet", ...PERMS, GREP_TS, "--no-such-flag", "needle"],
      root,
    );
    strictEqual(unknown.code, 2);
    ok(unknown.stderr.includes("wasn't expected"), unknown.stderr);
  },
});

Deno.test({
  name: "-V and --version start with rg's first line, then say curserve",
  ...TEST_OPTS,
  async fn() {
    const root = await fixtureRoot();
    for (const flag of ["-V", "--version"]) {
      const out = await exec(Deno.execPath(), ["run", "--quiet", ...PERMS, GREP_TS, flag], root);
      strictEqual(out.code, 0);
      const text = new TextDecoder().decode(out.stdout);
      ok(text.startsWith("ripgrep 13.0.0"), text);
      ok(text.split("\n")[0].includes("curserve"), text);
    }
  },
});

/** A git repository holding a file whose name is not UTF-8 (the byte 0xFF,
 * which Deno cannot write: the shell does), and two plain ones. */
async function notUtf8Tree(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "curserve-names-" });
  await Deno.mkdir(join(dir, ".git"));
  await Deno.mkdir(join(dir, "sub"));
  await Deno.writeTextFile(join(dir, "plain.txt"), "needle in a plain name\n");
  await Deno.writeTextFile(join(dir, "sub/kept.txt"), "needle kept\n");
  const made = await new Deno.Command("sh", {
    args: ["-c", `printf 'a needle\\n' > "$(printf 'sub/caf\\351')".txt`],
    cwd: dir,
  }).output();
  strictEqual(made.code, 0, new TextDecoder().decode(made.stderr));
  return dir;
}

Deno.test({
  name: "fallback: a file name that is not UTF-8, found by the walk, is searched by the real rg",
  ...TEST_OPTS,
  async fn(t) {
    const dir = await notUtf8Tree();
    const cases = [
      ["--sort", "path", "-n", "needle"],
      ["--sort", "path", "--json", "needle", "sub"],
      ["--sort", "path", "--files"],
      ["--sort", "path", "-c", "needle", "plain.txt", "sub"],
    ];
    try {
      await t.step("grep.ts", async () => {
        for (const args of cases) {
          const out = await assertPassedThrough(args, dir);
          // --json gives the name in base64 ("bytes").
          const named = args.includes("--json")
            ? new TextDecoder().decode(out.stdout).includes(btoa("sub/caf\xe9.txt"))
            : out.stdout.includes(0xe9);
          ok(named, `${args}: rg printed the name`);
        }
        // A search that does not reach the name stays in the core.
        await assertPassedThrough(["-n", "needle", "plain.txt"], dir);
      });
      await t.step("grep.ts given the name: a clear error, not another file's answer", async () => {
        const out = await exec("sh", [
          "-c",
          `exec "$0" run --quiet ${PERMS.join(" ")} "$1" needle "$(printf 'sub/caf\\351').txt"`,
          Deno.execPath(),
          GREP_TS,
        ], dir);
        strictEqual(out.code, 2);
        strictEqual(out.stdout.length, 0);
        ok(/not valid UTF-8/.test(out.stderr), out.stderr);
      });
      await t.step("Workspace.run", async () => {
        const ws = await Workspace.open(dir);
        try {
          for (const args of cases) {
            const expected = await exec(RG, args, dir);
            const ours = ws.run(args);
            strictEqual(ours.code, expected.code, `${args}`);
            const c = { name: "", args };
            ok(equalBytes(normalize(c, ours.stdout), normalize(c, expected.stdout)), `${args}`);
          }
        } finally {
          ws.close();
        }
      });
      await withDaemon([], async (d) => {
        await t.step("grep.ts --daemon, the tree not loaded", async () => {
          for (const args of cases) await assertPassedThrough(args, dir, { daemon: d.socket });
        });
        const client = await DaemonClient.connect(d.socket);
        try {
          const { workspace } = await client.request<{ workspace: string }>("open", { root: dir });
          await t.step("grep.ts --daemon, the tree loaded", async () => {
            for (const args of cases) await assertPassedThrough(args, dir, { daemon: d.socket });
          });
          await t.step("grep_cli answers {fallback}; grep refuses with it (-32602)", async () => {
            deepStrictEqual(
              await client.request("grep_cli", { cwd: dir, argv: ["needle", "sub"] }),
              { fallback: "a file name that is not UTF-8" },
            );
            await rejects(client.request("grep", { workspace, args: ["needle"] }), (err) => {
              ok(err instanceof DaemonError, String(err));
              strictEqual(err.code, -32602);
              deepStrictEqual(err.data, { fallback: "a file name that is not UTF-8" });
              return true;
            });
            // The rest of the tree is still the workspace's to answer.
            const r = await client.request<{ stdout: string; code: number }>("grep_cli", {
              cwd: dir,
              argv: ["-n", "needle", "plain.txt"],
            });
            deepStrictEqual(r, { stdout: "1:needle in a plain name\n", stderr: "", code: 0 });
          });
        } finally {
          client.close();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
