/**
 * A fixed pool of search workers. A workspace lives in one worker, or, when
 * large, is split into shards in several; new workspaces go to the workers
 * holding the fewest, so a long search in one tenant's worker leaves the
 * others free.
 *
 * Each worker is handed one request at a time from a queue kept here, on the
 * daemon's side: a search cannot be interrupted once it runs, but a queued
 * one whose client left or whose time ran out is dropped before it starts.
 * @module
 */
import type { WorkerReply, WorkerRequest } from "./worker.ts";

/** An error with a JSON-RPC code, as returned to clients. */
export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: RpcError) => void;
  onProgress?: (p: { files: number; bytes: number }) => void;
  /** The worker it was queued on, freed by its reply (none for loads). */
  queuedOn?: number;
}

/** How a request may be followed and called off. */
export interface CallOptions {
  onProgress?: Pending["onProgress"];
  /** Aborted before the request reaches the worker: it never runs. */
  signal?: AbortSignal;
  /** Whose work it is: queued requests of the group served longest ago go
   * first, so one workspace's train of shard jobs cannot hold up others. */
  group?: string;
}

/** Worker operations that await I/O and so interleave with others in the
 * worker: sent at once rather than queued behind searches. */
const CONCURRENT_OPS = new Set(["open"]);

interface Job {
  id: number;
  op: string;
  params: Record<string, unknown>;
  signal?: AbortSignal;
  /** Whose work it is (a workspace): the queue takes turns between them. */
  group?: string;
}

interface PoolWorker {
  worker: Worker;
  tenants: number;
  ready: Promise<void>;
  /** A queued request is running in it. */
  busy: boolean;
  queue: Job[];
  /** When each group's last job started (a count of jobs started). */
  served: Map<string | undefined, number>;
  started: number;
}

export class WorkerPool {
  #workers: PoolWorker[] = [];
  #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Requests dropped before they ran (client gone or timed out). */
  cancelled = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      const { promise: ready, resolve } = Promise.withResolvers<void>();
      worker.onmessage = (e: MessageEvent<WorkerReply>) =>
        e.data.id === 0 ? resolve() : this.#reply(e.data);
      worker.onerror = (e) => {
        // A worker crash fails what it was doing; the daemon carries on.
        e.preventDefault();
        console.error(`curserve: search worker ${i} failed: ${e.message}`);
      };
      this.#workers.push({
        worker,
        tenants: 0,
        ready,
        busy: false,
        queue: [],
        served: new Map(),
        started: 0,
      });
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Chooses workers for `n` shards of a workspace: those holding the
   * fewest first, all different while there are enough, then round again;
   * each counts one more. */
  assign(n = 1): number[] {
    const order = this.#workers.map((w, i) => [w.tenants, i])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
    const chosen = Array.from({ length: n }, (_, k) => order[k % order.length]);
    for (const i of chosen) this.#workers[i].tenants++;
    return chosen;
  }

  /** Gives back a worker slot when its workspace closes. */
  release(index: number): void {
    this.#workers[index].tenants--;
  }

  /**
   * Runs `op` in worker `index`, after the requests queued before it.
   * @throws {RpcError} When `signal` is aborted before the request starts.
   */
  call(
    index: number,
    op: string,
    params: Record<string, unknown>,
    { onProgress, signal, group }: CallOptions = {},
  ): Promise<unknown> {
    const id = this.#nextId++;
    const w = this.#workers[index];
    return new Promise((resolve, reject) => {
      if (CONCURRENT_OPS.has(op)) {
        this.#pending.set(id, { resolve, reject, onProgress });
        this.#post(w, { id, op, params });
      } else {
        this.#pending.set(id, { resolve, reject, onProgress, queuedOn: index });
        w.queue.push({ id, op, params, signal, group });
        this.#pump(w);
      }
    });
  }

  /** Sends the worker its next queued request that is still wanted: the
   * oldest of the group whose turn it is. */
  #pump(w: PoolWorker): void {
    while (!w.busy && w.queue.length) {
      let next = 0;
      const turn = (job: Job) => w.served.get(job.group) ?? -1;
      w.queue.forEach((job, i) => {
        if (turn(job) < turn(w.queue[next])) next = i;
      });
      const [job] = w.queue.splice(next, 1);
      if (job.signal?.aborted) {
        this.cancelled++;
        const reason = job.signal.reason;
        this.#take(job.id)?.reject(
          reason instanceof RpcError ? reason : new RpcError(-32000, "request cancelled"),
        );
        continue;
      }
      w.busy = true;
      w.served.set(job.group, w.started++);
      this.#post(w, job);
    }
  }

  #post(w: PoolWorker, { id, op, params }: Job): void {
    w.ready.then(() => w.worker.postMessage({ id, op, params } satisfies WorkerRequest));
  }

  /** Removes and returns request `id`'s entry. */
  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }

  #reply(msg: WorkerReply): void {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    if ("progress" in msg) {
      pending.onProgress?.(msg.progress);
      return;
    }
    this.#take(msg.id);
    if (pending.queuedOn !== undefined) {
      const w = this.#workers[pending.queuedOn];
      w.busy = false;
      this.#pump(w);
    }
    if ("error" in msg) pending.reject(new RpcError(msg.error.code, msg.error.message));
    else pending.resolve(msg.result);
  }

  terminate(): void {
    for (const w of this.#workers) w.worker.terminate();
    for (const p of this.#pending.values()) {
      p.reject(new RpcError(-32000, "daemon is shutting down"));
    }
    this.#pending.clear();
  }
}
