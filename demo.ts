/**
 * `deno task demo [RG ARGS...]`: curserve's main job in one command. Starts
 * a daemon on a socket in a temp dir, opens the directory you ran it from
 * as a workspace, runs one search there (by default `-n -i todo`) through
 * the daemon, prints what it found, how long a search took from memory and
 * how long the same search takes `rg` (a process and a disk walk each), checks
 * the two answers are the same bytes, then stops the daemon and exits.
 * @module
 */
import { join, resolve } from "node:path";
import { DaemonClient } from "./src/client.ts";

const DEFAULT_ARGS = ["-n", "-i", "todo"];
/** Searches timed on each side (rg stops earlier once it has spent RG_BUDGET_MS). */
const RUNS = 20;
const RG_BUDGET_MS = 5_000;
/** Lines of the answer shown. */
const SHOWN = 10;
const WIDTH = 100;
/** The answer's cap (the daemon's default is 1 MiB): large, to compare it whole with rg's. */
const MAX_BYTES = 256 << 20;
const CONFIG = new URL("./deno.json", import.meta.url).pathname;

interface GrepResult {
  stdout: string;
  stderr: string;
  code: number;
  truncated: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** An argument as a shell would need it typed. */
const quote = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1)) + " ms";

/** Whether a connection to the Unix socket is accepted. */
async function listening(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch {
    return false;
  }
}

/** `deno task daemon --socket socket` (the task users run), its output kept for errors. */
async function startDaemon(socket: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, "daemon", "--socket", socket, "--linger", "0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const deadline = Date.now() + 60_000;
  while (!(await listening(socket))) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      throw new Error(`the daemon did not start:\n${await stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await stderr;
    },
  };
}

/** Runs rg once, or returns undefined when it is not installed. */
async function rg(args: string[], cwd: string): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command("rg", { args, cwd, stdin: "null" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function main(): Promise<number> {
  const args = Deno.args.length ? Deno.args : DEFAULT_ARGS;
  // `deno task` runs in deno.json's directory; INIT_CWD is where the user was.
  const root = await Deno.realPath(resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd()));
  const dir = await Deno.makeTempDir({ prefix: "curserve-demo-" });
  const socket = join(dir, "daemon.sock");
  const daemon = await startDaemon(socket);
  let client: DaemonClient | undefined;
  try {
    client = await DaemonClient.connect(socket);
    const ws = await client.request<
      { workspace: string; files: number; bytes: number; load_ms: number }
    >("open", { root });
    console.log(
      `curserve daemon on ${socket}\nworkspace ${root}: ${ws.files} files, ` +
        `${(ws.bytes / 1e6).toFixed(1)} MB read once into WebAssembly memory ` +
        `in ${ms(ws.load_ms)}\n`,
    );

    const times: number[] = [];
    let answer: GrepResult | undefined;
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      answer = await client.request<GrepResult>("grep", {
        workspace: ws.workspace,
        args,
        max_bytes: MAX_BYTES,
      });
      times.push(performance.now() - start);
    }
    const { stdout, stderr, code, truncated } = answer!;
    console.log(`$ rg ${args.map(quote).join(" ")}   (answered by the daemon from memory)`);
    const lines = stdout.split("\n").filter((l) => l !== "");
    for (const line of lines.slice(0, SHOWN)) {
      console.log(`  ${line.length > WIDTH ? line.slice(0, WIDTH - 1) + "…" : line}`);
    }
    if (lines.length > SHOWN) console.log(`  … ${lines.length - SHOWN} more lines`);
    if (stderr) console.log(stderr.trimEnd());
    console.log(
      `${lines.length} lines${truncated ? " (cut at 256 MiB)" : ""}, exit ${code}\n\n` +
        `daemon: ${ms(median(times))} median of ${RUNS} searches (first ${ms(times[0])})`,
    );

    const reference = await rg(["--sort", "path", ...args], root);
    if (!reference) {
      console.log("rg: not installed, so no comparison (apt-get install ripgrep)");
      return 0;
    }
    const rgTimes: number[] = [];
    const budget = performance.now() + RG_BUDGET_MS;
    while (rgTimes.length < RUNS && (rgTimes.length === 0 || performance.now() < budget)) {
      const start = performance.now();
      await rg(args, root);
      rgTimes.push(performance.now() - start);
    }
    const speedup = median(rgTimes) / median(times);
    console.log(
      `rg:     ${ms(median(rgTimes))} median of ${rgTimes.length} runs ` +
        `(a process and a disk walk each) — the daemon was ${speedup.toFixed(1)}x faster`,
    );
    const same = new TextDecoder().decode(reference.stdout) === stdout &&
      reference.code === code;
    console.log(
      same
        ? "same answer as rg --sort path: identical bytes and exit code"
        : "DIFFERENT from rg --sort path's answer: please report it",
    );
    return same ? 0 : 1;
  } finally {
    client?.close();
    await daemon.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
