/**
 * The `rg` shim (shim/rg.ts, installed by scripts/install_shim.sh): the
 * installed script itself is run, as agents run `rg`, with no daemon (it
 * runs the real rg, or with none on PATH answers in its own process), with
 * a recording server on the socket (it
 * sends the caller's cwd and argv to `grep_cli` and prints the answer as
 * given), with a server refusing the request (it answers itself), with a
 * server answering `{fallback}` (it runs the real rg itself), and with a
 * real daemon; every answer compared with the real rg's.
 *
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import { dirname, join } from "node:path";
import { SHIM_MARKER } from "../src/fallback.ts";
import { DaemonClient } from "../mod.ts";
import {
  check,
  cleanEnv,
  fixtureRoot,
  type Outcome,
  REPO,
  RG,
  TEST_OPTS,
  withDaemon,
} from "./harness.ts";

const INSTALL = join(REPO, "scripts/install_shim.sh");

async function exec(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Outcome> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    clearEnv: true,
    env: { ...cleanEnv(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Installs the shim into a fresh directory; returns it. */
async function installShim(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "curserve-shim-" });
  const out = await exec("bash", [INSTALL], REPO, {
    CURSERVE_SHIM_DIR: dir,
    PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin`,
  });
  strictEqual(out.code, 0, out.stderr);
  return dir;
}

/** Command lines agents send, and a few more (`--sort path` on both sides:
 * the shim's own answers are always in path order). */
const CASES: string[][] = [
  ["--json", "--no-messages", "--path-separator", "/", "--ignore-case", "--regexp", "needle"]
    .concat(["--ignore-file", "proj/.qwenignore", "--threads", "4", "proj"]),
  ["--json", "--regexp", "needle", "--context", "1", "--glob", "!**/node_modules/**"]
    .concat(["--ignore-file", "proj/.geminiignore", "--threads", "4", "proj"]),
  ["-n", "-i", "needle", "proj/src"],
  ["-c", "foo"],
  ["foo("],
  ["zzz_no_such_word", "proj"],
];

/** @param withRg Whether the real rg is on the shim's PATH. */
async function assertShimLikeRg(
  shimDir: string,
  socket: string,
  args: string[],
  withRg = true,
): Promise<void> {
  const root = await fixtureRoot();
  const env = { PATH: withRg ? `${shimDir}:/usr/bin:/bin` : shimDir, CURSERVE_SOCKET: socket };
  const [expected, ours] = await Promise.all([
    exec(RG, ["--sort", "path", ...args], root, {}),
    exec(join(shimDir, "rg"), ["--sort", "path", ...args], root, env),
  ]);
  check({ name: args.join(" "), args }, { rg: expected, ours });
}

/** A Unix socket server answering each JSON-RPC line with `answer(request)`. */
function recordingServer(
  path: string,
  answer: (req: { id: number; method: string; params: Record<string, unknown> }) => unknown,
): { seen: unknown[]; close(): void } {
  const listener = Deno.listen({ transport: "unix", path });
  const seen: unknown[] = [];
  (async () => {
    for await (const conn of listener) {
      (async () => {
        let text = "";
        for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
          text += chunk;
          let nl;
          while ((nl = text.indexOf("\n")) >= 0) {
            const req = JSON.parse(text.slice(0, nl));
            text = text.slice(nl + 1);
            seen.push(req);
            const reply = JSON.stringify({ jsonrpc: "2.0", id: req.id, ...answer(req) as object });
            await conn.write(new TextEncoder().encode(reply + "\n"));
          }
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  return { seen, close: () => listener.close() };
}

Deno.test({
  name: "shim: install writes a marked, executable rg; uninstall removes only curserve's",
  ...TEST_OPTS,
  async fn() {
    const dir = await installShim();
    try {
      const shim = join(dir, "rg");
      ok(Deno.readTextFileSync(shim).includes(SHIM_MARKER));
      ok((Deno.statSync(shim).mode! & 0o111) !== 0, "executable");
      const env = { CURSERVE_SHIM_DIR: dir, PATH: "/usr/bin:/bin" };
      strictEqual((await exec("bash", [INSTALL, "--remove"], REPO, env)).code, 0);
      ok(!(await Deno.stat(shim).then(() => true, () => false)), "removed");
      await Deno.writeTextFile(shim, "#!/bin/sh\necho someone else's rg\n");
      const refused = await exec("bash", [INSTALL, "--remove"], REPO, env);
      strictEqual(refused.code, 1);
      ok(refused.stderr.includes("not curserve's shim"), refused.stderr);
      ok(Deno.readTextFileSync(shim).includes("someone else's"), "left alone");
      const noOverwrite = await exec("bash", [INSTALL], REPO, env);
      strictEqual(noOverwrite.code, 1, "does not overwrite another rg");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shim: with no daemon on the socket it runs the real rg, or with none answers itself",
  ...TEST_OPTS,
  async fn(t) {
    const dir = await installShim();
    try {
      const socket = join(dir, "nobody.sock");
      for (const args of CASES) {
        await t.step(args.join(" "), () => assertShimLikeRg(dir, socket, args));
        await t.step(
          `(no rg on PATH) ${args.join(" ")}`,
          () => assertShimLikeRg(dir, socket, args, false),
        );
      }
      await t.step("--version starts like rg's", async () => {
        const out = await exec(join(dir, "rg"), ["--version"], REPO, { CURSERVE_SOCKET: socket });
        strictEqual(out.code, 0);
        ok(new TextDecoder().decode(out.stdout).startsWith("ripgrep 13.0.0"));
      });
      await t.step("--pcre2 runs the real rg later on PATH, not the shim", async () => {
        await assertShimLikeRg(dir, socket, ["-P", "-n", "foo(?=\\()", "repo/src"]);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shim: sends the caller's cwd and argv to grep_cli and prints the answer as given",
  ...TEST_OPTS,
  async fn() {
    const dir = await installShim();
    const root = await fixtureRoot();
    const socket = join(dir, "fake.sock");
    const server = recordingServer(
      socket,
      (req) =>
        req.method === "grep_cli"
          ? { result: { stdout: "from the daemon\n", stderr: "a message\n", code: 1 } }
          : { error: { code: -32601, message: "unknown method" } },
    );
    try {
      const cwd = join(root, "proj/src");
      const out = await exec(join(dir, "rg"), ["-n", "needle", ".."], cwd, {
        PATH: `${dir}:/usr/bin:/bin`,
        CURSERVE_SOCKET: socket,
      });
      strictEqual(new TextDecoder().decode(out.stdout), "from the daemon\n");
      strictEqual(out.stderr, "a message\n");
      strictEqual(out.code, 1);
      strictEqual(server.seen.length, 1);
      const req = server.seen[0] as { method: string; params: { cwd: string; argv: string[] } };
      strictEqual(req.method, "grep_cli");
      strictEqual(req.params.cwd, cwd);
      strictEqual(JSON.stringify(req.params.argv), JSON.stringify(["-n", "needle", ".."]));
    } finally {
      server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shim: a daemon that refuses the request leaves the shim to answer itself",
  ...TEST_OPTS,
  async fn() {
    const dir = await installShim();
    const socket = join(dir, "refusing.sock");
    const server = recordingServer(socket, () => ({
      error: { code: -32602, message: "not inside a workspace you opened" },
    }));
    try {
      await assertShimLikeRg(dir, socket, CASES[0], false);
      strictEqual(server.seen.length, 1, "asked the daemon first");
    } finally {
      server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shim: a daemon answering {fallback} has the shim run the real rg, or name the reason",
  ...TEST_OPTS,
  async fn() {
    const dir = await installShim();
    const root = await fixtureRoot();
    const socket = join(dir, "fallback.sock");
    // A daemon whose parser wants rg for a command line the shim's does
    // not (a newer or older curserve): the daemon's word is taken.
    const server = recordingServer(socket, () => ({ result: { fallback: "--pcre2" } }));
    try {
      await assertShimLikeRg(dir, socket, ["-n", "needle", "proj/src"]);
      strictEqual(server.seen.length, 1, "asked the daemon first");
      const out = await exec(join(dir, "rg"), ["-n", "needle", "proj/src"], root, {
        PATH: dir,
        CURSERVE_SOCKET: socket,
      });
      strictEqual(out.code, 2);
      strictEqual(out.stdout.length, 0);
      ok(/--pcre2 needs the real ripgrep.*no rg/s.test(out.stderr), out.stderr);
    } finally {
      server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shim: through a running daemon, agents' command lines are answered as rg answers them",
  ...TEST_OPTS,
  async fn(t) {
    const dir = await installShim();
    const root = await fixtureRoot();
    try {
      await withDaemon([], async (d) => {
        const holder = await DaemonClient.connect(d.socket);
        try {
          await holder.request("open", { root });
          for (const args of CASES) {
            await t.step(args.join(" "), () => assertShimLikeRg(dir, d.socket, args));
          }
        } finally {
          holder.close();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
