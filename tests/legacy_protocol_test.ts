/**
 * The original curserve protocol on the daemon's socket (docs/PROTOCOL.md,
 * "The original curserve protocol"): clients written for the original
 * service must work unmodified.
 *
 * Flow, as those clients run it: connect to the daemon's socket, send
 * `{"type":"alloc_pid","pid":N,"repo_dir_path":P}`, read
 * `{"response_status":1,"text":"Allocated K files"}` on the same connection,
 * connect to `/tmp/qwen_code_response_{N}.sock`, then send
 * `{"type":"request_ripgrep",...}` on the first connection and read the
 * answer on the response socket.
 *
 * Each test starts its own daemon (on a temporary socket) and uses pids
 * unique to this run (900000 + random), removing any response socket files
 * of those pids at the end.
 *
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import {
  describeDiff,
  exists,
  fixtureRoot,
  type Json,
  LineSocket,
  pollUntil,
  REPLY_TIMEOUT_MS,
  rg,
  rgFiles,
  sleep,
  TEST_OPTS,
  withDaemon,
  within,
} from "./harness.ts";

const root = await fixtureRoot();
const dec = new TextDecoder();

/** qwen-code's options for a search, as its grep tool sends them (ignore_case always set). */
const QWEN_OPTIONS = {
  ignore_case: true,
  line_number: true,
  with_filename: true,
  no_heading: true,
};
/** The rg flags those options mean. */
const QWEN_FLAGS = ["-i", "-n", "--with-filename", "--no-heading"];

let lastPid = 900_000 + Math.floor(Math.random() * 90_000);
const usedPids: number[] = [];
/** A pid no other run uses (and whose response socket does not exist yet). */
function freshPid(): number {
  let pid = ++lastPid;
  while (exists(responseSocket(pid))) pid = ++lastPid;
  usedPids.push(pid);
  return pid;
}
/** Removes the response sockets of this run's pids (if a daemon left them). */
function removeResponseSockets(): void {
  for (const pid of usedPids.splice(0)) {
    try {
      Deno.removeSync(responseSocket(pid));
    } catch {
      // already removed, as it should be
    }
  }
}
globalThis.addEventListener("unload", removeResponseSockets);

const responseSocket = (pid: number) => `/tmp/qwen_code_response_${pid}.sock`;

/** Throws with the first differing lines unless `actual` is `expected` (rg's output). */
function sameText(actual: unknown, expected: string, what = "text"): void {
  if (actual === expected) return;
  if (typeof actual !== "string") throw new Error(`${what}: not a string: ${show(actual)}`);
  const enc = new TextEncoder();
  throw new Error(
    `${what} differs from rg's output: ${describeDiff(enc.encode(expected), enc.encode(actual))}`,
  );
}

/** A reply, shortened for a failure message. */
const show = (reply: unknown) => String(JSON.stringify(reply)).slice(0, 300);

/** What rg prints for qwen-code's options plus `extra` flags, searching `paths`. */
async function rgText(pattern: string, paths: string[], extra: string[] = []): Promise<string> {
  const out = await rg([...QWEN_FLAGS, ...extra, pattern, ...paths], root);
  ok(out.code <= 1, `rg failed: ${out.stderr}`);
  return dec.decode(out.stdout); // JSON carries text: non-UTF-8 bytes compare as U+FFFD
}

/** Connects to the response socket, retrying while the daemon creates it (bounded). */
async function connectResponse(pid: number): Promise<LineSocket> {
  let sock: LineSocket | undefined;
  await pollUntil(
    `a listener on ${responseSocket(pid)}`,
    async () => {
      try {
        sock = await LineSocket.connect(responseSocket(pid));
        return true;
      } catch {
        return false;
      }
    },
    (connected) => connected,
  );
  return sock!;
}

/** A line-reading client of the original protocol: request connection + response socket. */
class LegacyClient {
  private constructor(
    readonly pid: number,
    readonly request: LineSocket,
    readonly response: LineSocket,
    readonly allocText: string,
  ) {}

  /** Connects, allocates `repo` for a fresh pid and connects to its response socket. */
  static async alloc(socket: string, repo: string): Promise<LegacyClient> {
    const pid = freshPid();
    const request = await LineSocket.connect(socket);
    try {
      await request.send({ type: "alloc_pid", pid, repo_dir_path: repo });
      const reply = await request.readJson();
      strictEqual(reply.response_status, 1, `alloc_pid failed: ${show(reply)}`);
      const response = await connectResponse(pid);
      return new LegacyClient(pid, request, response, reply.text);
    } catch (err) {
      request.close();
      throw err;
    }
  }

  /** Sends a request_ripgrep and reads its answer on the response socket. */
  async ripgrep(pattern: string, paths: string[], options: Record<string, unknown>): Promise<Json> {
    await this.request.send({ type: "request_ripgrep", pid: this.pid, pattern, paths, options });
    return await this.response.readJson();
  }

  close(): void {
    this.request.close();
    this.response.close();
  }
}

// --- a client written exactly like qwen-code's IPC client --------------------------------

/**
 * A copy of the IPC client of the curserve qwen-code fork
 * (packages/core/src/utils/ipcClient.ts), reduced to its protocol: node:net
 * sockets, `alloc_pid` answered on the request socket, the response socket
 * connected after that answer, each answer read as ONE `data` event parsed
 * whole. Differences: the socket paths are given (the daemon's temporary
 * socket; `/tmp/qwen_code_response_{pid}.sock`), the pid is a parameter, and
 * the request type is `request_ripgrep` as the protocol names it.
 */
class QwenIpcClient {
  private requestSocket: net.Socket | null = null;
  private responseSocket: net.Socket | null = null;

  constructor(
    private readonly requestSocketPath: string,
    private readonly workspacePath: string,
    private readonly pid: number,
  ) {}

  async initialize(): Promise<string> {
    this.requestSocket = await this.connectToSocket(this.requestSocketPath);
    const response = await this.sendRequest({
      type: "alloc_pid",
      pid: this.pid,
      repo_dir_path: this.workspacePath,
    });
    if (response.response_status === 0) throw new Error("Failed to allocate PID");
    this.responseSocket = await this.connectToSocket(responseSocket(this.pid));
    return response.text;
  }

  async requestGrep(
    pattern: string,
    paths: string[],
    options?: Record<string, unknown>,
  ): Promise<string> {
    const response = await this.sendRequest({
      type: "request_ripgrep",
      pid: this.pid,
      pattern,
      paths,
      options,
    });
    if (response.response_status === 0) throw new Error("Grep request failed");
    return response.text;
  }

  cleanup(): void {
    this.requestSocket?.destroy();
    this.requestSocket = null;
    this.responseSocket?.destroy();
    this.responseSocket = null;
  }

  private connectToSocket(socketPath: string): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath, () => {
        clearTimeout(timeoutId);
        resolve(socket);
      });
      const timeoutId = setTimeout(() => {
        socket.destroy();
        reject(new Error(`Connection timeout to socket ${socketPath}`));
      }, 5000);
      socket.on("error", (error) => {
        clearTimeout(timeoutId);
        reject(new Error(`Failed to connect to socket ${socketPath}: ${error.message}`));
      });
    });
  }

  private sendRequest(request: { type: string } & Record<string, unknown>): Promise<Json> {
    return new Promise((resolve, reject) => {
      const requestJson = JSON.stringify(request) + "\n";
      const onData = (data: Uint8Array) => {
        try {
          const response = JSON.parse(new TextDecoder().decode(data).trim());
          cleanup();
          resolve(response);
        } catch (error) {
          cleanup();
          reject(new Error(`Failed to parse response: ${(error as Error).message}`));
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const cleanup = () => {
        this.requestSocket?.removeListener("data", onData);
        this.requestSocket?.removeListener("error", onError);
        this.responseSocket?.removeListener("data", onData);
        this.responseSocket?.removeListener("error", onError);
      };
      this.requestSocket!.write(requestJson, (error) => {
        if (error) {
          cleanup();
          reject(new Error(`Failed to send request: ${error.message}`));
          return;
        }
        // alloc_pid is answered on the request socket, everything else on the response socket
        const responseSocket = request.type === "alloc_pid"
          ? this.requestSocket
          : this.responseSocket;
        if (responseSocket) {
          responseSocket.once("data", onData);
          responseSocket.once("error", onError);
        } else {
          cleanup();
          reject(new Error("Response socket not available"));
        }
      });
    });
  }
}

Deno.test({
  name: "legacy: an unmodified qwen-code IPC client allocates and searches",
  ...TEST_OPTS,
  async fn() {
    const repo = join(root, "repo/src"); // small answers: that client reads one data event
    const fileCount = (await rgFiles([repo], root)).length;
    try {
      await withDaemon([], async (d) => {
        const pid = freshPid();
        const client = new QwenIpcClient(d.socket, repo, pid);
        try {
          strictEqual(
            await within(client.initialize(), REPLY_TIMEOUT_MS, "alloc_pid answer"),
            `Allocated ${fileCount} files`,
          );
          for (const pattern of ["TODO", "fn \\w+", "zzz_no_such_word"]) {
            const text = await within(
              client.requestGrep(pattern, [repo], QWEN_OPTIONS),
              REPLY_TIMEOUT_MS,
              `answer to ${pattern}`,
            );
            sameText(text, await rgText(pattern, [repo]), `pattern ${pattern}`);
          }
        } finally {
          client.cleanup();
        }
        await pollUntil(
          `${responseSocket(pid)} removed after the client went away`,
          () => exists(responseSocket(pid)),
          (present) => !present,
        );
      });
    } finally {
      removeResponseSockets();
    }
  },
});

// --- the protocol in detail -----------------------------------------------------------------

Deno.test({
  name: "legacy: alloc_pid, request_ripgrep answers equal rg, errors, unknown pids, cleanup",
  ...TEST_OPTS,
  async fn(t) {
    try {
      await withDaemon([], async (d) => {
        const client = await LegacyClient.alloc(d.socket, root);
        try {
          await t.step("alloc_pid answers 'Allocated K files', K = files rg searches", async () => {
            strictEqual(
              client.allocText,
              `Allocated ${(await rgFiles([root], root)).length} files`,
            );
          });

          await t.step(
            "needle with qwen-code's options equals rg -i -n --with-filename --no-heading",
            async () => {
              const reply = await client.ripgrep("needle", [root], QWEN_OPTIONS);
              strictEqual(reply.response_status, 1, show(reply));
              const expected = await rgText("needle", [root]);
              ok(expected.split("\n").length > 10, "rg found too little; the fixture changed?");
              sameText(reply.text, expected);
            },
          );

          await t.step("a sub-path, threads, and several paths", async () => {
            const src = join(root, "repo/src");
            const web = join(root, "repo/web");
            const one = await client.ripgrep("foo", [src], { ...QWEN_OPTIONS, threads: 4 });
            sameText(one.text, await rgText("foo", [src]));
            const two = await client.ripgrep("needle|TODO", [web, src], QWEN_OPTIONS);
            sameText(two.text, await rgText("needle|TODO", [web, src]));
          });

          await t.step("globs with ! excludes, and a single glob", async () => {
            // Only globs that do not whitelist ignored files (rg's -g overrides ignore rules).
            const held = new Set(await rgFiles([root], root));
            for (const globs of [["!*.txt"], ["!*.txt", "!**/web/**"], ["*.py", "*.js"]]) {
              const listed = await rgFiles([...globs.flatMap((g) => ["-g", g]), root], root);
              ok(listed.every((f) => held.has(f)), `globs ${globs} reach ignored files`);
              const reply = await client.ripgrep("foo", [root], { ...QWEN_OPTIONS, globs });
              strictEqual(reply.response_status, 1, show(reply));
              const expected = await rgText("foo", [root], globs.flatMap((g) => ["-g", g]));
              sameText(reply.text, expected, `globs ${JSON.stringify(globs)}`);
            }
            const single = await client.ripgrep("foo", [root], { ...QWEN_OPTIONS, glob: "*.py" });
            sameText(single.text, await rgText("foo", [root], ["-g", "*.py"]));
          });

          await t.step("no match: response_status 1 and empty text", async () => {
            const reply = await client.ripgrep("zzz_no_such_word", [root], QWEN_OPTIONS);
            deepStrictEqual([reply.response_status, reply.text], [1, ""]);
          });

          await t.step("an invalid regex: response_status 0 with rg's error", async () => {
            const reply = await client.ripgrep("foo(", [root], QWEN_OPTIONS);
            strictEqual(reply.response_status, 0, show(reply));
            match(String(reply.error), /regex parse error/);
            // ... and the client keeps working.
            const next = await client.ripgrep("TODO", [root], QWEN_OPTIONS);
            sameText(next.text, await rgText("TODO", [root]));
          });

          await t.step(
            "a request for an unknown pid is answered on its own connection",
            async () => {
              // The spec only says where the answer goes: either an error (the
              // original service's "no allocated codebase") or rg's output.
              const stranger = await LineSocket.connect(d.socket);
              try {
                await stranger.send({
                  type: "request_ripgrep",
                  pid: freshPid(),
                  pattern: "TODO",
                  paths: [root],
                  options: QWEN_OPTIONS,
                });
                const reply = await stranger.readJson();
                if (reply.response_status === 0) {
                  ok(typeof reply.error === "string" && reply.error.length > 0, show(reply));
                } else {
                  strictEqual(reply.response_status, 1, show(reply));
                  sameText(reply.text, await rgText("TODO", [root]));
                }
              } finally {
                stranger.close();
              }
            },
          );

          await t.step(
            "alloc_pid of a missing directory: response_status 0 naming it",
            async () => {
              const other = await LineSocket.connect(d.socket);
              const missing = join(root, "no/such/repo");
              try {
                await other.send({ type: "alloc_pid", pid: freshPid(), repo_dir_path: missing });
                const reply = await other.readJson();
                strictEqual(reply.response_status, 0, show(reply));
                ok(String(reply.error).includes(missing), show(reply));
              } finally {
                other.close();
              }
            },
          );

          await t.step(
            "two clients at once get their own answers on their own sockets",
            async () => {
              // Two fresh clients (on the fixture root and on repo/), so that
              // nothing earlier steps did to `client` matters here.
              const first = await LegacyClient.alloc(d.socket, root);
              const second = await LegacyClient.alloc(d.socket, join(root, "repo"));
              try {
                // Both requests in flight before either answer is read.
                await first.request.send({
                  type: "request_ripgrep",
                  pid: first.pid,
                  pattern: "TODO",
                  paths: [root],
                  options: QWEN_OPTIONS,
                });
                await second.request.send({
                  type: "request_ripgrep",
                  pid: second.pid,
                  pattern: "FOO_BAR",
                  paths: [join(root, "repo")],
                  options: QWEN_OPTIONS,
                });
                const [a, b] = await Promise.all([
                  first.response.readJson(),
                  second.response.readJson(),
                ]);
                sameText(a.text, await rgText("TODO", [root]));
                sameText(b.text, await rgText("FOO_BAR", [join(root, "repo")]));
              } finally {
                first.close();
                second.close();
              }
              for (const pid of [first.pid, second.pid]) {
                await pollUntil(
                  `${responseSocket(pid)} removed after its client went away`,
                  () => exists(responseSocket(pid)),
                  (present) => !present,
                );
              }
            },
          );
        } finally {
          client.close();
        }
        await pollUntil(
          `${responseSocket(client.pid)} removed after its client went away`,
          () => exists(responseSocket(client.pid)),
          (present) => !present,
        );
        // JSON-RPC clients on the same socket are unaffected by all of this.
        const rpc = await LineSocket.connect(d.socket);
        try {
          ok((await rpc.result("stats", {})).workspaces, "stats over JSON-RPC");
        } finally {
          rpc.close();
        }
      });
    } finally {
      removeResponseSockets();
    }
  },
});

Deno.test({
  name: "legacy: the response socket stays open while an agent is idle (12 s)",
  ...TEST_OPTS,
  async fn() {
    try {
      await withDaemon([], async (d) => {
        const client = await LegacyClient.alloc(d.socket, root);
        try {
          const first = await client.ripgrep("TODO", [root], QWEN_OPTIONS);
          sameText(first.text, await rgText("TODO", [root]));
          await sleep(12_000); // agents think for a while between tool calls
          const later = await client.ripgrep("FOO_BAR", [root], QWEN_OPTIONS);
          strictEqual(later.response_status, 1, show(later));
          sameText(later.text, await rgText("FOO_BAR", [root]));
        } finally {
          client.close();
        }
      });
    } finally {
      removeResponseSockets();
    }
  },
});
