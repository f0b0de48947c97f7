/**
 * The `rg` shim, both kinds scripts/install_shim.sh installs: the native
 * client (shim/native, built with cargo; skipped, saying so, without
 * cargo) and the Deno script running shim/rg.ts. The installed shim itself
 * is run, as agents run `rg`, with no daemon (it
 * runs the real rg, or with none on PATH answers in its own process), with
 * a recording server on the socket (it
 * sends the caller's cwd and argv to `grep_cli` and prints the answer as
 * given), with a server refusing the request (it answers itself), with a
 * server answering `{fallback}` (it runs the real rg itself), and with a
 * real daemon; every answer compared with the real rg's. The native shim
 * must take every decision the Deno one takes (same request, same rg
 * command line, same messages): both run a table of command lines against
 * a recording server and a stand-in rg.
 *
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { dirname, join } from "node:path";
import { SHIM_MARKER } from "../src/fallback.ts";
import { versionText } from "../src/args.ts";
import { DaemonClient } from "../mod.ts";
import {
  check,
  cleanEnv,
  fixtureRoot,
  type Outcome,
  REPO,
  RG,
  sleep,
  TEST_OPTS,
  withDaemon,
} from "./harness.ts";

const INSTALL = join(REPO, "scripts/install_shim.sh");

async function exec(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  stdin?: Uint8Array,
): Promise<Outcome> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    clearEnv: true,
    env: { ...cleanEnv(), ...env },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000), // a shim calling itself would never end
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    // A command that does not read its stdin may exit before this is written.
    await w.write(stdin).then(() => w.close()).catch(() => {});
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

type Kind = "native" | "deno";

/** The cargo install_shim.sh would use, if any. */
function findCargo(): string | undefined {
  const home = Deno.env.get("CARGO_HOME") ?? `${Deno.env.get("HOME")}/.cargo`;
  for (const dir of ["/usr/bin", "/bin", `${home}/bin`]) {
    try {
      if (Deno.statSync(`${dir}/cargo`).isFile) return `${dir}/cargo`;
    } catch {
      // not there
    }
  }
  return undefined;
}
const CARGO = findCargo();
const NO_CARGO = "(skipped: no cargo to build the native shim with; CI has one)";
if (!CARGO) console.warn(`shim_test.ts: native shim tests ${NO_CARGO}`);

/** Installs the shim of `kind` into a fresh directory (the native one is
 * built by cargo there if not built yet); returns the directory. */
async function installShim(kind: Kind = "deno"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "curserve-shim-" });
  const out = await exec("bash", [INSTALL, `--${kind}`], REPO, {
    CURSERVE_SHIM_DIR: dir,
    PATH: `${dirname(Deno.execPath())}:${CARGO ? dirname(CARGO) + ":" : ""}/usr/bin:/bin`,
  });
  strictEqual(out.code, 0, out.stderr);
  return dir;
}

/** Command lines agents send, and a few more (`--sort path` on both sides:
 * the shim's own answers are always in path order). */
const QWEN = ["--json", "--no-messages", "--path-separator", "/", "--ignore-case"]
  .concat(["--regexp", "needle", "--threads", "4", "proj"]);
const CASES: string[][] = [
  QWEN,
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
  { stdin, exactStderr = false }: { stdin?: Uint8Array; exactStderr?: boolean } = {},
): Promise<void> {
  const root = await fixtureRoot();
  const env = { PATH: withRg ? `${shimDir}:/usr/bin:/bin` : shimDir, CURSERVE_SOCKET: socket };
  const [expected, ours] = await Promise.all([
    exec(RG, ["--sort", "path", ...args], root, {}, stdin),
    exec(join(shimDir, "rg"), ["--sort", "path", ...args], root, env, stdin),
  ]);
  check({ name: args.join(" "), args }, { rg: expected, ours });
  if (exactStderr) strictEqual(ours.stderr, expected.stderr, `${args.join(" ")}: stderr`);
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

for (const kind of ["deno", "native"] as Kind[]) {
  Deno.test({
    name:
      `shim (${kind}): install writes a marked, executable rg; uninstall removes only curserve's`,
    ignore: kind === "native" && !CARGO,
    ...TEST_OPTS,
    async fn() {
      const dir = await installShim(kind);
      try {
        const shim = join(dir, "rg");
        ok(Deno.readTextFileSync(shim).includes(SHIM_MARKER));
        ok((Deno.statSync(shim).mode! & 0o111) !== 0, "executable");
        const bytes = Deno.readFileSync(shim);
        const text = (b: Uint8Array) => new TextDecoder().decode(b);
        if (kind === "native") {
          strictEqual(text(bytes.subarray(0, 4)), "\x7fELF", "a native executable");
          // where src/fallback.ts looks in a binary
          ok(text(bytes.subarray(-512)).includes(SHIM_MARKER), "marked at its end");
        } else {
          ok(text(bytes.subarray(0, 512)).includes(SHIM_MARKER), "marked at its start");
        }
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
    name:
      `shim (${kind}): with no daemon on the socket it runs the real rg, or with none answers itself`,
    ignore: kind === "native" && !CARGO,
    ...TEST_OPTS,
    async fn(t) {
      const dir = await installShim(kind);
      try {
        const socket = join(dir, "nobody.sock");
        for (const args of CASES) {
          await t.step(
            args.join(" "),
            () => assertShimLikeRg(dir, socket, args, true, { exactStderr: true }),
          );
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
        await t.step("piped standard input is rg's to read", async () => {
          const input = new TextEncoder().encode("a needle\nno\nneedle again\n");
          for (const args of [["-n", "needle"], ["-c", "needle", "-"], ["-n", "zzz"]]) {
            await assertShimLikeRg(dir, socket, args, true, { stdin: input, exactStderr: true });
          }
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
    name:
      `shim (${kind}): sends the caller's cwd and argv to grep_cli and prints the answer as given`,
    ignore: kind === "native" && !CARGO,
    ...TEST_OPTS,
    async fn() {
      const dir = await installShim(kind);
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
    name: `shim (${kind}): a daemon that refuses the request leaves the shim to answer itself`,
    ignore: kind === "native" && !CARGO,
    ...TEST_OPTS,
    async fn() {
      const dir = await installShim(kind);
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
    name:
      `shim (${kind}): a daemon answering {fallback} has the shim run the real rg, or name the reason`,
    ignore: kind === "native" && !CARGO,
    ...TEST_OPTS,
    async fn() {
      const dir = await installShim(kind);
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
    name:
      `shim (${kind}): through a running daemon, agents' command lines are answered as rg answers them`,
    ignore: kind === "native" && !CARGO,
    ...TEST_OPTS,
    async fn(t) {
      const dir = await installShim(kind);
      const root = await fixtureRoot();
      try {
        await withDaemon(["--verbose"], async (d) => {
          const holder = await DaemonClient.connect(d.socket);
          /** Asserts `step` sent `sent` grep_cli requests (the daemon logs each). */
          const asked = async (sent: number, step: () => Promise<void>) => {
            const count = () => d.process.output.split(" grep_cli ").length - 1;
            const before = count();
            await step();
            for (let i = 0; i < 40 && count() < before + sent; i++) await sleep(50);
            strictEqual(count() - before, sent, "grep_cli requests the daemon answered");
          };
          try {
            await holder.request("open", { root });
            for (const args of CASES) {
              await t.step(
                args.join(" "),
                () => asked(1, () => assertShimLikeRg(dir, d.socket, args)),
              );
            }
            await t.step("--pcre2 goes to the real rg without asking", async () => {
              const args = ["-P", "-n", "foo(?=\\()", "repo/src"];
              await asked(
                0,
                () => assertShimLikeRg(dir, d.socket, args, true, { exactStderr: true }),
              );
            });
            await t.step("piped standard input goes to the real rg without asking", async () => {
              const stdin = new TextEncoder().encode("needle\nhay\n");
              await asked(0, () =>
                assertShimLikeRg(dir, d.socket, ["-n", "needle"], true, {
                  stdin,
                  exactStderr: true,
                }));
            });
            await t.step(
              "at a terminal the real rg answers (colors, headings), unasked",
              async () => {
                // `script` gives the command a terminal for its stdout.
                const atTerminal = (rg: string) =>
                  exec(
                    "script",
                    ["-qec", `'${rg}' --sort path -n needle proj/src`, "/dev/null"],
                    root,
                    {
                      PATH: `${dir}:/usr/bin:/bin`,
                      CURSERVE_SOCKET: d.socket,
                    },
                  );
                await asked(0, async () => {
                  const real = await atTerminal(RG);
                  const ours = await atTerminal(join(dir, "rg"));
                  strictEqual(ours.code, real.code);
                  ok(new TextDecoder().decode(real.stdout).includes("\x1b["), "rg colored it");
                  deepStrictEqual(ours.stdout, real.stdout);
                });
              },
            );
            await t.step("--version and -V are answered without asking", async () => {
              await asked(0, async () => {
                for (const flag of ["--version", "-V"]) {
                  const out = await exec(join(dir, "rg"), [flag], root, {
                    CURSERVE_SOCKET: d.socket,
                  });
                  strictEqual(out.code, 0);
                  strictEqual(
                    new TextDecoder().decode(out.stdout),
                    versionText(flag === "-V"),
                  );
                }
              });
            });
          } finally {
            holder.close();
          }
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** Command lines on which the shims must decide alike: daemon, real rg
 * (and with what arguments), version, or a message. */
const ROUTES: string[][] = [
  ["needle"],
  ["-n", "needle", "src"],
  QWEN,
  ["-r", "X", "needle"],
  ["-h"],
  ["--help", "needle"],
  ["--type-list"],
  ["-f", "-"],
  ["-f", "pats", "x"],
  ["--sort", "modified", "x"],
  ["--sort=path", "x"],
  ["--sortr=path", "x"],
  ["-P", "--no-pcre2", "x"],
  ["--pre", "cat", "x"],
  ["-z", "x"],
  ["-E", "utf-8", "x"],
  ["--engine=default", "x"],
  ["--engine", "pcre2", "x"],
  ["--json", "-c", "x"],
  ["-uuu", "x"],
  ["-uu", "x"],
  ["--no-such-flag", "x"],
  [],
  ["-e"],
  ["-m", "x", "y"],
  ["-m1", "y"],
  ["--max-filesize", "2T", "x"],
  ["--max-filesize", "2M", "x"],
  ["--path-separator", "ab", "x"],
  ["--vimgrep", "-U", "x"],
  ["--version"],
  ["-V"],
  ["-nV"],
  ["-P", "--version"],
  ["-r", "x", "--version"],
  ["-e", "--version"],
  ["--", "-V"],
  ["x", "-"],
  ["-A2", "x", "y"],
  ["-Cx", "y"],
  ["--files"],
  ["--json=1", "x"],
];

Deno.test({
  name: "shim (native): takes every decision the Deno shim takes",
  ignore: !CARGO,
  ...TEST_OPTS,
  async fn(t) {
    const native = await installShim("native");
    const deno = await installShim("deno");
    const tmp = await Deno.makeTempDir({ prefix: "curserve-routes-" });
    const socket = join(tmp, "d.sock");
    const server = recordingServer(socket, (req) => ({
      result: {
        stdout: `daemon: ${JSON.stringify(req.params)}\n`,
        stderr: "daemon says\n",
        code: 1,
      },
    }));
    // A stand-in for the real rg, saying what it was given.
    const bin = join(tmp, "bin");
    await Deno.mkdir(bin);
    await Deno.writeTextFile(
      join(bin, "rg"),
      `#!/bin/sh\nprintf 'real rg:'; for a in "$@"; do printf ' [%s]' "$a"; done; echo\n` +
        `[ -z "$READ_STDIN" ] || cat\nexit 3\n`,
      { mode: 0o755 },
    );
    const config = join(tmp, "rgrc");
    await Deno.writeTextFile(config, "# rg's config\n\n  --ignore-case  \n--context=1\n");
    try {
      const compare = async (
        args: string[],
        env: Record<string, string> = {},
        stdin?: Uint8Array,
      ) => {
        const run = (dir: string) =>
          exec(join(dir, "rg"), args, tmp, {
            PATH: `${dir}:${bin}`,
            CURSERVE_SOCKET: socket,
            ...env,
          }, stdin);
        const [want, got] = [await run(deno), await run(native)];
        const text = (o: Outcome) => ({ ...o, stdout: new TextDecoder().decode(o.stdout) });
        deepStrictEqual(text(got), text(want), JSON.stringify({ args, env }));
      };
      await t.step("command lines", async () => {
        for (const args of ROUTES) await compare(args);
      });
      await t.step("with standard input piped", async () => {
        const stdin = new TextEncoder().encode("needle\n");
        for (
          const args of [["needle"], ["--type-list"], ["-P", "x"], ["--files"], ["-e", "x", "a"]]
        ) {
          await compare(args, { READ_STDIN: "1" }, stdin);
        }
      });
      await t.step("RIPGREP_CONFIG_PATH", async () => {
        for (const args of [["needle", "src"], ["--no-config", "needle"], ["-P", "needle"]]) {
          await compare(args, { RIPGREP_CONFIG_PATH: config });
        }
        await compare(["needle"], { RIPGREP_CONFIG_PATH: join(tmp, "missing") });
      });
      await t.step("a daemon answering {fallback}", async () => {
        const fallback = join(tmp, "f.sock");
        const other = recordingServer(fallback, () => ({ result: { fallback: "--pcre2" } }));
        try {
          await compare(["-n", "needle"], { CURSERVE_SOCKET: fallback });
          await compare(["-n", "needle"], { CURSERVE_SOCKET: fallback, PATH: native });
        } finally {
          other.close();
        }
      });
      ok(server.seen.length > 0);
    } finally {
      server.close();
      for (const dir of [native, deno, tmp]) await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "shim (native): an unmarked rg further on PATH that calls rg again does not loop",
  ignore: !CARGO,
  ...TEST_OPTS,
  async fn() {
    const dir = await installShim("native");
    const wrapper = await Deno.makeTempDir({ prefix: "curserve-wrapper-" });
    try {
      // e.g. a wrapper adding flags: it finds the shim first on PATH again.
      await Deno.writeTextFile(join(wrapper, "rg"), '#!/bin/sh\nexec rg "$@"\n', { mode: 0o755 });
      const root = await fixtureRoot();
      const args = ["--sort", "path", "-n", "needle", "proj/src"];
      const [expected, ours] = await Promise.all([
        exec(RG, args, root, {}),
        exec(join(dir, "rg"), args, root, {
          PATH: `${dir}:${wrapper}:/usr/bin:/bin`,
          CURSERVE_SOCKET: join(dir, "nobody.sock"),
        }),
      ]);
      check({ name: args.join(" "), args }, { rg: expected, ours });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(wrapper, { recursive: true });
    }
  },
});
