/**
 * The original curserve protocol, so existing clients (a qwen-code fork)
 * work unmodified: `alloc_pid` loads a repository for a process id and
 * opens `/tmp/qwen_code_response_{pid}.sock`, where that process then
 * receives the answers to its `request_ripgrep` messages.
 * @module
 */
import type { Client, Daemon, Tenant } from "./server.ts";
import { type Peer, uidOfProcess } from "./peer.ts";
import { listenUnix } from "./unix_socket.ts";

type Message = Record<string, unknown>;

/** A process id's workspace and response socket. */
interface Allocation {
  holder: object;
  /** The user who allocated it: only they may search through it. */
  owner: Peer;
  workspace: Tenant;
  listener: Deno.Listener<Deno.UnixConn>;
  path: string;
  responder?: Deno.UnixConn;
}

const encoder = new TextEncoder();
/** How long an allocation waits for its process to connect. */
const UNCLAIMED_MS = 60_000;
/** Allocations one user may hold (each is a listening socket and a
 * workspace reference). */
export const ALLOCATIONS_PER_USER = 64;

async function writeLine(conn: Deno.UnixConn, message: unknown): Promise<void> {
  const bytes = encoder.encode(JSON.stringify(message) + "\n");
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/** rg flags for qwen-code's ripgrep options. */
export function legacyArgs(m: Message): string[] {
  const o = (typeof m.options === "object" && m.options !== null ? m.options : {}) as Message;
  const args: string[] = [];
  // qwen-code's fork sends ignore_case; the original service's own client
  // case_sensitive (false: ignore case).
  if (o.ignore_case || o.case_sensitive === false || m.case_sensitive === false) args.push("-i");
  else if (o.case_sensitive === true || m.case_sensitive === true) args.push("-s");
  if (o.line_number) args.push("-n");
  if (o.with_filename) args.push("-H");
  const globs = [
    ...(typeof o.glob === "string" ? [o.glob] : []),
    ...(Array.isArray(o.globs) ? o.globs.filter((g): g is string => typeof g === "string") : []),
  ];
  for (const g of globs) args.push("-g", g);
  const pattern = typeof o.regexp === "string" ? o.regexp : m.pattern;
  if (typeof pattern !== "string") throw new TypeError("request_ripgrep needs a string pattern");
  args.push("-e", pattern);
  const paths = Array.isArray(m.paths)
    ? m.paths.filter((p): p is string => typeof p === "string")
    : [];
  return [...args, "--", ...paths];
}

export class LegacyBridge {
  #allocations = new Map<number, Allocation>();

  constructor(private daemon: Daemon, private dir: string) {}

  /** Answers one message of the original protocol; resolves once the
   * answer is written. */
  async handle(client: Client, m: Message): Promise<void> {
    const started = performance.now();
    const what = `${String(m.type)} pid=${String(m.pid)}`;
    try {
      if (m.type === "alloc_pid") await this.#alloc(client, m);
      // The fork's TypeScript client says request_grep for the same thing.
      else if (m.type === "request_ripgrep" || m.type === "request_grep") {
        await this.#ripgrep(client, m, started, what);
        return;
      } else throw new TypeError(`unknown message type: ${String(m.type)}`);
      this.daemon.log(client, what, started, "ok");
    } catch (err) {
      this.daemon.log(client, what, started, "error");
      await client.send({
        response_status: 0,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  async #alloc(client: Client, m: Message): Promise<void> {
    const pid = m.pid;
    if (
      typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0 ||
      typeof m.repo_dir_path !== "string"
    ) {
      throw new TypeError("alloc_pid needs a positive integer pid and a string repo_dir_path");
    }
    // A pid names the caller's own process (or one of the same user), so
    // nobody can point another user's agent at a tree of their choosing.
    const who = client.peer;
    if (pid !== who.pid && who.uid !== 0 && uidOfProcess(pid) !== who.uid) {
      throw new TypeError(`pid ${pid} is not a process of yours (uid ${who.uid})`);
    }
    const previous = this.#allocations.get(pid);
    if (previous && previous.owner.uid !== who.uid && who.uid !== 0) {
      throw new TypeError(`pid ${pid} is allocated by another user`);
    }
    this.#free(pid);
    if (this.count(who.uid) >= ALLOCATIONS_PER_USER) {
      throw new TypeError(
        `uid ${who.uid} already holds ${ALLOCATIONS_PER_USER} allocations (the limit)`,
      );
    }
    // The allocation itself holds the workspace: it lives as long as the
    // process keeps its response socket (or, failing that, runs at all).
    const holder = {};
    const workspace = await this.daemon.open(holder, who, m.repo_dir_path);
    const { files } = await workspace.loaded;
    const path = `${this.dir}/qwen_code_response_${pid}.sock`;
    let listener: Deno.Listener<Deno.UnixConn>;
    try {
      // Owned by the user, mode 0600: only they (and root) can connect.
      listener = listenUnix(path, 0o600, { uid: who.uid, gid: who.gid });
    } catch (err) {
      this.daemon.release(holder, workspace);
      throw new Error(`cannot create the response socket ${path}: ${(err as Error).message}`);
    }
    const alloc: Allocation = { holder, owner: { ...who }, workspace, listener, path };
    this.#allocations.set(pid, alloc);
    this.#accept(pid, alloc);
    // A process that never connects to its response socket gives it up.
    const t = setTimeout(() => {
      if (this.#allocations.get(pid) === alloc && !alloc.responder) this.#free(pid);
    }, UNCLAIMED_MS);
    Deno.unrefTimer(t);
    await client.send({ response_status: 1, text: `Allocated ${files} files` });
  }

  /** Takes the client's connection to its response socket; when that
   * connection goes away, the allocation goes too. */
  async #accept(pid: number, alloc: Allocation): Promise<void> {
    try {
      for await (const conn of alloc.listener) {
        alloc.responder?.close();
        alloc.responder = conn;
        (async () => {
          const buf = new Uint8Array(1024);
          try {
            while ((await conn.read(buf)) !== null) { /* the client only listens */ }
          } catch {
            // reset
          }
          if (this.#allocations.get(pid) === alloc && alloc.responder === conn) this.#free(pid);
        })();
      }
    } catch {
      // listener closed
    }
  }

  async #ripgrep(client: Client, m: Message, started: number, what: string): Promise<void> {
    const found = typeof m.pid === "number" ? this.#allocations.get(m.pid) : undefined;
    // Another user's allocation is as absent as none.
    const alloc = found && (found.owner.uid === client.peer.uid || client.peer.uid === 0)
      ? found
      : undefined;
    const reply = async (
      message: { response_status: 0; error: string } | { response_status: 1; text: string },
    ) => {
      this.daemon.log(client, what, started, message.response_status ? "ok" : "error");
      if (alloc?.responder) await writeLine(alloc.responder, message).catch(() => {});
      else await client.send(message);
    };
    if (!alloc) {
      // The original service's words, to the letter.
      return reply({
        response_status: 0,
        error: `PID ${String(m.pid)} has no allocated codebase. Call alloc_pid first.`,
      });
    }
    let args: string[];
    try {
      args = legacyArgs(m);
    } catch (err) {
      return reply({ response_status: 0, error: (err as Error).message });
    }
    let r: { stdout: string; stderr: string; code: number };
    try {
      r = await this.daemon.grep(alloc.workspace, args);
    } catch (err) {
      return reply({ response_status: 0, error: (err as Error).message });
    }
    await reply(
      r.code === 2
        ? { response_status: 0, error: r.stderr.trim() }
        : { response_status: 1, text: r.stdout },
    );
  }

  #free(pid: number): void {
    const alloc = this.#allocations.get(pid);
    if (!alloc) return;
    this.#allocations.delete(pid);
    alloc.listener.close();
    alloc.responder?.close();
    try {
      Deno.removeSync(alloc.path);
    } catch {
      // already gone
    }
    this.daemon.release(alloc.holder, alloc.workspace);
  }

  /** Allocations held by `uid` (all of them for undefined). */
  count(uid?: number): number {
    let n = 0;
    for (const a of this.#allocations.values()) if (uid === undefined || a.owner.uid === uid) n++;
    return n;
  }

  async close(): Promise<void> {
    for (const pid of [...this.#allocations.keys()]) this.#free(pid);
    await Promise.resolve();
  }
}
