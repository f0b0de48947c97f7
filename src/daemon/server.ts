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
import { captureIO, finishSearch, joinJsonText, type SearchPart, splitMissing } from "../output.ts";
import type { PathRange } from "../walk.ts";
import { confine, listDirectory, sliceLines } from "../files.ts";
import { LegacyBridge } from "./legacy.ts";
import { RpcError, WorkerPool } from "./pool.ts";
import { cappedText, encodeLine, JsonText } from "./reply.ts";
import { listenUnix } from "./unix_socket.ts";

/** How the daemon runs. */
export interface DaemonOptions {
  socket: string;
  workers: number;
  /** Octal file mode of the socket, e.g. 0o600. */
  socketMode: number;
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

/** One shared workspace. */
interface Tenant {
  id: string;
  root: string;
  /** One, or several for a large workspace; none until loaded. */
  shards: Shard[];
  loaded: Promise<{ files: number; bytes: number; load_ms: number }>;
  /** References held per holder (a client, or a legacy allocation). */
  clients: Map<object, number>;
  watcher?: Deno.FsWatcher;
  hidden: boolean;
  noIgnore: boolean;
  /** Bytes held, as of the last load. */
  bytes: number;
  /** Requests running on it; only idle workspaces are evicted. */
  inflight: number;
  lastUsed: number;
  /** Unloaded to stay within the memory limit; reloads on next use. */
  evicted: boolean;
  /** Frees it, once nobody has held it for the linger time. */
  lingering?: ReturnType<typeof setTimeout>;
}

/** A connected client: serialized writes, and the workspaces it holds. */
export class Client {
  #writing = Promise.resolve();
  closed = false;
  /** Aborted when the client goes away: its queued work is dropped. */
  readonly gone = new AbortController();

  constructor(readonly conn: Deno.UnixConn) {}

  /** Sends one JSON message as a line (dropped once the client is gone). */
  send(message: unknown): Promise<void> {
    const bytes = encodeLine(message);
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
  #pool: WorkerPool;
  #listener?: Deno.Listener<Deno.UnixConn>;
  #tenants = new Map<string, Tenant>();
  #byId = new Map<string, Tenant>();
  #clients = new Set<Client>();
  #nextTenant = 1;
  readonly legacy: LegacyBridge;

  constructor(opts: DaemonOptions) {
    this.#opts = opts;
    this.#pool = new WorkerPool(opts.workers, { pin: opts.pinWorkers });
    this.legacy = new LegacyBridge(this, opts.legacyDir);
  }

  /**
   * Listens on the socket, replacing a stale socket file.
   * @throws {Deno.errors.AddrInUse} When a live daemon already answers there.
   */
  async listen(): Promise<void> {
    const path = this.#opts.socket;
    try {
      Deno.lstatSync(path);
      try {
        (await Deno.connect({ transport: "unix", path })).close();
        throw new Deno.errors.AddrInUse(`a curserve daemon is already listening on ${path}`);
      } catch (err) {
        if (err instanceof Deno.errors.AddrInUse) throw err;
        Deno.removeSync(path); // stale: nobody answers
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    this.#listener = listenUnix(path, this.#opts.socketMode);
    this.#serve(this.#listener);
  }

  async #serve(listener: Deno.Listener<Deno.UnixConn>): Promise<void> {
    try {
      for await (const conn of listener) this.#handle(new Client(conn));
    } catch {
      // listener closed
    }
  }

  async #handle(client: Client): Promise<void> {
    this.#clients.add(client);
    try {
      for await (const line of lines(client.conn, this.#opts.maxLineBytes)) {
        if (line === null) {
          client.send(
            rpcError(null, -32600, `request line exceeds ${this.#opts.maxLineBytes} bytes`),
          );
          continue;
        }
        if (line.trim() === "") continue;
        // Not awaited: requests on one connection run side by side.
        this.#dispatch(client, line);
      }
    } finally {
      this.disconnect(client);
    }
  }

  #dispatch(client: Client, line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      client.send(rpcError(null, -32700, `parse error: ${(err as Error).message}`));
      return;
    }
    if (typeof msg === "object" && msg !== null && "type" in msg && !("jsonrpc" in msg)) {
      this.legacy.handle(client, msg as Params);
      return;
    }
    const req = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const id = typeof req.id === "string" || typeof req.id === "number" ? req.id : null;
    if (req.jsonrpc !== "2.0" || typeof req.method !== "string") {
      client.send(rpcError(id, -32600, 'invalid request: needs "jsonrpc": "2.0" and a "method"'));
      return;
    }
    const params = req.params ?? {};
    if (typeof params !== "object" || Array.isArray(params) || params === null) {
      client.send(rpcError(id, -32602, "params must be an object"));
      return;
    }
    const method = req.method;
    const started = performance.now();
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
    Promise.race([this.call(client, method, params as Params, id, signal), timeout]).finally(() =>
      clearTimeout(timer)
    ).then(
      (result) => {
        this.#log(method, started, "ok");
        if (id !== null) client.send({ jsonrpc: "2.0", id, result });
      },
      (err) => {
        const code = err instanceof RpcError ? err.code : -32000;
        this.#log(method, started, `error ${code}`);
        if (id !== null) {
          client.send(rpcError(id, code, err instanceof Error ? err.message : String(err)));
        }
      },
    );
  }

  #log(method: string, started: number, status: string): void {
    if (this.#opts.verbose) {
      console.error(
        `${new Date().toISOString()} ${method} ${
          (performance.now() - started).toFixed(1)
        }ms ${status}`,
      );
    }
  }

  /** Runs one method for a client; `signal` calls off work not yet started. */
  async call(
    client: Client,
    method: string,
    p: Params,
    id: unknown = null,
    signal?: AbortSignal,
  ): Promise<unknown> {
    switch (method) {
      case "open": {
        const t = await this.open(
          client,
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
        const t = this.#tenant(p);
        const [args, max] = [strArray(p, "args"), optNum(p, "max_bytes", 1 << 20)];
        const r = await this.#search(t, args, t.root, signal, max, true);
        // Given only for answers within max (see joinJsonText).
        const stdout = r.stdoutJson
          ? { stdout: new JsonText(r.stdoutJson), truncated: false }
          : cappedText(r.stdout, max);
        return { ...stdout, stderr: r.stderr, code: r.code };
      }
      case "matches": {
        const t = this.#tenant(p);
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
        const t = this.#tenant(p);
        // Checked to stay inside, then passed as given: rg prints it so.
        const path = p.path === undefined ? undefined : str(p, "path");
        if (path !== undefined) this.#confine(t, path);
        const [pattern, limit] = [str(p, "pattern"), optNum(p, "limit", 10000)];
        const argv = ["--files", "-g", pattern, ...(path === undefined ? [] : [path])];
        const r = await this.#search(t, argv, t.root, signal);
        if (r.code === 2) throw new RpcError(-32000, r.stderr.trim());
        const files = new TextDecoder().decode(r.stdout).split("\n").filter((f) => f !== "");
        return { files: files.slice(0, limit), truncated: files.length > limit };
      }
      case "list_directory": {
        const t = this.#tenant(p);
        const dir = this.#confine(t, str(p, "path"));
        try {
          return { entries: await listDirectory(dir, strArray(p, "ignore", [])) };
        } catch (err) {
          throw new RpcError(-32602, `cannot list ${p.path}: ${(err as Error).message}`);
        }
      }
      case "read_file": {
        const t = this.#tenant(p);
        const path = this.#confine(t, str(p, "path"));
        const [offset, limit] = [optNum(p, "offset", 0), optNum(p, "limit", 2000)];
        // Read here, asynchronously, rather than queue behind searches in
        // the workspace's worker: a small read should never wait for a grep.
        let bytes: Uint8Array;
        try {
          bytes = await Deno.readFile(path);
        } catch (err) {
          throw new RpcError(-32602, `cannot read ${p.path}: ${(err as Error).message}`);
        }
        return sliceLines(bytes, offset, limit);
      }
      case "notify_changed": {
        const t = this.#tenant(p);
        const paths = strArray(p, "paths").map((x) => this.#confine(t, x));
        const done = await this.#work(t, "refresh", { paths }) as { updated: number }[];
        return { updated: done[0].updated };
      }
      case "close": {
        this.release(client, this.#tenant(p));
        return {};
      }
      case "stats":
        return this.stats();
      case "grep_cli":
        return this.grepCli(str(p, "cwd"), strArray(p, "argv"), signal);
      default:
        throw new RpcError(-32601, `unknown method: ${method}`);
    }
  }

  #tenant(p: Params): Tenant {
    const t = this.#byId.get(str(p, "workspace"));
    if (!t) throw new RpcError(-32602, `unknown workspace: ${p.workspace}`);
    return t;
  }

  #confine(t: Tenant, path: string): string {
    try {
      return confine(t.root, path);
    } catch (err) {
      throw new RpcError(-32602, (err as Error).message);
    }
  }

  /** Opens (or shares) the workspace at `root`, counting a reference for
   * `holder`. */
  async open(
    holder: object,
    root: string,
    hidden = false,
    noIgnore = false,
    onProgress?: (p: { files: number; bytes: number }) => void,
  ): Promise<Tenant> {
    let real: string;
    try {
      real = await Deno.realPath(resolve(root));
      if (!(await Deno.stat(real)).isDirectory) throw new Error("not a directory");
    } catch (err) {
      throw new RpcError(-32602, `cannot open workspace ${root}: ${(err as Error).message}`);
    }
    const key = `${real}\0${hidden}\0${noIgnore}`;
    let t = this.#tenants.get(key);
    if (!t) {
      const id = `ws${this.#nextTenant++}`;
      t = {
        id,
        root: real,
        shards: [],
        loaded: Promise.resolve({ files: 0, bytes: 0, load_ms: 0 }),
        clients: new Map(),
        hidden,
        noIgnore,
        bytes: 0,
        inflight: 0,
        lastUsed: performance.now(),
        evicted: true,
      };
      this.#tenants.set(key, t);
      this.#byId.set(id, t);
      const tenant = t;
      this.#load(t, onProgress).catch(() => this.#drop(key, tenant));
    }
    clearTimeout(t.lingering);
    t.lingering = undefined;
    t.clients.set(holder, (t.clients.get(holder) ?? 0) + 1);
    await t.loaded;
    return t;
  }

  /** Loads a tenant's files into workers (first open, or after eviction):
   * a large tree is split into shards of about equal size spread over the
   * workers (see `planShards` in src/walk.ts), loaded side by side. */
  #load(t: Tenant, onProgress?: (p: { files: number; bytes: number }) => void): Promise<unknown> {
    t.evicted = false;
    t.shards = [];
    const where = { root: t.root, hidden: t.hidden, no_ignore: t.noIgnore };
    t.loaded = (async () => {
      const started = performance.now();
      let bounds: string[] = [];
      if (Number.isFinite(this.#opts.shardBytes)) {
        const [planner] = this.#pool.assign();
        try {
          const plan = await this.#pool.call(planner, "plan", {
            ...where,
            workers: this.#pool.size,
            shard_bytes: this.#opts.shardBytes,
          }) as { bounds: string[] };
          bounds = plan.bounds;
        } finally {
          this.#pool.release(planner);
        }
      }
      t.shards = this.#pool.assign(bounds.length + 1).map((worker, i) => ({
        worker,
        key: `${t.id}/${i}`,
        range: { from: bounds[i - 1], to: bounds[i] },
      }));
      const progress = t.shards.map(() => ({ files: 0, bytes: 0 }));
      const sum = <K extends string>(xs: Record<K, number>[], k: K) =>
        xs.reduce((n, x) => n + x[k], 0);
      const loads = await Promise.all(
        t.shards.map((shard, i) =>
          this.#pool.call(shard.worker, "open", { key: shard.key, ...where, range: shard.range }, {
            onProgress: (p) => {
              progress[i] = p;
              onProgress?.({ files: sum(progress, "files"), bytes: sum(progress, "bytes") });
            },
          }) as Promise<{ files: number; bytes: number; load_ms: number }>
        ),
      );
      return {
        files: sum(loads, "files"),
        bytes: sum(loads, "bytes"),
        load_ms: Math.round(performance.now() - started),
      };
    })();
    return t.loaded.then((r) => {
      t.bytes = r.bytes;
      this.#watch(t);
      this.#enforceBudget(t);
    });
  }

  /** Runs `op` on every shard of a tenant's workspace (reloading it if it
   * was evicted); answers in shard order. `params` may depend on how many
   * shards there are, known once loaded. */
  async #work(
    t: Tenant,
    op: string,
    params: Params | ((shards: number) => Params),
    signal?: AbortSignal,
  ): Promise<unknown[]> {
    t.inflight++;
    t.lastUsed = performance.now();
    try {
      if (t.evicted) this.#load(t).catch(() => {});
      await t.loaded;
      const p = typeof params === "function" ? params(t.shards.length) : params;
      return await Promise.all(
        t.shards.map((s) =>
          this.#pool.call(s.worker, op, { key: s.key, ...p }, { signal, group: t.id })
        ),
      );
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
    // Like rg, name paths that do not exist and search the others.
    const { existing, missing } = splitMissing(args.paths, cwd);
    const parts = await this.#work(t, "part", (shards) => ({
      args,
      paths: existing,
      cwd,
      shard: shards > 1,
      ...(Number.isFinite(maxBytes) ? { max_bytes: maxBytes } : {}),
      ...(jsonText ? { json_text: true } : {}),
    }), signal) as SearchPart[];
    if (parts.some((p) => p.fromDisk)) {
      // Files the workspace skipped are in play: rg's answer from disk.
      const worker = t.shards[0]?.worker ?? 0;
      return await this.#pool.call(worker, "cli", { cwd, argv }, {
        signal,
        group: t.id,
      }) as Printed;
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
    t.watcher?.close();
    t.watcher = undefined;
    for (const { worker, key } of t.shards) {
      this.#pool.call(worker, "close", { key }).catch(() => {}).finally(() =>
        this.#pool.release(worker)
      );
    }
    t.shards = [];
  }

  /** Keeps answers true after edits: file events refresh the workspace. */
  #watch(t: Tenant): void {
    if (!this.#byId.has(t.id)) return;
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(t.root, { recursive: true });
    } catch (err) {
      console.error(`curserve: not watching ${t.root}: ${(err as Error).message}`);
      return;
    }
    t.watcher = watcher;
    let pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const paths = [...pending].filter((p) => !p.includes("/.git/") || p.includes("/.git/info/"));
      pending = new Set();
      if (paths.length && !t.evicted) this.#work(t, "refresh", { paths }).catch(() => {});
    };
    (async () => {
      try {
        for await (const event of watcher) {
          for (const p of event.paths) pending.add(p);
          // Batch bursts (an editor's save, a checkout) into one refresh.
          timer ??= setTimeout(flush, 100);
        }
      } catch {
        // watcher closed
      }
    })();
  }

  #drop(key: string, t: Tenant): void {
    this.#tenants.delete(key);
    this.#byId.delete(t.id);
    if (!t.evicted) this.#unload(t);
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

  /** The tenant whose root holds `path`, if any (deepest root wins). */
  tenantFor(path: string): Tenant | undefined {
    let best: Tenant | undefined;
    for (const t of this.#byId.values()) {
      if (
        (path === t.root || path.startsWith(t.root + "/")) &&
        (!best || t.root.length > best.root.length)
      ) {
        best = t;
      }
    }
    return best;
  }

  /** Runs a `grep` command line for `--daemon`: through a loaded workspace
   * when one holds all it searches, else from disk in a worker. */
  async grepCli(
    cwd: string,
    argv: string[],
    signal?: AbortSignal,
  ): Promise<{ stdout: string; stdout_base64?: string; stderr: string; code: number }> {
    let real: string;
    try {
      real = await Deno.realPath(cwd);
    } catch (err) {
      throw new RpcError(-32602, `cannot use ${cwd}: ${(err as Error).message}`);
    }
    const t = this.tenantFor(real);
    let r: Printed;
    if (t && covers(t, argv, real)) r = await this.#search(t, argv, real, signal);
    else {
      const [worker] = this.#pool.assign();
      try {
        r = await this.#pool.call(worker, "cli", { cwd: real, argv }, { signal }) as Printed;
      } finally {
        this.#pool.release(worker);
      }
    }
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
    return this.#pool.cpus;
  }

  async stats(): Promise<unknown> {
    const workspaces = await Promise.all([...this.#byId.values()].map(async (t) => {
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
        shards: t.shards.length,
        files: s.files,
        bytes: s.bytes,
        unsketched_files: s.unsketched,
        clients: t.clients.size,
        evicted: t.evicted,
      };
    }));
    return {
      workspaces,
      clients: this.#clients.size,
      rss_bytes: Deno.memoryUsage().rss,
      cancelled: this.#pool.cancelled,
      worker_cpus: await this.#pool.cpus.catch(() => []),
    };
  }

  /** Closes every client and socket; removes socket files. */
  async close(): Promise<void> {
    this.#listener?.close();
    for (const c of [...this.#clients]) this.disconnect(c);
    for (const t of this.#byId.values()) {
      t.watcher?.close();
      clearTimeout(t.lingering);
    }
    await this.legacy.close();
    this.#pool.terminate();
    try {
      Deno.removeSync(this.#opts.socket);
    } catch {
      // already gone
    }
  }
}

function rpcError(id: unknown, code: number, message: string) {
  return { jsonrpc: "2.0", id, error: { code, message } };
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
