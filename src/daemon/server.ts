/**
 * The daemon's socket side: accepts clients on a Unix socket, reads
 * newline-delimited JSON-RPC 2.0 (and the original curserve messages),
 * keeps one shared workspace per real root with a count of the clients
 * holding it, and hands all work to the worker pool.
 * @module
 */
import { resolve } from "node:path";
import { type GrepArgs, parseArgs } from "../args.ts";
import { concatBytes } from "../bytes.ts";
import { jsonMatches } from "../matches.ts";
import {
  captureIO,
  fillsReply,
  finishSearch,
  joinJsonText,
  type SearchPart,
  splitMissing,
} from "../output.ts";
import { type PathRange, shardCount, shardWeight } from "../walk.ts";
import { confine, listDirectory, sliceLines } from "../files.ts";
import { LegacyBridge } from "./legacy.ts";
import { NOT_NEEDED, RpcError, WorkerPool } from "./pool.ts";
import { cappedText, encodeLine, JsonText } from "./reply.ts";
import { listenUnix } from "./unix_socket.ts";
import { readRegularFile } from "./regular_file.ts";
import { asUser, canSwitchUsers } from "./credentials.ts";
import { type Peer, peerCredentialsAvailable, PeerIdentifier } from "./peer.ts";
import { type Changes, inotifyAvailable, TreeWatcher } from "../inotify.ts";
import {
  DEFAULT_CACHE_MAX_BYTES,
  forgetPlan,
  planFile,
  readPlan,
  savePlan,
} from "./sketch_cache.ts";

/** Per-user and per-connection bounds; see docs/PROTOCOL.md "Limits". */
export interface Limits {
  /** Connections one user may hold open. */
  connectionsPerUser: number;
  /** Requests of one connection that may be in flight (counted until
   * their reply is written): past it the daemon stops reading from it. */
  inflightPerConnection: number;
  /** Requests of one user in flight, over all their connections. */
  inflightPerUser: number;
  /** Workspaces one user may hold open. */
  workspacesPerUser: number;
  /** Bytes of files one user's workspaces may hold (0: no limit). */
  bytesPerUser: number;
  /** The largest `max_bytes` a grep may ask for. */
  maxReplyBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  connectionsPerUser: 256,
  inflightPerConnection: 16,
  inflightPerUser: 64,
  workspacesPerUser: 32,
  bytesPerUser: 0,
  maxReplyBytes: 64 << 20,
};

/** How the daemon runs. */
export interface DaemonOptions {
  socket: string;
  workers: number;
  /** Octal file mode of the socket, e.g. 0o600. */
  socketMode: number;
  /** Group given the socket file (null: the daemon's own). */
  socketGroup?: number | null;
  /** Also listen here, for the original protocol's clients (whose path
   * is fixed: /tmp/mem_search_service_requests.sock). */
  legacySocket?: string;
  /** Longest request line accepted, in bytes. */
  maxLineBytes: number;
  /** Per-request time limit. */
  timeoutMs: number;
  /** Bytes of file contents to hold at most (0: no limit). */
  memoryLimit: number;
  /** Workspaces of at least this many bytes are split into shards across
   * the workers, so one search uses every core. */
  shardBytes: number;
  /** How long a workspace stays loaded after its last client left (0: it
   * is freed at once). */
  lingerMs: number;
  verbose: boolean;
  /** Directory of the original protocol's response sockets. */
  legacyDir: string;
  /** Keep each search worker on its own CPU (src/daemon/affinity.ts). */
  pinWorkers?: boolean;
  /** Save sketches here, per user, and restore them on the next load
   * (src/daemon/sketch_cache.ts); none: they are built on every load. */
  sketchCacheDir?: string;
  /** The sketch cache's byte budget (default DEFAULT_CACHE_MAX_BYTES). */
  sketchCacheMaxBytes?: number;
  limits?: Partial<Limits>;
}

/** A share of a workspace held by one worker: the files in `range` (in
 * rg's path order), so shards' answers join in order. */
interface Shard {
  worker: number;
  /** The worker's name for it. */
  key: string;
  range: PathRange;
}

/** What a command line printed. */
interface Printed {
  stdout: Uint8Array;
  stderr: string;
  code: number;
  /** stdout as a JSON string literal, when asked for and at hand. */
  stdoutJson?: Uint8Array;
}

/** What a worker's `cli` answers: the printed command, or what needs the
 * real rg (a file name that is not UTF-8), which the daemon does not run. */
type CliAnswer = Printed | { fallback: string };

/** Where a tree is split into shards: the paths where the second and
 * later begin, its signature (for placing clones), and the saved plan file
 * it came from, when it did. */
interface Plan {
  bounds: string[];
  tree?: string;
  reused?: string;
}

/** Whether shards of these sizes are what a fresh plan would make: as
 * many, none far above an even share of the weight (`shardWeight` in
 * src/walk.ts). (A tree whose big files make even shares impossible fails
 * too: it is planned anew at each load, as without saved plans.) */
function evenlySpread(shards: { files: number; bytes: number }[], expected: number): boolean {
  const weights = shards.map((s) => shardWeight(s.bytes, s.files));
  const even = weights.reduce((n, w) => n + w, 0) / weights.length;
  return weights.length === expected && weights.every((w) => w <= 1.25 * even);
}

/** One workspace: a tree loaded for one user (with one set of load
 * options), shared by every client of that user that opens it. */
export interface Tenant {
  /** Random: a handle names one workspace, never a guessable one. */
  id: string;
  root: string;
  /** Whose rights read it. */
  owner: Peer;
  /** One, or several for a large workspace; none until loaded. */
  shards: Shard[];
  /** Its tree's signature, when its shards were placed by it (see
   * `WorkerPool.assign`). */
  tree?: string;
  loaded: Promise<{ files: number; bytes: number; load_ms: number }>;
  /** References held per holder (a client, or a legacy allocation). */
  clients: Map<object, number>;
  hidden: boolean;
  noIgnore: boolean;
  /** Bytes held, as of the last load. */
  bytes: number;
  /** Requests running on it; only idle workspaces are evicted. */
  inflight: number;
  lastUsed: number;
  /** Unloaded to stay within the memory limit; reloads on next use. */
  evicted: boolean;
  /** The root was deleted or moved away: requests fail until it is back. */
  gone: boolean;
  /** Watched (its directories are in the daemon's inotify instance). */
  watched: boolean;
  /** Without inotify: Deno's watcher, applied as events arrive. */
  fallbackWatcher?: Deno.FsWatcher;
  /** Frees it, once nobody has held it for the linger time. */
  lingering?: ReturnType<typeof setTimeout>;
}

/** Counts one user's use of the daemon, for the per-user limits. */
interface UserUse {
  connections: number;
  inflight: number;
  /** Read loops waiting for one of the user's requests to finish. */
  waiting: (() => void)[];
}

/** A connected client: who it is, serialized writes, what it holds. */
export class Client {
  #writing = Promise.resolve();
  closed = false;
  /** Aborted when the client goes away: its queued work is dropped. */
  readonly gone = new AbortController();
  /** Requests read but not yet answered (reply not yet written). */
  inflight = 0;
  /** Wakes the read loop when a request finishes. */
  #wake?: () => void;

  constructor(readonly conn: Deno.UnixConn, readonly peer: Peer) {}

  /** Sends one JSON message as a line (dropped once the client is gone);
   * resolves once it is written. */
  send(message: unknown): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeLine(message);
    } catch (err) {
      bytes = encodeLine({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32603, message: String(err) },
      });
    }
    this.#writing = this.#writing.then(async () => {
      if (this.closed) return;
      try {
        for (let done = 0; done < bytes.length;) {
          done += await this.conn.write(bytes.subarray(done));
        }
      } catch {
        this.closed = true;
      }
    });
    return this.#writing;
  }

  /** Resolves at the next finished request (or at once if none runs). */
  nextFinished(): Promise<void> {
    return new Promise((resolve) => this.#wake = resolve);
  }

  finished(): void {
    this.inflight--;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Reads `\n`-terminated lines of at most `max` bytes; longer ones are
 * reported as `null` and skipped up to their end. */
async function* lines(conn: Deno.UnixConn, max: number): AsyncGenerator<string | null> {
  const decoder = new TextDecoder();
  let parts: Uint8Array[] = [];
  let size = 0;
  let oversized = false;
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      return;
    }
    if (n === null) return;
    let chunk = buf.subarray(0, n);
    let nl: number;
    while ((nl = chunk.indexOf(10)) >= 0) {
      const piece = chunk.subarray(0, nl);
      if (oversized || size + piece.length > max) yield null;
      else {
        parts.push(piece);
        yield decoder.decode(concatBytes(parts));
      }
      parts = [];
      size = 0;
      oversized = false;
      chunk = chunk.subarray(nl + 1);
    }
    if (oversized || size + chunk.length > max) {
      oversized = true;
      parts = [];
      size = 0;
    } else if (chunk.length) {
      parts.push(chunk.slice());
      size += chunk.length;
    }
  }
}

type Params = Record<string, unknown>;

function str(p: Params, key: string): string {
  if (typeof p[key] !== "string") throw new RpcError(-32602, `params.${key} must be a string`);
  return p[key] as string;
}

function optBool(p: Params, key: string): boolean {
  const v = p[key] ?? false;
  if (typeof v !== "boolean") throw new RpcError(-32602, `params.${key} must be a boolean`);
  return v;
}

/**
 * One shard's search, slice by slice: a search pauses when another
 * tenant's request waits for its worker (see src/daemon/worker.ts), and its
 * next slice is queued behind that request. The slices join in order, as
 * shards do.
 * @param call Runs the search with extra parameters (the `resume` point and
 * what is left of `max_bytes`).
 */
async function slices(
  call: (more?: Params) => Promise<unknown>,
  maxBytes?: number,
): Promise<SearchPart[]> {
  const done: SearchPart[] = [];
  let more: Params = {};
  let printed = 0;
  for (;;) {
    const part = await call(more) as SearchPart;
    done.push(part);
    printed += part.pieces.reduce((n, piece) => n + piece.length, 0);
    const full = maxBytes !== undefined && printed > maxBytes;
    if (!part.resume || part.error !== undefined || full) return done;
    more = {
      resume: part.resume,
      ...(maxBytes === undefined ? {} : { max_bytes: maxBytes - printed }),
    };
  }
}

/**
 * Shards' answers in order, as many as are needed: all of them, or the
 * first ones once `full` says they fill the reply (the rest are then
 * called off through `enough`, and their failures ignored).
 */
function firstShardsPast(
  answers: Promise<SearchPart[]>[],
  full: (first: SearchPart[]) => boolean,
  enough: AbortController,
): Promise<SearchPart[][]> {
  const done: (SearchPart[] | undefined)[] = answers.map(() => undefined);
  let ready = 0; // answers[0..ready) are in
  return new Promise((resolve, reject) => {
    answers.forEach((answer, i) =>
      answer.then((parts) => {
        done[i] = parts;
        const before = ready;
        while (ready < done.length && done[ready]) ready++;
        if (ready === done.length) resolve(done as SearchPart[][]);
        else if (ready > before && full(done.slice(0, ready).flat() as SearchPart[])) {
          enough.abort(NOT_NEEDED);
          resolve(done.slice(0, ready) as SearchPart[][]);
        }
      }, (err) => {
        if (!enough.signal.aborted) reject(err);
      })
    );
  });
}

function optNum(p: Params, key: string, fallback: number): number {
  const v = p[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new RpcError(-32602, `params.${key} must be a non-negative integer`);
  }
  return v;
}

function strArray(p: Params, key: string, fallback?: string[]): string[] {
  const v = p[key] ?? fallback;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new RpcError(-32602, `params.${key} must be an array of strings`);
  }
  return v as string[];
}

export class Daemon {
  #opts: DaemonOptions;
  #limits: Limits;
  #pool: WorkerPool;
  /** Searches' pauses for other tenants' requests (see `slices`). */
  #paused = 0;
  #listeners: Deno.Listener<Deno.UnixConn>[] = [];
  #tenants = new Map<string, Tenant>();
  #byId = new Map<string, Tenant>();
  #clients = new Set<Client>();
  #users = new Map<number, UserUse>();
  #watcher?: TreeWatcher;
  #poll?: ReturnType<typeof setInterval>;
  #closing = false;
  /** Whether reads can take on each user's rights (root, with FFI). */
  readonly multiUser: boolean;
  /** Whether connections' peers are known from the kernel. */
  readonly identifiesPeers: boolean;
  readonly legacy: LegacyBridge;

  constructor(opts: DaemonOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#pool = new WorkerPool(opts.workers, {
      pin: opts.pinWorkers,
      cpus: navigator.hardwareConcurrency || opts.workers,
    });
    this.legacy = new LegacyBridge(this, opts.legacyDir);
    this.multiUser = canSwitchUsers();
    this.identifiesPeers = peerCredentialsAvailable();
    if (inotifyAvailable()) {
      try {
        this.#watcher = new TreeWatcher();
      } catch (err) {
        console.error(`curserve: no inotify (${(err as Error).message}); using Deno's watcher`);
      }
    }
  }

  /** The process's own identity, for connections that cannot be told apart. */
  #self(pid = 0): Peer {
    return { pid, uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0, groups: [] };
  }

  /**
   * Listens on the socket (and the legacy one, if asked), replacing a
   * stale socket file.
   * @throws {Deno.errors.AddrInUse} When a live daemon already answers there.
   */
  async listen(): Promise<void> {
    const paths = [
      this.#opts.socket,
      ...(this.#opts.legacySocket ? [this.#opts.legacySocket] : []),
    ];
    if (!this.identifiesPeers && (this.#opts.socketMode & 0o077)) {
      throw new Error(
        "the socket would let other users connect, but without --allow-ffi their identity " +
          "cannot be read from the kernel; keep --socket-mode 600 or allow FFI",
      );
    }
    for (const path of paths) {
      await removeStaleSocket(path);
      const listener = listenUnix(path, this.#opts.socketMode, {
        uid: null,
        gid: this.#opts.socketGroup ?? null,
      });
      this.#listeners.push(listener);
      const bound = (listener.addr as Deno.UnixAddr).path;
      this.#serve(listener, this.identifiesPeers ? new PeerIdentifier(bound) : undefined);
    }
    // Others' changes are applied within about this long even when no
    // request comes to drain them (requests drain their own at once).
    this.#poll = setInterval(() => this.#applyChanges(), 50);
    Deno.unrefTimer(this.#poll);
  }

  /** Accepts connections until closed. Failures to accept (out of file
   * descriptors, say) are logged and retried with backoff: the listener
   * stays open and the connections wait in its backlog. */
  async #serve(listener: Deno.Listener<Deno.UnixConn>, ids?: PeerIdentifier): Promise<void> {
    let backoff = 10;
    while (!this.#closing) {
      let conn: Deno.UnixConn;
      try {
        conn = await listener.accept();
        backoff = 10;
      } catch (err) {
        if (this.#closing || err instanceof Deno.errors.BadResource) return;
        console.error(
          `curserve: cannot accept a connection (${(err as Error).message}); ` +
            `retrying in ${backoff} ms`,
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      let peer: Peer;
      try {
        // At once, before the next accept (see PeerIdentifier).
        peer = ids ? ids.identifyNewest() : this.#self();
      } catch (err) {
        console.error(`curserve: refused a connection: cannot identify it (${err})`);
        refuse(conn, "the daemon could not identify this connection");
        continue;
      }
      const why = this.#refusal(peer);
      if (why) {
        if (this.#opts.verbose) console.error(`curserve: refused uid ${peer.uid}: ${why}`);
        refuse(conn, why);
        continue;
      }
      this.#handle(new Client(conn, peer));
    }
  }

  /** Why a peer may not connect now, or undefined. */
  #refusal(peer: Peer): string | undefined {
    const own = Deno.uid();
    if (!this.multiUser && peer.uid !== own) {
      return `this daemon runs as uid ${own} and serves only that user`;
    }
    const use = this.#use(peer.uid);
    if (use.connections >= this.#limits.connectionsPerUser) {
      return `uid ${peer.uid} already has ${use.connections} connections (the limit)`;
    }
    return undefined;
  }

  #use(uid: number): UserUse {
    let use = this.#users.get(uid);
    if (!use) this.#users.set(uid, use = { connections: 0, inflight: 0, waiting: [] });
    return use;
  }

  async #handle(client: Client): Promise<void> {
    this.#clients.add(client);
    const use = this.#use(client.peer.uid);
    use.connections++;
    try {
      for await (const line of lines(client.conn, this.#opts.maxLineBytes)) {
        if (line === null) {
          client.send(
            rpcError(null, -32600, `request line exceeds ${this.#opts.maxLineBytes} bytes`),
          );
          continue;
        }
        if (line.trim() === "") continue;
        // Backpressure: a client whose replies are not read, or who sends
        // faster than it is answered, waits here; nothing more is read
        // from it (and its socket fills) until requests finish.
        while (
          client.inflight >= this.#limits.inflightPerConnection ||
          use.inflight >= this.#limits.inflightPerUser
        ) {
          if (client.closed) return;
          const next = client.inflight
            ? client.nextFinished()
            : new Promise<void>((resolve) => use.waiting.push(resolve));
          await next;
        }
        client.inflight++;
        use.inflight++;
        const done = () => {
          client.finished();
          use.inflight--;
          use.waiting.shift()?.();
        };
        try {
          // Not awaited: requests on one connection run side by side.
          this.#dispatch(client, line).then(done, done);
        } catch (err) {
          done();
          console.error(`curserve: request failed unexpectedly: ${err}`);
        }
      }
    } finally {
      use.connections--;
      this.disconnect(client);
    }
  }

  /** Answers one request line; resolves once the reply is written. */
  async #dispatch(client: Client, line: string): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      return client.send(rpcError(null, -32700, `parse error: ${(err as Error).message}`));
    }
    if (Array.isArray(msg)) {
      return client.send(
        rpcError(null, -32600, "batch requests are not supported: send one JSON object per line"),
      );
    }
    if (typeof msg !== "object" || msg === null) {
      return client.send(
        rpcError(null, -32600, `a request must be a JSON object, not ${describe(msg)}`),
      );
    }
    if ("type" in msg && !("jsonrpc" in msg)) {
      return this.legacy.handle(client, msg as Params);
    }
    const req = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const id = typeof req.id === "string" || (typeof req.id === "number" && isFinite(req.id))
      ? req.id
      : null;
    if (id === null && "id" in req && req.id !== null) {
      return client.send(
        rpcError(null, -32600, "invalid request: id must be a string or a finite number"),
      );
    }
    if (req.jsonrpc !== "2.0" || typeof req.method !== "string") {
      return client.send(
        rpcError(id, -32600, 'invalid request: needs "jsonrpc": "2.0" and a "method"'),
      );
    }
    const params = req.params ?? {};
    if (typeof params !== "object" || Array.isArray(params) || params === null) {
      return client.send(rpcError(id, -32602, "params must be an object"));
    }
    const method = req.method;
    const started = performance.now();
    if (INLINE_METHODS.has(method)) {
      // Answered on this thread at once: no queue to leave, nothing to
      // time out, so none of the machinery below.
      return this.#answer(
        client,
        id,
        method,
        started,
        () => this.#inline(client, method, params as Params),
      );
    }
    // The timeout answers at once, and also stops the request from starting
    // later if it is still queued behind other searches.
    const expired = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      expired.signal.onabort = () => reject(expired.signal.reason);
    });
    const timer = setTimeout(
      () =>
        expired.abort(new RpcError(-32000, `request timed out after ${this.#opts.timeoutMs} ms`)),
      this.#opts.timeoutMs,
    );
    const signal = AbortSignal.any([client.gone.signal, expired.signal]);
    try {
      await this.#answer(
        client,
        id,
        method,
        started,
        () => Promise.race([this.call(client, method, params as Params, id, signal), timeout]),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a request's work and sends its result or error (nothing for a
   * notification, which has no id), logged with --verbose. */
  async #answer(
    client: Client,
    id: string | number | null,
    method: string,
    started: number,
    work: () => unknown,
  ): Promise<void> {
    let reply: unknown;
    try {
      const result = await work();
      reply = { jsonrpc: "2.0", id, result };
      this.log(client, method, started, "ok", result);
    } catch (err) {
      const code = err instanceof RpcError ? err.code : -32000;
      this.log(client, method, started, `error ${code}`);
      const data = err instanceof DataError ? err.data : undefined;
      reply = rpcError(id, code, err instanceof Error ? err.message : String(err), data);
    }
    if (id !== null) await client.send(reply);
  }

  /** With --verbose, one line per request of either protocol. */
  log(client: Client, what: string, started: number, status: string, result?: unknown): void {
    if (!this.#opts.verbose) return;
    const size = resultSize(result);
    console.error(
      `${new Date().toISOString()} uid=${client.peer.uid} pid=${client.peer.pid} ${what} ${
        (performance.now() - started).toFixed(1)
      }ms ${status}${size === undefined ? "" : ` ${size}B`}`,
    );
  }

  /** Runs one method for a client; `signal` calls off work not yet started. */
  async call(
    client: Client,
    method: string,
    p: Params,
    id: unknown = null,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const who = client.peer;
    switch (method) {
      case "open": {
        const t = await this.open(
          client,
          who,
          str(p, "root"),
          optBool(p, "hidden"),
          optBool(p, "no_ignore"),
          (pr) => {
            if (id !== null) {
              client.send({
                jsonrpc: "2.0",
                method: "progress",
                params: { id, ...pr },
              });
            }
          },
        );
        return { workspace: t.id, root: t.root, ...(await t.loaded) };
      }
      case "grep": {
        const t = this.#tenant(p, who);
        const args = strArray(p, "args");
        const max = Math.min(optNum(p, "max_bytes", 1 << 20), this.#limits.maxReplyBytes);
        const r = await this.#search(t, args, t.root, signal, max, true);
        // Given only for answers within max (see joinJsonText).
        const stdout = r.stdoutJson
          ? { stdout: new JsonText(r.stdoutJson), truncated: false }
          : cappedText(r.stdout, max);
        return { ...stdout, stderr: r.stderr, code: r.code };
      }
      case "matches": {
        const t = this.#tenant(p, who);
        const [args, limit] = [strArray(p, "args"), optNum(p, "limit", 1000)];
        const r = await this.#search(t, ["--json", ...args], t.root, signal);
        if (r.code === 2) throw new RpcError(-32000, r.stderr.trim());
        const { matches, truncated } = jsonMatches(r.stdout, limit);
        // The protocol's field names are snake_case.
        return {
          matches: matches.map(({ lineNumber, ...m }) => ({ ...m, line_number: lineNumber })),
          truncated,
        };
      }
      case "glob": {
        const t = this.#tenant(p, who);
        // Checked to stay inside, then passed as given: rg prints it so.
        const path = p.path === undefined ? undefined : str(p, "path");
        if (path !== undefined) this.#confine(t, path);
        const [pattern, limit] = [str(p, "pattern"), optNum(p, "limit", 10000)];
        // `--` so that a path (or pattern) is never read as a flag.
        const argv = ["--files", "-g", pattern, "--", ...(path === undefined ? [] : [path])];
        const r = await this.#search(t, argv, t.root, signal);
        if (r.code === 2) throw new RpcError(-32000, r.stderr.trim());
        const files = new TextDecoder().decode(r.stdout).split("\n").filter((f) => f !== "");
        return { files: files.slice(0, limit), truncated: files.length > limit };
      }
      case "notify_changed": {
        const t = this.#tenant(p, who);
        const paths = strArray(p, "paths").map((x) => this.#confine(t, x));
        await this.#fresh(t);
        const done = await this.#work(t, "refresh", { paths }) as { updated: number }[];
        return { updated: done[0].updated };
      }
      case "close": {
        this.release(client, this.#tenant(p, who));
        return {};
      }
      case "stats":
        return this.stats(who);
      case "grep_cli":
        return this.grepCli(client, str(p, "cwd"), strArray(p, "argv"), signal);
      default:
        throw new RpcError(-32601, `unknown method: ${method}`);
    }
  }

  /** The methods answered synchronously on the socket thread (see
   * {@link INLINE_METHODS}). */
  #inline(client: Client, method: string, p: Params): unknown {
    const who = client.peer;
    switch (method) {
      case "list_directory": {
        const t = this.#tenant(p, who);
        const dir = this.#confine(t, str(p, "path"));
        const ignore = strArray(p, "ignore", []);
        try {
          return { entries: asUser(t.owner, () => listDirectory(dir, ignore)) };
        } catch (err) {
          throw new RpcError(-32602, `cannot list ${p.path}: ${(err as Error).message}`);
        }
      }
      case "read_file": {
        const t = this.#tenant(p, who);
        const path = this.#confine(t, str(p, "path"));
        const [offset, limit] = [optNum(p, "offset", 0), optNum(p, "limit", 2000)];
        // Read here rather than queue behind searches in the workspace's
        // worker (a small read should never wait for a grep), synchronously,
        // with the user's rights (see credentials.ts).
        let bytes: Uint8Array;
        try {
          bytes = asUser(t.owner, () => readRegularFile(path, READ_FILE_MAX_BYTES));
        } catch (err) {
          throw new RpcError(-32602, `cannot read ${p.path}: ${(err as Error).message}`);
        }
        return sliceLines(bytes, offset, limit);
      }
      default:
        throw new RpcError(-32601, `unknown method: ${method}`);
    }
  }

  /** The workspace a request names, if it is the caller's: another
   * user's handle is as unknown as a made-up one. */
  #tenant(p: Params, who: Peer): Tenant {
    const t = this.#byId.get(str(p, "workspace"));
    if (!t || !mayUse(who, t)) throw new RpcError(-32602, `unknown workspace: ${p.workspace}`);
    return t;
  }

  #confine(t: Tenant, path: string): string {
    try {
      return asUser(t.owner, () => confine(t.root, path));
    } catch (err) {
      throw new RpcError(-32602, (err as Error).message);
    }
  }

  /** Opens (or shares) `who`'s workspace at `root`, counting a reference
   * for `holder`. The root is resolved, and must be a directory `who` can
   * list, with `who`'s own rights. */
  async open(
    holder: object,
    who: Peer,
    root: string,
    hidden = false,
    noIgnore = false,
    onProgress?: (p: { files: number; bytes: number }) => void,
  ): Promise<Tenant> {
    let real: string;
    try {
      real = asUser(who, () => {
        const path = Deno.realPathSync(resolve(root));
        if (!Deno.statSync(path).isDirectory) throw new Error("not a directory");
        Deno.readDirSync(path)[Symbol.iterator]().next(); // listable by them
        return path;
      });
    } catch (err) {
      throw new RpcError(-32602, `cannot open workspace ${root}: ${(err as Error).message}`);
    }
    // Tenants are per user: one user's copy was read with their rights.
    const key = `${who.uid}\0${real}\0${hidden}\0${noIgnore}`;
    let t = this.#tenants.get(key);
    if (!t) {
      const held = [...this.#byId.values()].filter((x) => x.owner.uid === who.uid).length;
      if (held >= this.#limits.workspacesPerUser) {
        throw new RpcError(
          -32000,
          `uid ${who.uid} already holds ${held} workspaces (the limit); close one first`,
        );
      }
      const id = `ws-${crypto.randomUUID()}`;
      t = {
        id,
        root: real,
        owner: { ...who },
        shards: [],
        loaded: Promise.resolve({ files: 0, bytes: 0, load_ms: 0 }),
        clients: new Map(),
        hidden,
        noIgnore,
        bytes: 0,
        inflight: 0,
        lastUsed: performance.now(),
        evicted: true,
        gone: false,
        watched: false,
      };
      this.#tenants.set(key, t);
      this.#byId.set(id, t);
      const tenant = t;
      this.#load(t, onProgress).catch(() => this.#drop(key, tenant));
    }
    clearTimeout(t.lingering);
    t.lingering = undefined;
    t.clients.set(holder, (t.clients.get(holder) ?? 0) + 1);
    try {
      await t.loaded;
    } catch (err) {
      this.release(holder, t);
      throw err;
    }
    if (holder instanceof Client && holder.closed) {
      // It left while the workspace loaded: its reference goes with it.
      this.release(holder, t, true);
      throw new RpcError(-32000, "client went away");
    }
    return t;
  }

  /** Loads a tenant's files into workers (first open, or after eviction):
   * a large tree is split into shards of about equal size spread over the
   * workers (see `planShards` in src/walk.ts), loaded side by side. The
   * tree is watched before it is read, so no change falls between. */
  #load(t: Tenant, onProgress?: (p: { files: number; bytes: number }) => void): Promise<unknown> {
    t.evicted = false;
    t.shards = [];
    const where: Params = { root: t.root, hidden: t.hidden, no_ignore: t.noIgnore, as: t.owner };
    // No load may take more than the limits allow: the workers stop
    // reading at this many bytes (each shard; the whole tree is checked
    // against it first when it is planned).
    const budget = this.#loadBudget(t);
    if (Number.isFinite(budget)) where.max_bytes = budget;
    t.loaded = (async () => {
      const started = performance.now();
      // The plan reads no file's bytes, so it walks while the watches are
      // added (Linux: 0.35 s of watching, 1.3 s of planning, or none with
      // a saved plan); the loads start once both are done.
      const watched = this.#watch(t);
      let plan: Plan;
      try {
        plan = await this.#plan(t, where);
      } finally {
        await watched;
      }
      const { bounds, tree } = plan;
      // Clones of one tree go where its first went: identical files share.
      t.shards = this.#pool.assign(bounds.length + 1, tree).map((worker, i) => ({
        worker,
        key: `${t.id}/${i}`,
        range: { from: bounds[i - 1], to: bounds[i] },
      }));
      t.tree = tree;
      const progress = t.shards.map(() => ({ files: 0, bytes: 0 }));
      const sum = <K extends string>(xs: Record<K, number>[], k: K) =>
        xs.reduce((n, x) => n + x[k], 0);
      // One load at a time on each CPU, and no sketching on a CPU while it
      // loads (src/daemon/worker.ts): a load is what the client waits for.
      // Two workers loading side by side on one CPU, or one loading beside
      // one sketching a shard loaded first, slowed Linux's open from
      // 3.9-4.5 s to 4.8-5.4 s.
      const loadingOn = new Map<number, Promise<unknown>>();
      const loads = await Promise.all(
        t.shards.map((shard, i) => {
          const cpu = shard.worker % this.#pool.cpus;
          const load = (loadingOn.get(cpu) ?? Promise.resolve()).then(() =>
            this.#pool.call(shard.worker, "open", {
              key: shard.key,
              ...where,
              range: shard.range,
              sketch_cache: this.#opts.sketchCacheDir &&
                {
                  dir: this.#opts.sketchCacheDir,
                  max_bytes: this.#opts.sketchCacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES,
                  shard: i,
                  shards: t.shards.length,
                },
            }, {
              onProgress: (p) => {
                progress[i] = p;
                onProgress?.({ files: sum(progress, "files"), bytes: sum(progress, "bytes") });
              },
            }) as Promise<{ files: number; bytes: number; load_ms: number }>
          );
          loadingOn.set(cpu, load.catch(() => {}));
          return load;
        }),
      );
      const shards = shardCount(sum(loads, "bytes"), this.#pool.cpus, this.#opts.shardBytes);
      if (plan.reused && !evenlySpread(loads, shards)) {
        // Made before the tree changed much: the next load plans afresh.
        forgetPlan(plan.reused);
      }
      return {
        files: sum(loads, "files"),
        bytes: sum(loads, "bytes"),
        load_ms: Math.round(performance.now() - started),
      };
    })();
    return t.loaded.then((r) => {
      t.bytes = r.bytes;
      this.#enforceBudget(t);
    });
  }

  /** Where `t`'s tree is split into shards (none: one shard): the plan
   * saved at its last load when there is one (see `readPlan` in
   * src/daemon/sketch_cache.ts), else a walk of the tree on a worker. */
  async #plan(t: Tenant, where: Params): Promise<Plan> {
    const shardBytes = this.#opts.shardBytes;
    if (!Number.isFinite(shardBytes)) return { bounds: [] };
    const settings = { workers: this.#pool.cpus, shardBytes };
    // Not where a byte budget applies: it is checked against the plan's
    // bytes before the load, and a saved plan's may be out of date.
    const file = this.#opts.sketchCacheDir && !this.#opts.memoryLimit && !this.#limits.bytesPerUser
      ? planFile({
        dir: this.#opts.sketchCacheDir,
        uid: t.owner.uid,
        root: t.root,
        hidden: t.hidden,
        noIgnore: t.noIgnore,
      })
      : undefined;
    const saved = file && readPlan(file, settings);
    if (saved) return { bounds: saved.bounds, tree: saved.tree, reused: file };
    const [planner] = this.#pool.assign();
    try {
      const plan = await this.#pool.call(planner, "plan", {
        ...where,
        workers: settings.workers,
        shard_bytes: shardBytes,
      }) as { bounds: string[]; bytes: number; tree: string };
      this.#checkBudget(t, plan.bytes);
      // Only a split tree's: one shard's plan is a walk of a small tree.
      if (file && plan.bounds.length) {
        savePlan(file, { bounds: plan.bounds, bytes: plan.bytes, tree: plan.tree, ...settings });
      }
      return { bounds: plan.bounds, tree: plan.tree };
    } finally {
      this.#pool.release(planner);
    }
  }

  /** Bytes `t`'s owner's other loaded workspaces hold. */
  #heldByOwner(t: Tenant): number {
    return [...this.#byId.values()]
      .filter((x) => x !== t && x.owner.uid === t.owner.uid && !x.evicted)
      .reduce((n, x) => n + x.bytes, 0);
  }

  /** The most bytes a load of `t` may hold: the memory limit (others'
   * idle workspaces are evicted to make room, so all of it), and what is
   * left of the owner's quota. */
  #loadBudget(t: Tenant): number {
    const quota = this.#limits.bytesPerUser;
    return Math.min(
      this.#opts.memoryLimit || Infinity,
      quota ? quota - this.#heldByOwner(t) : Infinity,
    );
  }

  /** Refuses a load of `bytes` that could not fit the memory limit or
   * would take the owner past their byte quota. */
  #checkBudget(t: Tenant, bytes: number): void {
    const limit = this.#opts.memoryLimit;
    if (limit && bytes > limit) {
      throw new RpcError(
        -32000,
        `cannot open ${t.root}: its ${bytes} bytes of files exceed the daemon's ` +
          `--memory-limit of ${limit} bytes`,
      );
    }
    const quota = this.#limits.bytesPerUser;
    if (!quota) return;
    const held = this.#heldByOwner(t);
    if (held + bytes > quota) {
      throw new RpcError(
        -32000,
        `cannot open ${t.root}: its ${bytes} bytes would take uid ${t.owner.uid} past the ` +
          `per-user limit of ${quota} bytes (${held} already held)`,
      );
    }
  }

  /**
   * Brings a tenant up to date with the disk before a request is served:
   * takes the file events the kernel has queued for it (every change made
   * before the request was sent is among them) and queues their refresh
   * ahead of the request's own work. A root that is gone fails the
   * request; one that came back is read again.
   */
  async #fresh(t: Tenant): Promise<void> {
    if (this.#watcher && t.watched) {
      const changes = this.#watcher.drain(t).get(t);
      if (changes) this.#apply(t, changes);
    }
    if (t.gone) {
      if (!this.#rootIsBack(t)) {
        throw new RpcError(
          -32001,
          `the workspace root ${t.root} is gone (deleted or moved); ` +
            "requests fail until a directory is there again",
        );
      }
      t.gone = false;
      if (this.#watcher) {
        this.#watcher.unwatch(t);
        t.watched = false;
      }
      await this.#watch(t);
      this.#refresh(t, [t.root]);
    }
  }

  #rootIsBack(t: Tenant): boolean {
    try {
      return asUser(t.owner, () => Deno.statSync(t.root).isDirectory);
    } catch {
      return false;
    }
  }

  /** Applies every tenant's queued changes (others' writes, within ~50 ms). */
  #applyChanges(): void {
    if (!this.#watcher) return;
    try {
      for (const [owner, changes] of this.#watcher.drain()) this.#apply(owner as Tenant, changes);
    } catch (err) {
      console.error(`curserve: reading file events failed: ${(err as Error).message}`);
    }
  }

  #apply(t: Tenant, changes: Changes): void {
    if (!this.#byId.has(t.id) || t.evicted) return;
    if (changes.rootGone && !this.#rootIsBack(t)) {
      t.gone = true;
      if (this.#opts.verbose) console.error(`curserve: workspace root ${t.root} is gone`);
      return;
    }
    if (changes.overflow || changes.rootGone) {
      // Events were lost, or the root was replaced: read it all again.
      this.#refresh(t, [t.root]);
      return;
    }
    const paths = [...changes.paths].filter((p) =>
      !p.includes("/.git/") || p.includes("/.git/info/")
    );
    if (paths.length) this.#refresh(t, paths);
  }

  /** Queues a refresh of `paths` in every shard, ahead of what follows. */
  #refresh(t: Tenant, paths: string[]): void {
    this.#work(t, "refresh", { paths }).catch((err) =>
      console.error(`curserve: refreshing ${t.root} failed: ${(err as Error).message}`)
    );
  }

  /** Keeps answers true after edits: the tree's directories are watched. */
  async #watch(t: Tenant): Promise<void> {
    if (t.watched || !this.#byId.has(t.id)) return;
    t.watched = true;
    if (this.#watcher) {
      try {
        await this.#watcher.watchTree(t);
      } catch (err) {
        console.error(`curserve: not watching ${t.root}: ${(err as Error).message}`);
      }
      return;
    }
    // Without inotify, events come from Deno's watcher, applied as they
    // arrive: a request may then not yet see a change made just before it.
    try {
      t.fallbackWatcher = Deno.watchFs(t.root, { recursive: true });
    } catch (err) {
      console.error(`curserve: not watching ${t.root}: ${(err as Error).message}`);
      return;
    }
    (async () => {
      try {
        for await (const event of t.fallbackWatcher!) {
          const paths = new Set(event.paths.filter((p) => p !== t.root));
          if (paths.size) this.#apply(t, { paths, overflow: false, rootGone: false });
        }
      } catch {
        // watcher closed
      }
    })();
  }

  #unwatch(t: Tenant): void {
    this.#watcher?.unwatch(t);
    t.fallbackWatcher?.close();
    t.fallbackWatcher = undefined;
    t.watched = false;
  }

  /** Runs `op` on every shard of a tenant's workspace (reloading it if it
   * was evicted), with the owner's rights; answers in shard order.
   * `params` may depend on how many shards there are, known once loaded.
   * @param full For a search: whether the answers of its first shards
   * already fill the reply, so that the others are not needed. */
  async #work(
    t: Tenant,
    op: string,
    params: Params | ((shards: number) => Params),
    signal?: AbortSignal,
    full?: (first: SearchPart[]) => boolean,
  ): Promise<unknown[]> {
    t.inflight++;
    t.lastUsed = performance.now();
    try {
      if (t.evicted) this.#load(t).catch(() => {});
      await t.loaded;
      const p = typeof params === "function" ? params(t.shards.length) : params;
      const maxBytes = p.max_bytes as number | undefined;
      // A search whose first shards print more than its reply holds needs
      // none of the others: they are called off (`enough`), and answer
      // nothing. Each shard printed up to the cap, and on Linux's eight
      // shards `static inline` took 70-100 ms where now 45-65.
      const enough = new AbortController();
      const callOff = full !== undefined && t.shards.length > 1;
      const called = callOff ? AbortSignal.any([enough.signal, ...signal ? [signal] : []]) : signal;
      const answers = t.shards.map((s) => {
        const call = (more: Params = {}) =>
          this.#pool.call(s.worker, op, { key: s.key, ...p, ...more, as: t.owner }, {
            signal: called,
            group: t.id,
          });
        if (op !== "part") return call();
        return slices(call, maxBytes).then((done) => {
          this.#paused += done.length - 1;
          return done;
        });
      });
      if (!callOff) return await Promise.all(answers);
      return await firstShardsPast(answers as Promise<SearchPart[]>[], full!, enough);
    } finally {
      t.inflight--;
    }
  }

  /** Runs an rg command line from `cwd` on a tenant's workspace: each shard
   * searches its share, and the shares join into rg's exact output.
   * @param jsonText Also give stdout as a JSON string literal, escaped by
   * the workers, when it is UTF-8. */
  async #search(
    t: Tenant,
    argv: string[],
    cwd: string,
    signal?: AbortSignal,
    maxBytes = Infinity,
    jsonText = false,
  ): Promise<Printed> {
    let args: GrepArgs;
    try {
      args = parseArgs(argv);
    } catch (err) {
      return { stdout: new Uint8Array(), stderr: (err as Error).message + "\n", code: 2 };
    }
    if (args.fallback) throw rgOnlyRefusal(args.fallback);
    await this.#fresh(t);
    // Like rg, name paths that do not exist and search the others.
    const { existing, missing } = asUser(
      t.owner,
      () => splitMissing(args.paths, cwd, args.oneThread),
    );
    const parts = (await this.#work(
      t,
      "part",
      (shards) => ({
        args,
        paths: existing,
        cwd,
        shard: shards > 1,
        ...(Number.isFinite(maxBytes) ? { max_bytes: maxBytes } : {}),
        ...(jsonText ? { json_text: true } : {}),
      }),
      signal,
      Number.isFinite(maxBytes) ? (first) => fillsReply(args, first, maxBytes) : undefined,
    ) as SearchPart[][]).flat();
    if (parts.some((p) => p.fromDisk)) {
      // Files the workspace skipped are in play: rg's answer from disk,
      // read with the owner's rights.
      const worker = t.shards[0]?.worker ?? 0;
      const r = await this.#pool.call(worker, "cli", { cwd, argv, as: t.owner }, {
        signal,
        group: t.id,
      }) as CliAnswer;
      if ("fallback" in r) throw rgOnlyRefusal(r.fallback);
      return r;
    }
    const out = captureIO(cwd);
    const code = finishSearch(args, parts, missing, out.io, maxBytes);
    const stdoutJson = jsonText ? joinJsonText(args, parts, maxBytes) : undefined;
    return {
      stdout: out.stdout(),
      stderr: out.stderr(),
      code,
      ...(stdoutJson ? { stdoutJson } : {}),
    };
  }

  /** Past the memory limit, unloads the least recently used idle
   * workspaces (other than `keep`); they reload on their next request. */
  #enforceBudget(keep: Tenant): void {
    const limit = this.#opts.memoryLimit;
    if (!limit) return;
    const loaded = [...this.#byId.values()].filter((t) => !t.evicted);
    let total = loaded.reduce((n, t) => n + t.bytes, 0);
    const idle = loaded.filter((t) => t !== keep && t.inflight === 0).sort((a, b) =>
      a.lastUsed - b.lastUsed
    );
    for (const t of idle) {
      if (total <= limit) break;
      this.#unload(t);
      total -= t.bytes;
      if (this.#opts.verbose) console.error(`curserve: evicted ${t.root} (${t.bytes} bytes)`);
    }
  }

  /** Frees a tenant's memory in its workers and stops watching it. */
  #unload(t: Tenant): void {
    t.evicted = true;
    this.#unwatch(t);
    for (const { worker, key } of t.shards) {
      this.#pool.call(worker, "close", { key }).catch(() => {}).finally(() =>
        this.#pool.release(worker)
      );
    }
    t.shards = [];
    if (t.tree !== undefined) this.#pool.unplace(t.tree);
    t.tree = undefined;
  }

  #drop(key: string, t: Tenant): void {
    this.#tenants.delete(key);
    this.#byId.delete(t.id);
    if (!t.evicted) this.#unload(t);
    else this.#unwatch(t);
  }

  /** Drops one of `holder`'s references; after the last one the workspace
   * lingers (an agent run that ends is often followed by another on the
   * same tree), then is freed unless opened again meanwhile. */
  release(holder: object, t: Tenant, all = false): void {
    const n = t.clients.get(holder) ?? 0;
    if (n <= 1 || all) t.clients.delete(holder);
    else t.clients.set(holder, n - 1);
    if (t.clients.size > 0 || t.lingering !== undefined) return;
    const free = () => {
      t.lingering = undefined;
      if (t.clients.size > 0) return;
      for (const [key, v] of this.#tenants) if (v === t) this.#drop(key, t);
    };
    if (this.#opts.lingerMs <= 0) return free();
    const timer = setTimeout(free, this.#opts.lingerMs);
    // A lingering workspace must not keep the process alive.
    Deno.unrefTimer(timer);
    t.lingering = timer;
  }

  /** Forgets a client that went away, with every reference it held. */
  disconnect(client: Client): void {
    if (!this.#clients.delete(client)) return;
    client.closed = true;
    client.gone.abort();
    for (const t of [...this.#byId.values()]) {
      if (t.clients.has(client)) this.release(client, t, true);
    }
    try {
      client.conn.close();
    } catch {
      // already closed
    }
  }

  /** `who`'s workspace whose root holds `path`, if any (deepest wins). */
  tenantFor(who: Peer, path: string): Tenant | undefined {
    let best: Tenant | undefined;
    for (const t of this.#byId.values()) {
      if (
        t.owner.uid === who.uid && !t.hidden && !t.noIgnore &&
        (path === t.root || path.startsWith(t.root + "/")) &&
        (!best || t.root.length > best.root.length)
      ) {
        best = t;
      }
    }
    return best;
  }

  /**
   * Runs a `grep` command line from `cwd` for `--daemon` and the rg shim,
   * with the caller's rights: through the caller's workspace holding `cwd`
   * when there is one (the enclosing git repository is opened on first
   * use, and held for the connection), else from disk. A command line
   * only the real rg answers (`--pcre2`, `-z`, ...) is answered at once
   * with `{fallback: why}`, searching nothing: the client runs rg itself,
   * as the daemon starts no process on behalf of its users.
   */
  async grepCli(
    client: Client,
    cwd: string,
    argv: string[],
    signal?: AbortSignal,
  ): Promise<
    { stdout: string; stdout_base64?: string; stderr: string; code: number } | {
      fallback: string;
    }
  > {
    const fallback = rgOnly(argv);
    if (fallback) return { fallback };
    const who = client.peer;
    let real: string;
    try {
      real = asUser(who, () => Deno.realPathSync(cwd));
    } catch (err) {
      throw new RpcError(-32602, `cannot use ${cwd}: ${(err as Error).message}`);
    }
    let t = this.tenantFor(who, real);
    if (!t) {
      const repo = asUser(who, () => gitRoot(real));
      if (repo) t = await this.open(client, who, repo).catch(() => undefined);
    }
    let r: CliAnswer;
    if (t && asUser(who, () => covers(t!, argv, real))) {
      try {
        r = await this.#search(t, argv, real, signal);
      } catch (err) {
        const data = err instanceof DataError ? err.data as { fallback?: string } : undefined;
        if (typeof data?.fallback !== "string") throw err;
        r = { fallback: data.fallback };
      }
    } else {
      const [worker] = this.#pool.assign();
      try {
        r = await this.#pool.call(worker, "cli", { cwd: real, argv, as: who }, {
          signal,
        }) as CliAnswer;
      } finally {
        this.#pool.release(worker);
      }
    }
    if ("fallback" in r) return r;
    const { truncated: _, ...text } = cappedText(r.stdout, Infinity);
    return { ...text, stderr: r.stderr, code: r.code };
  }

  /** Runs an rg command line on a workspace, from its root. */
  async grep(t: Tenant, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    const r = await this.#search(t, args, t.root);
    return { stdout: new TextDecoder().decode(r.stdout), stderr: r.stderr, code: r.code };
  }

  /** The CPU each search worker is pinned to (none unless asked to pin);
   * rejects saying why they could not be pinned. */
  workerCpus(): Promise<number[]> {
    return this.#pool.pinnedCpus;
  }

  /** What the daemon holds, as `who` may see it: their own workspaces
   * (root sees every user's). */
  async stats(who: Peer): Promise<unknown> {
    const visible = [...this.#byId.values()].filter((t) => mayUse(who, t));
    const workspaces = await Promise.all(visible.map(async (t) => {
      // Current sizes come from the worker: files change after loading.
      const none = { files: 0, bytes: 0, unsketched: 0 };
      const s = t.evicted ? none : await t.loaded
        .then(() =>
          Promise.all(t.shards.map((sh) => this.#pool.call(sh.worker, "stats", { key: sh.key })))
        )
        .then((all) =>
          (all as typeof none[]).reduce((sum, x) => ({
            files: sum.files + x.files,
            bytes: sum.bytes + x.bytes,
            unsketched: sum.unsketched + x.unsketched,
          }), none)
        )
        .catch(() => none);
      return {
        workspace: t.id,
        root: t.root,
        uid: t.owner.uid,
        shards: t.shards.length,
        files: s.files,
        bytes: s.bytes,
        unsketched_files: s.unsketched,
        clients: t.clients.size,
        evicted: t.evicted,
        gone: t.gone,
      };
    }));
    const clients = who.uid === 0
      ? this.#clients.size
      : [...this.#clients].filter((c) => c.peer.uid === who.uid).length;
    return {
      workspaces,
      clients,
      // Root only: how the process grows after a load would tell a user
      // whether someone else already holds identical bytes (shared blobs).
      ...(who.uid === 0 ? { rss_bytes: Deno.memoryUsage().rss } : {}),
      cancelled: this.#pool.cancelled,
      paused: this.#paused,
      worker_cpus: await this.#pool.pinnedCpus.catch(() => []),
      legacy_allocations: this.legacy.count(who.uid === 0 ? undefined : who.uid),
      watched_directories: this.#watcher?.watches ?? 0,
      multi_user: this.multiUser,
      // Root only: whether the store grew would tell a user whether anyone
      // else holds a file identical to one they load (docs/SECURITY.md).
      ...(who.uid === 0 ? { workers: await this.#workerMemory() } : {}),
    };
  }

  /** Each worker's WebAssembly memory and store of file contents. */
  #workerMemory(): Promise<unknown[]> {
    return Promise.all(
      Array.from({ length: this.#pool.size }, (_, i) => this.#pool.call(i, "memory", {})),
    );
  }

  /** Closes every client and socket; removes socket files. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#poll);
    for (const l of this.#listeners) l.close();
    for (const c of [...this.#clients]) this.disconnect(c);
    for (const t of this.#byId.values()) {
      this.#unwatch(t);
      clearTimeout(t.lingering);
    }
    this.#watcher?.close();
    await this.legacy.close();
    this.#pool.terminate();
    for (const path of [this.#opts.socket, this.#opts.legacySocket]) {
      if (!path) continue;
      try {
        Deno.removeSync(path);
      } catch {
        // already gone
      }
    }
  }
}

/** Methods that read the disk synchronously with the caller's rights and
 * never wait for a worker. */
const INLINE_METHODS = new Set(["read_file", "list_directory"]);

/** The largest file `read_file` reads whole (its lines are then sliced). */
const READ_FILE_MAX_BYTES = 64 << 20;

/** Whether `who` may use workspace `t`: their own, or root. */
function mayUse(who: Peer, t: Tenant): boolean {
  return who.uid === 0 || t.owner.uid === who.uid;
}

/** Removes a socket file nobody answers on.
 * @throws {Deno.errors.AddrInUse} When a daemon answers there. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    (await Deno.connect({ transport: "unix", path })).close();
  } catch {
    Deno.removeSync(path); // stale: nobody answers
    return;
  }
  throw new Deno.errors.AddrInUse(`a curserve daemon is already listening on ${path}`);
}

/** Tells a connection why it is refused, then closes it. */
function refuse(conn: Deno.UnixConn, why: string): void {
  const line = encodeLine(rpcError(null, -32003, `connection refused: ${why}`));
  conn.write(line).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  });
}

/** What a JSON value is, for an error message. */
function describe(v: unknown): string {
  return v === null ? "null" : typeof v === "object" ? "an array" : `a ${typeof v}`;
}

/** Rough size of a result in bytes, for the log. */
function resultSize(result: unknown): number | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const r = result as Record<string, unknown>;
  if (r.stdout instanceof JsonText) return r.stdout.json.length;
  if (typeof r.stdout === "string") return r.stdout.length;
  if (typeof r.content === "string") return r.content.length;
  if (Array.isArray(r.files)) return r.files.length;
  return undefined;
}

/** The top of the git repository holding `dir`, if any. */
function gitRoot(dir: string): string | undefined {
  for (let d = dir;; d = d.slice(0, d.lastIndexOf("/")) || "/") {
    try {
      Deno.lstatSync(`${d}/.git`);
      return d;
    } catch {
      // not here
    }
    if (d === "/") return undefined;
  }
}

function rpcError(id: unknown, code: number, message: string, data?: unknown) {
  return { jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

/** An error answered with JSON-RPC's `data` member, for clients to act on. */
class DataError extends RpcError {
  constructor(code: number, message: string, readonly data: unknown) {
    super(code, message);
  }
}

/** The flag of an rg command line that only the real rg answers (`--pcre2`,
 * `-z`, `--sortr`, ...; see src/fallback.ts), if any. */
function rgOnly(argv: string[]): string | undefined {
  try {
    return parseArgs(argv).fallback;
  } catch {
    return undefined; // a usage error: printed by the search, as rg prints it
  }
}

/**
 * The refusal of a search command line only the real rg answers (`grep`,
 * `matches`, the original protocol's searches): the daemon starts no
 * process for its users, so no worker gets it (it would fail trying to run
 * rg). `-32602`, the flag in the message and as `data.fallback` (the word
 * `grep_cli` answers with): the client runs rg itself if it can.
 */
function rgOnlyRefusal(flag: string): DataError {
  return new DataError(
    -32602,
    `${flag} needs the real ripgrep, which the daemon does not run: run rg yourself`,
    { fallback: flag },
  );
}

/**
 * Whether a tenant's workspace (loaded with rg's default filters) holds all
 * that `argv`, run from `cwd`, would search: directories inside it, not
 * files named one by one (rg searches those even when ignored, so they are
 * read from disk).
 */
function covers(t: Tenant, argv: string[], cwd: string): boolean {
  let args: GrepArgs;
  try {
    args = parseArgs(argv);
  } catch {
    return true; // the workspace reports usage errors just as well
  }
  if (args.hidden || args.noIgnore || t.hidden || t.noIgnore) return false;
  return (args.paths.length ? args.paths : ["."]).every((path) => {
    const abs = resolve(cwd, path);
    if (abs !== t.root && !abs.startsWith(t.root + "/")) return false;
    try {
      return Deno.statSync(abs).isDirectory;
    } catch {
      return true; // missing: reported the same either way
    }
  });
}
