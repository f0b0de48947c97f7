/**
 * Shared pieces of the rg-parity tests: the fixture root, running `rg` (or
 * any command) with a clean environment, normalizing `--json` timings, and
 * comparing outputs with a readable diff.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { parseArgs } from "../src/args.ts";
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
export function cleanEnv(): Record<string, string> {
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

/** `--json` and `--stats` output carry timings; blank them (and nothing else). */
export function normalize(c: ParityCase, stdout: Uint8Array): Uint8Array {
  if (c.args.includes("--stats") && !c.args.includes("--no-stats")) {
    // Bytes as chars, one each: the output need not be UTF-8.
    const text = Array.from(stdout, (b) => String.fromCharCode(b)).join("")
      .replace(/^\d+\.\d+ seconds( spent searching)?$/gm, "_ seconds$1");
    stdout = Uint8Array.from(text, (ch) => ch.charCodeAt(0));
  }
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
  // rg's messages, exactly; but for a usage error (`deno task grep` shows
  // its own usage) and --debug's. rg here runs with --sort path, which
  // words a missing PATH as its one-thread walk does; ours as given.
  const rgStderr = ours.stderr.includes("IO error for operation on")
    ? rg.stderr
    : rg.stderr.replace(/^(.*): IO error for operation on \1: /gm, "$1: ");
  const debug = c.args.some((a) => /^--(debug|trace)$/.test(a));
  if (!rg.stderr.includes("USAGE:") && !debug && ours.stderr !== rgStderr) {
    problems.push(
      `stderr: rg ${JSON.stringify(rgStderr.slice(0, 300))}, ` +
        `ours ${JSON.stringify(ours.stderr.slice(0, 300))}`,
    );
  }
  if (rg.code === 2) {
    // (rg says nothing with --no-messages)
    if (ours.stderr.trim() === "" && rg.stderr.trim() !== "") {
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

/** Seeded random words, some with accented letters, one line in eight
 * ending in ` fox 0`: on these, the Unicode `\b` of {@link SLOW_PATTERN}
 * keeps the lazy DFA out, and it scans about half a microsecond a byte
 * (rg: 0.4), matching nothing. */
export function slowProse(bytes: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyzéü     ";
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % letters.length;
  const lines = Array.from(
    { length: 256 },
    (_, i) =>
      Array.from({ length: 100 }, () => letters[next()]).join("") + (i % 8 ? " dog\n" : " fox 0\n"),
  );
  let text = lines.join("");
  while (text.length < bytes) text += text;
  return text.slice(0, Math.max(bytes, 200));
}

/** A scan rg accepts that is slow for both on {@link slowProse} (rg
 * refuses the older `(?:\w|\s){2000}Q` as too big, and so do we). */
export const SLOW_PATTERN = String.raw`(?:\b\w+\b\s*){10}\d{2}`;

// --- parity cases that a loaded workspace can answer ---------------------------------

/**
 * Why a parity case cannot run against a workspace loaded on the fixture root
 * with default filters (the rules of `api_test.ts`, shared here so the daemon
 * tests apply the same ones).
 */
export const WORKSPACE_SKIP_RULES = {
  cwd: "runs in a subdirectory (cwd)",
  outside: "names a path outside the root ({ROOT}, absolute or ..)",
} as const;
export type WorkspaceSkipRule = keyof typeof WORKSPACE_SKIP_RULES;

/**
 * Why case `c` cannot run against a workspace on the fixture root, or
 * undefined if it can. Everything else can: a command that reaches files
 * the workspace skipped (named ignored files, `-g` bringing back ignored or
 * hidden ones, `--hidden`) is answered from disk, and these cases check it.
 */
export function workspaceSkipRule(c: ParityCase): WorkspaceSkipRule | undefined {
  if (c.cwd) return "cwd";
  if (c.args.some((a) => a.includes("{ROOT}"))) return "outside";
  let args;
  try {
    args = parseArgs(c.args);
  } catch {
    return undefined; // a usage error: reported as rg reports it
  }
  if (args.paths.some((p) => isAbsolute(p) || p.split("/").includes(".."))) return "outside";
  return undefined;
}

/** The cases of `cases` a default workspace on the fixture root can answer. */
export function workspaceCases(cases: readonly ParityCase[]): ParityCase[] {
  return cases.filter((c) => !workspaceSkipRule(c));
}

/** Every `step`-th item, spread over the whole list, about `n` of them. */
export function spreadSample<T>(items: readonly T[], n: number): T[] {
  const step = Math.max(1, Math.floor(items.length / n));
  return items.filter((_, i) => i % step === 0).slice(0, n);
}

// --- bounded waiting ------------------------------------------------------------------

/** Generous bound for one daemon answer: only a guard against hanging tests. */
export const REPLY_TIMEOUT_MS = 30_000;

/** `p`, or a rejection naming `what` after `ms` (a hang guard, not a timing check). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `probe` every `intervalMs` until `done(value)` holds and returns that
 * value; after `timeoutMs` throws with `what` and the last value seen.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T> | T,
  done: (value: T) => boolean,
  { timeoutMs = 5_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      const shown = typeof value === "string" ? value : JSON.stringify(value);
      throw new Error(`${what}: not reached within ${timeoutMs / 1000} s; last: ${shown}`);
    }
    await sleep(intervalMs);
  }
}

/** Whether `path` exists (without following a final symlink). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `bytes` are valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

// --- a raw newline-delimited JSON connection -------------------------------------------

/** A parsed JSON message (the tests check its shape with assertions). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/**
 * A Unix-socket connection read line by line (a background reader queues
 * lines), for tests that need the wire itself: malformed lines, explicit ids,
 * several requests per write, the original curserve protocol.
 */
export class LineSocket {
  #conn: Deno.UnixConn;
  #lines: string[] = [];
  #waiters: ((line: string | null) => void)[] = [];
  #eof = false;
  #closed = false;
  #nextId = 1;
  /** Resolves when the peer closes the connection (or it fails). */
  readonly ended: Promise<void>;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.ended = this.#pump();
  }

  /** Connects to the Unix socket at `path`. */
  static async connect(path: string): Promise<LineSocket> {
    return new LineSocket(await Deno.connect({ transport: "unix", path }));
  }

  async #pump(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    let partial: Uint8Array[] = [];
    const dec = new TextDecoder();
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        let chunk = buf.subarray(0, n);
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10)) {
          partial.push(chunk.subarray(0, nl));
          const line = dec.decode(concat(partial));
          partial = [];
          const waiter = this.#waiters.shift();
          if (waiter) waiter(line);
          else this.#lines.push(line);
          chunk = chunk.subarray(nl + 1);
        }
        if (chunk.length) partial.push(chunk.slice());
      }
    } catch {
      // reset by peer, or closed by us: both end the stream
    }
    this.#eof = true;
    for (const w of this.#waiters.splice(0)) w(null);
  }

  /** Writes all of `bytes` (may reject if the peer has closed). */
  async writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += await this.#conn.write(bytes.subarray(done));
  }

  /** Sends one line: a string as is, anything else as JSON; adds the newline. */
  send(message: unknown): Promise<void> {
    const text = typeof message === "string" ? message : JSON.stringify(message);
    return this.writeAll(new TextEncoder().encode(text + "\n"));
  }

  /** The next line, or null once the peer has closed; throws after `timeoutMs`. */
  readLine(timeoutMs = REPLY_TIMEOUT_MS): Promise<string | null> {
    if (this.#lines.length) return Promise.resolve(this.#lines.shift()!);
    if (this.#eof) return Promise.resolve(null);
    let waiter!: (line: string | null) => void;
    const next = new Promise<string | null>((r) => (waiter = r));
    this.#waiters.push(waiter);
    return within(next, timeoutMs, "line from the daemon").catch((err) => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  /** The next line parsed as JSON; throws on end of stream. */
  async readJson(timeoutMs = REPLY_TIMEOUT_MS): Promise<Json> {
    const line = await this.readLine(timeoutMs);
    if (line === null) throw new Error("the daemon closed the connection instead of answering");
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`the daemon sent a line that is not JSON: ${line.slice(0, 300)}`);
    }
  }

  /**
   * Sends a JSON-RPC request and returns the response with its id (skipping
   * notifications). For one request at a time on this connection.
   */
  async call(method: string, params: unknown, id: number | string = this.#nextId++): Promise<Json> {
    await this.send({ jsonrpc: "2.0", id, method, params });
    for (;;) {
      const msg = await this.readJson();
      if (msg.id === undefined && typeof msg.method === "string") continue; // notification
      if (msg.id !== id) {
        throw new Error(`expected the response to id ${id}, got ${JSON.stringify(msg)}`);
      }
      return msg;
    }
  }

  /** Like `call`, but returns `result` and throws on a JSON-RPC error. */
  async result(method: string, params: unknown): Promise<Json> {
    const msg = await this.call(method, params);
    if (msg.error) {
      throw new Error(`${method} failed: ${msg.error.code} ${msg.error.message}`);
    }
    return msg.result;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

// --- a real daemon process --------------------------------------------------------------

/**
 * The `deno run` flags and script of a task in deno.json, with the script
 * made absolute: tests run commands with the permissions users get from
 * `deno task NAME`, so a permission a newer Deno starts to require fails a
 * test (one did: Deno 2.9 wants `--allow-net` for Unix sockets).
 */
export function taskRunArgs(name: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).tasks;
  const words = String(tasks[name]).split(" ");
  if (words[0] !== "deno" || words[1] !== "run" || !words.at(-1)!.endsWith(".ts")) {
    throw new Error(`task ${name} is not 'deno run FLAGS SCRIPT.ts': ${tasks[name]}`);
  }
  return [...words.slice(1, -1), `${REPO}/${words.at(-1)}`];
}

/** Bound on a daemon's start-up (until its socket accepts connections). */
export const DAEMON_START_MS = 15_000;

const running = new Set<DaemonProcess>();
globalThis.addEventListener("unload", () => {
  // Last resort if a test died before its `finally`: no daemon outlives the tests.
  for (const d of running) d.killNow();
  if (cacheHome) Deno.removeSync(cacheHome, { recursive: true });
});

let cacheHome: string | undefined;
/** The XDG_CACHE_HOME of this test file's daemons (made on first use,
 * removed when the tests end), so their default sketch cache is theirs. */
export function testCacheHome(): string {
  cacheHome ??= Deno.makeTempDirSync({ prefix: "curserve-test-cache-" });
  return cacheHome;
}

/** Whether a connection to the Unix socket `path` is accepted. */
export async function acceptsConnections(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch {
    return false;
  }
}

/** A `deno task daemon` subprocess (the task's flags, run directly) with its output collected. */
export class DaemonProcess {
  readonly child: Deno.ChildProcess;
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  #output = "";
  #exited: Deno.CommandStatus | undefined;
  #drained: Promise<unknown>;

  /**
   * Starts `daemon.ts --socket socket ...args` (without waiting for it).
   * @param socket The socket path.
   * @param args More daemon flags, e.g. `["--workers", "2"]`.
   * @param runArgs `deno` arguments up to the script: by default the
   * daemon task's.
   */
  constructor(
    readonly socket: string,
    readonly args: string[] = [],
    runArgs = taskRunArgs("daemon"),
  ) {
    const env = cleanEnv();
    delete env.CURSERVE_SOCKET;
    // The default sketch cache, in this test run's own place, not the home's.
    env.XDG_CACHE_HOME = testCacheHome();
    this.child = new Deno.Command(Deno.execPath(), {
      args: [...runArgs, "--socket", socket, ...args],
      cwd: REPO,
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    running.add(this);
    this.#drained = Promise.all([
      this.#collect(this.child.stdout),
      this.#collect(this.child.stderr),
    ]);
    this.status = this.child.status.then((s) => {
      this.#exited = s;
      running.delete(this);
      return s;
    });
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.#output += dec.decode(chunk, { stream: true });
      // keep the start (errors at start-up) and the most recent output
      if (this.#output.length > 200_000) {
        this.#output = this.#output.slice(0, 20_000) + "\n…\n" + this.#output.slice(-100_000);
      }
    }
  }

  /** Everything the daemon printed so far (stdout and stderr). */
  get output(): string {
    return this.#output;
  }

  /** The exit status, if it has exited. */
  get exited(): Deno.CommandStatus | undefined {
    return this.#exited;
  }

  /** Waits until the socket accepts connections; throws if the daemon exits first. */
  async ready(timeoutMs = DAEMON_START_MS): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    while (!(await acceptsConnections(this.socket))) {
      if (this.#exited) {
        await this.#drained;
        throw new Error(
          `the daemon exited with code ${this.#exited.code} before listening on ` +
            `${this.socket}:\n${this.#output.slice(0, 3000)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the daemon did not accept connections on ${this.socket} within ` +
            `${timeoutMs / 1000} s:\n${this.#output.slice(0, 3000)}`,
        );
      }
      await sleep(50);
    }
    return this;
  }

  /** Sends `signal` if the daemon still runs. */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.child.kill(signal);
    } catch {
      // it exited meanwhile
    }
  }

  /** Waits (bounded) for the exit status and the end of its output. */
  async wait(timeoutMs = 10_000): Promise<Deno.CommandStatus> {
    const status = await within(this.status, timeoutMs, `exit of the daemon on ${this.socket}`);
    await within(this.#drained, 5_000, "end of the daemon's output").catch(() => {});
    return status;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<Deno.CommandStatus> {
    this.signal("SIGTERM");
    try {
      return await this.wait(graceMs);
    } catch {
      this.signal("SIGKILL");
      return await this.wait(5_000);
    }
  }

  /** SIGKILL now, synchronously (for unload handlers). */
  killNow(): void {
    this.signal("SIGKILL");
  }
}

/** A daemon listening on a socket in its own temporary directory. */
export interface TestDaemon {
  process: DaemonProcess;
  socket: string;
  /** The temporary directory holding the socket (removed by `stopDaemon`). */
  dir: string;
}

/** Starts a daemon on `<fresh temp dir>/d.sock` and waits until it accepts connections. */
export async function startDaemon(args: string[] = []): Promise<TestDaemon> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-daemon-" }));
  const socket = join(dir, "d.sock");
  const process = new DaemonProcess(socket, args);
  try {
    await process.ready();
  } catch (err) {
    await process.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  return { process, socket, dir };
}

/** Stops the daemon (SIGTERM, then SIGKILL) and removes its directory. */
export async function stopDaemon(d: TestDaemon): Promise<void> {
  try {
    await d.process.stop();
  } finally {
    await Deno.remove(d.dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` with a fresh daemon, which is stopped and cleaned up however `fn` ends. */
export async function withDaemon<T>(
  args: string[],
  fn: (d: TestDaemon) => Promise<T>,
): Promise<T> {
  const d = await startDaemon(args);
  try {
    return await fn(d);
  } catch (err) {
    // the daemon's own account often explains a failure
    const tail = d.process.output.slice(-2000).trim();
    if (tail && err instanceof Error) err.message += `\n--- daemon output (tail) ---\n${tail}`;
    throw err;
  } finally {
    await stopDaemon(d);
  }
}
