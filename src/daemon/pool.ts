/**
 * A fixed pool of search workers. Each workspace lives in one worker; a
 * new workspace goes to the worker holding the fewest, so a long search in
 * one tenant's worker leaves the others free.
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
}

export class WorkerPool {
  #workers: { worker: Worker; tenants: number; ready: Promise<void> }[] = [];
  #pending = new Map<number, Pending>();
  #nextId = 1;

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
      this.#workers.push({ worker, tenants: 0, ready });
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Chooses a worker for a new workspace. */
  assign(): number {
    let best = 0;
    this.#workers.forEach((w, i) => {
      if (w.tenants < this.#workers[best].tenants) best = i;
    });
    this.#workers[best].tenants++;
    return best;
  }

  /** Gives back a worker slot when its workspace closes. */
  release(index: number): void {
    this.#workers[index].tenants--;
  }

  /** Runs `op` in worker `index`. */
  call(
    index: number,
    op: string,
    params: Record<string, unknown>,
    onProgress?: Pending["onProgress"],
  ): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      const w = this.#workers[index];
      w.ready.then(() => w.worker.postMessage({ id, op, params } satisfies WorkerRequest));
    });
  }

  #reply(msg: WorkerReply): void {
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    if ("progress" in msg) {
      pending.onProgress?.(msg.progress);
      return;
    }
    this.#pending.delete(msg.id);
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
