/**
 * A fixed pool of search workers. A workspace lives in one worker, or, when
 * large, is split into shards in several; new workspaces go to the workers
 * holding the fewest, so a long search in one tenant's worker leaves the
 * others free.
 *
 * Each worker is handed one request at a time from a queue kept here, on the
 * daemon's side: a search cannot be interrupted once it runs, but a queued
 * one whose client left or whose time ran out is dropped before it starts.
 * A worker with no other tenant's request waiting gets all of one tenant's
 * queued requests (a split workspace's shard jobs) in one message; it hands
 * back the rest of such a batch as soon as another tenant's request comes.
 *
 * WebAssembly memory never shrinks, so a worker left holding no workspace
 * after holding much is replaced by a fresh one, which gives the memory
 * back to the system.
 * @module
 */
import type { WorkerMessage, WorkerReply } from "./worker.ts";
import { coreModule } from "../core_module.ts";

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
  /** The worker it was queued on (none for loads), and the request, should
   * the worker hand it back unrun. */
  queued?: { on: number; job: Job };
}

/** How a request may be followed and called off. */
export interface CallOptions {
  onProgress?: Pending["onProgress"];
  /** Aborted before the request reaches the worker: it never runs; after:
   * it stops early and fails. */
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
  /** Set (to 1) when `signal` aborts: the worker's search then stops. */
  cancel?: Int32Array<SharedArrayBuffer>;
}

/** A worker holding no workspace is replaced once its WebAssembly memory
 * has grown past this (a fresh one starts with about 2 MB). */
const RECYCLE_BYTES = 64 << 20;

interface PoolWorker {
  worker: Worker;
  tenants: number;
  ready: Promise<void>;
  /** A batch of queued requests is running in it. */
  busy: boolean;
  /** Whose batch is running. */
  running?: string;
  /** A {@link WorkerPool.#pump} is scheduled. */
  pumpSoon: boolean;
  queue: Job[];
  /** Requests of the running batch handed back unrun, in order. */
  returned: Job[];
  /** Shared with the worker: non-zero asks its batch to stop early. */
  yieldFlag: Int32Array;
  /** Shared with the worker: messages posted to it and not yet received
   * (its background sketching then lets them in first). */
  inbox: Int32Array;
  /** When each group's last job started (a count of jobs started). */
  served: Map<string | undefined, number>;
  started: number;
  /** Requests sent to it and not answered yet. */
  outstanding: number;
  /** Its WebAssembly memory, as of its last reply. */
  wasmBytes: number;
}

/** The reason to call off a request whose answer is no longer needed
 * (another shard already filled the reply): not counted as cancelled. */
export const NOT_NEEDED = new RpcError(-32000, "not needed");

export class WorkerPool {
  #workers: PoolWorker[] = [];
  /** Where the shards of workspaces of each tree signature are, while any
   * holds them (see {@link WorkerPool.assign}). */
  #placed = new Map<string, { workers: number[]; holders: number }>();
  #pending = new Map<number, Pending>();
  /** Shared with every worker: how many searches run on each CPU now
   * (sketching waits for none on its own; see src/daemon/worker.ts). One
   * count for all when the workers are not pinned. */
  #searching: Int32Array;
  /** Likewise, how many loads run on each CPU (sketching waits for them). */
  #loading: Int32Array;
  #nextId = 1;
  /** Requests dropped before they ran (client gone or timed out). */
  cancelled = 0;
  /** The CPU each worker is pinned to, once they are; rejects saying why
   * they could not be. Empty when not asked to pin. */
  readonly pinnedCpus: Promise<number[]>;

  /** Workers replaced to give their memory back. */
  recycled = 0;
  #pin: boolean;

  /** CPUs the workers share: worker `i` runs on the `i % cpus`-th. */
  readonly cpus: number;

  /** @param pin Keep worker `i` on the `(i % cpus)`-th CPU the daemon may
   * use (src/daemon/affinity.ts).
   * @param cpus How many CPUs there are to share (default: one per worker). */
  constructor(size: number, { pin = false, cpus = size } = {}) {
    this.#pin = pin;
    this.cpus = Math.max(1, Math.min(cpus, size));
    this.#searching = new Int32Array(new SharedArrayBuffer(4 * (pin ? this.cpus : 1)));
    this.#loading = new Int32Array(new SharedArrayBuffer(4 * (pin ? this.cpus : 1)));
    for (let i = 0; i < size; i++) this.#workers.push(this.#spawn(i));
    // Queued first, so each worker is pinned before its first search.
    this.pinnedCpus = pin
      ? Promise.all(this.#workers.map((_, i) => this.call(i, "pin", { slot: i })))
        .then((all) => all.map((r) => (r as { cpu: number }).cpu))
      : Promise.resolve([]);
    this.pinnedCpus.catch(() => {}); // the daemon reports it
  }

  #spawn(i: number): PoolWorker {
    const worker = new Worker(new URL("./worker_start.ts", import.meta.url), { type: "module" });
    worker.postMessage({ coreModule: coreModule() });
    const { promise: ready, resolve } = Promise.withResolvers<void>();
    const yieldFlag = new Int32Array(new SharedArrayBuffer(4));
    const inbox = new Int32Array(new SharedArrayBuffer(4));
    const shared = {
      yieldFlag,
      inbox,
      searching: this.#searching,
      loading: this.#loading,
      cpu: this.#pin ? i % this.cpus : 0,
    };
    ready.then(() => worker.postMessage(shared satisfies WorkerMessage));
    worker.onerror = (e) => {
      // A worker crash fails what it was doing; the daemon carries on.
      e.preventDefault();
      console.error(`curserve: search worker ${i} failed: ${e.message}`);
    };
    const w: PoolWorker = {
      worker,
      tenants: 0,
      ready,
      busy: false,
      pumpSoon: false,
      queue: [],
      returned: [],
      yieldFlag,
      inbox,
      served: new Map(),
      started: 0,
      outstanding: 0,
      wasmBytes: 0,
    };
    worker.onmessage = (e: MessageEvent<WorkerReply>) =>
      e.data.id === 0 ? resolve() : this.#reply(e.data, w);
    return w;
  }

  /** Replaces worker `w` by a fresh one when it holds nothing, runs
   * nothing and holds much memory (which only its end gives back). */
  #maybeRecycle(w: PoolWorker): void {
    if (w.tenants > 0 || w.busy || w.outstanding > 0 || w.queue.length) return;
    if (w.wasmBytes <= RECYCLE_BYTES) return;
    const i = this.#workers.indexOf(w);
    if (i < 0) return;
    w.worker.terminate();
    this.#workers[i] = this.#spawn(i);
    this.recycled++;
    if (this.#pin) this.call(i, "pin", { slot: i }).catch(() => {});
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Chooses workers for `n` shards of a workspace: those holding the
   * fewest first, all different while there are enough, then round again;
   * each counts one more. Shard i of workspaces with the same `tree`
   * signature (clones of one repository: see `treeSignature` in
   * src/walk.ts) goes where shard i of the first such went, so that their
   * identical files share one copy in that worker's memory (see
   * core-wasm/src/blobs.rs). A split tree's clones are still spread over
   * every worker; the clones of a small one search on one. Each call with
   * a `tree` needs an {@link WorkerPool.unplace} when the workspace goes. */
  assign(n = 1, tree?: string): number[] {
    const placed = tree === undefined ? undefined : this.#placed.get(tree);
    let chosen: number[];
    if (placed && placed.workers.length === n) {
      chosen = placed.workers;
      placed.holders++;
    } else {
      const order = this.#workers.map((w, i) => [w.tenants, i])
        .sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
      // Shards of one workspace on different CPUs while there are enough
      // (worker i runs on CPU i % cpus), so that a search's shards run side
      // by side; within a CPU, the worker holding the fewest.
      const taken = new Set<number>();
      chosen = Array.from({ length: n }, (_, k) => {
        const cpu = k % this.cpus;
        const pick = order.find((i) => !taken.has(i) && (n === 1 || i % this.cpus === cpu)) ??
          order[k % order.length];
        taken.add(pick);
        return pick;
      });
      if (tree !== undefined && !placed) this.#placed.set(tree, { workers: chosen, holders: 1 });
      else if (placed) placed.holders++;
    }
    for (const i of chosen) this.#workers[i].tenants++;
    return chosen;
  }

  /** Bytes of WebAssembly memory worker `index` held at its last reply. */
  wasmBytes(index: number): number {
    return this.#workers[index].wasmBytes;
  }

  /** Forgets one holder of `tree`'s placement (see {@link WorkerPool.assign}). */
  unplace(tree: string): void {
    const placed = this.#placed.get(tree);
    if (placed && --placed.holders <= 0) this.#placed.delete(tree);
  }

  /** Gives back a worker slot when its workspace closes. */
  release(index: number): void {
    const w = this.#workers[index];
    w.tenants--;
    this.#maybeRecycle(w);
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
        w.outstanding++;
        this.#post(w, { id, op, params });
      } else {
        const job: Job = { id, op, params, signal, group };
        if (signal) {
          const cancel = new Int32Array(new SharedArrayBuffer(4));
          job.cancel = cancel;
          if (signal.aborted) Atomics.store(cancel, 0, 1);
          else signal.addEventListener("abort", () => Atomics.store(cancel, 0, 1), { once: true });
        }
        this.#pending.set(id, { resolve, reject, onProgress, queued: { on: index, job } });
        w.queue.push(job);
        if (w.busy && group !== w.running) Atomics.store(w.yieldFlag, 0, 1);
        // After the current task, so that a search's other shard jobs,
        // queued in the same loop, go in the same batch.
        if (!w.pumpSoon) {
          w.pumpSoon = true;
          queueMicrotask(() => {
            w.pumpSoon = false;
            this.#pump(w);
          });
        }
      }
    });
  }

  /** Sends the worker its next queued request that is still wanted (the
   * oldest of the group whose turn it is) and, when no other group waits,
   * the rest of that group's. */
  #pump(w: PoolWorker): void {
    const wanted = (job: Job) => {
      if (!job.signal?.aborted) return true;
      const reason = job.signal.reason;
      if (reason !== NOT_NEEDED) this.cancelled++;
      this.#take(job.id)?.reject(
        reason instanceof RpcError ? reason : new RpcError(-32000, "request cancelled"),
      );
      return false;
    };
    w.queue = w.queue.filter(wanted);
    if (w.busy || !w.queue.length) return;
    let next = 0;
    const turn = (job: Job) => w.served.get(job.group) ?? -1;
    w.queue.forEach((job, i) => {
      if (turn(job) < turn(w.queue[next])) next = i;
    });
    const { group } = w.queue[next];
    const alone = w.queue.every((job) => job.group === group);
    const batch = alone ? w.queue.splice(0) : w.queue.splice(next, 1);
    w.busy = true;
    w.running = group;
    w.served.set(group, w.started++);
    w.outstanding += batch.length;
    Atomics.store(w.yieldFlag, 0, 0);
    this.#post(w, {
      batch: batch.map(({ id, op, params, cancel }) => ({ id, op, params, cancel })),
    });
  }

  #post(w: PoolWorker, message: WorkerMessage): void {
    w.ready.then(() => {
      Atomics.add(w.inbox, 0, 1);
      w.worker.postMessage(message);
    });
  }

  /** Removes and returns request `id`'s entry. */
  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }

  #reply(msg: WorkerReply, from: PoolWorker): void {
    if (msg.wasm_bytes !== undefined) from.wasmBytes = msg.wasm_bytes;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    if ("progress" in msg) {
      pending.onProgress?.(msg.progress);
      return;
    }
    from.outstanding--;
    const w = pending.queued && this.#workers[pending.queued.on];
    if ("requeue" in msg) w?.returned.push(pending.queued!.job);
    else this.#take(msg.id);
    if (w && msg.done) {
      // Handed-back requests go first again, unless another group's turn.
      w.queue.unshift(...w.returned);
      w.returned = [];
      w.busy = false;
      this.#pump(w);
    }
    if (!("requeue" in msg)) {
      const signal = pending.queued?.job.signal;
      if ("error" in msg && signal?.aborted) {
        // Stopped because it was called off: say why, as for queued ones.
        const reason = signal.reason;
        if (reason !== NOT_NEEDED) this.cancelled++;
        pending.reject(
          reason instanceof RpcError ? reason : new RpcError(-32000, "request cancelled"),
        );
      } else if ("error" in msg) pending.reject(new RpcError(msg.error.code, msg.error.message));
      else pending.resolve(msg.result);
    }
    this.#maybeRecycle(from);
  }

  terminate(): void {
    for (const w of this.#workers) w.worker.terminate();
    for (const p of this.#pending.values()) {
      p.reject(new RpcError(-32000, "daemon is shutting down"));
    }
    this.#pending.clear();
  }
}
