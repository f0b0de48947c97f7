/**
 * A search worker: hosts some workspaces, or shards of them (each in this
 * worker's own WebAssembly memory), and runs every operation on them, so
 * the daemon's socket loop never blocks on a load or a search. Searches
 * answer with unprinted parts (`part`) that the socket side joins.
 *
 * Messages in: `{id, op, params}`, or `{batch: [...]}` of several run one
 * after another (each answered as it is done, the last marked `done`),
 * or, once, the shared counters (`{yieldFlag, inbox, searching, loading,
 * cpu}`). Out: `{id, result}`, `{id, error}`, `{id, requeue}` or, while
 * loading, `{id, progress}`; each says how much WebAssembly memory the
 * worker holds (`wasm_bytes`, for recycling).
 *
 * A request may carry a `cancel` flag (an `Int32Array` over shared memory
 * the pool sets when its caller gives up) and `params.budget_ms`: a search
 * running past either stops within a chunk of work and fails with the
 * engine's "search cancelled" / "search timed out". A search (`part`) that
 * has run a few milliseconds while the yield flag is up pauses after its
 * current file and answers what it has, with `resume` saying where the
 * next slice (the same request with that `resume`) starts.
 * @module
 */
import { Workspace } from "../workspace.ts";
import type { GrepArgs } from "../args.ts";
import { runGrep } from "../cli.ts";
import { NeedsRealRg } from "../fallback.ts";
import {
  coreEpoch,
  coreReady,
  GO_ON,
  interruptWhen,
  isInterruption,
  jsonString,
  storeStats,
  wasmMemoryBytes,
  withInterruptCheck,
  YIELD,
} from "../core.ts";
import { captureIO, type Resume, type SearchPart } from "../output.ts";
import { type PathRange, planShards } from "../walk.ts";
import { pinThread } from "./affinity.ts";
import { asUser, type Credentials } from "./credentials.ts";
import {
  cacheFile,
  pruneCache,
  restoreSketches,
  saveSketches,
  type SketchCacheSpot,
} from "./sketch_cache.ts";

/** What a worker reports back for one request; `done` marks the last
 * answer to a batch. */
export type WorkerReply =
  & (
    | { id: number; result: unknown }
    | { id: number; error: { code: number; message: string } }
    | { id: number; progress: { files: number; bytes: number } }
    /** Not run: another tenant's request is waiting; send it again later. */
    | { id: number; requeue: true }
  )
  & { done?: boolean; wasm_bytes?: number };

/** A request to a worker. */
export interface WorkerRequest {
  id: number;
  op: string;
  params: Record<string, unknown>;
  /** Non-zero once the request is called off (set by the pool). */
  cancel?: Int32Array<ArrayBufferLike>;
}

/** Raised for a request the worker cannot serve (reported as -32602). */
export class BadParams extends Error {}

const workspaces = new Map<string, Workspace>();

function workspace(key: unknown): Workspace {
  const ws = workspaces.get(String(key));
  if (!ws) throw new BadParams(`unknown workspace: ${key}`);
  return ws;
}

/** Bytes sketched per slice: 5–20 ms of work (10–40 ns a byte in full,
 * a quarter of that for quick sketches), the longest a request that
 * arrives meanwhile waits for it when the slice cannot stop short (see
 * `sliceEnd`). 8 MiB slices held the first searches after an open back
 * for seconds on a busy machine; 2 MiB ones still kept every search on
 * Linux at ~200 ms until all sketches were built (two workers share each
 * CPU, so a search's shards waited behind slices). The price: under
 * searches without pause, sketching gets less of the CPU (Linux: all
 * sketches built 20 s after the load, not 13; 1 MiB: 16 s). */
const SKETCH_SLICE = 512 << 10;

/** Runs `fn` as a task of its own, after the messages already waiting. A
 * message to ourselves rather than `setTimeout(fn, 0)`, which the timer
 * rules delay by 4 ms once nested: 20% of a 20 ms slice. */
const nextTask = (() => {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return (fn: () => void) => {
    queue.push(fn);
    channel.port2.postMessage(0);
  };
})();
const sketching = new Set<Workspace>();

/** While a search runs on this worker's CPU, sketching waits: workers
 * share CPUs (two per CPU), and a sketch slice beside a search's other
 * shard slowed it. But a worker builds a slice at least this often, so
 * that sketches still come while searches never stop. */
const SKETCH_EVERY_MS = 20;
/** While a load runs on this worker's CPU, sketching waits for it to end
 * (a load is what its client waits for, and it ends), but at most this
 * long between slices, should loads follow one another. */
const SKETCH_EVERY_MS_WHILE_LOADING = 1000;
let lastSketchSlice = 0;

/** Runs `go` once no load and no search runs on this worker's CPU, or once
 * its last sketch slice is old enough (see the two constants above). */
function whenCpuIsFree(go: () => void): void {
  const sinceSlice = performance.now() - lastSketchSlice;
  const loads = Atomics.load(loading, cpu);
  if (loads > 0 && sinceSlice < SKETCH_EVERY_MS_WHILE_LOADING) {
    return lookAgain(loading, loads, SKETCH_EVERY_MS_WHILE_LOADING - sinceSlice, go);
  }
  const running = Atomics.load(searching, cpu);
  const wait = SKETCH_EVERY_MS - sinceSlice;
  if (running === 0 || wait <= 0) return go();
  lookAgain(searching, running, wait, go);
}

/** {@link whenCpuIsFree} again once this CPU's `counter` drops to 0 (see
 * `run`), or is no longer `seen`, or after `ms`. */
function lookAgain(counter: Int32Array, seen: number, ms: number, go: () => void): void {
  const w = Atomics.waitAsync(counter, cpu, seen, ms);
  if (w.async) w.value.then(() => whenCpuIsFree(go));
  else whenCpuIsFree(go); // the count changed meanwhile
}

/** When a slice starting now stops short. One begun on a free CPU stops as
 * soon as a request is on its way to this worker or a search or load
 * starts on its CPU (the engine asks every 32 KiB, ~0.5 ms), so that it
 * holds nobody up. One begun because sketching had waited
 * {@link SKETCH_EVERY_MS} runs whole, so that sketches still come under
 * requests without pause. */
function sliceEnd(): () => number {
  const cpuWasFree = Atomics.load(searching, cpu) === 0 && Atomics.load(loading, cpu) === 0;
  if (!cpuWasFree) return () => GO_ON;
  return () =>
    Atomics.load(inbox, 0) > 0 || Atomics.load(searching, cpu) > 0 ||
      Atomics.load(loading, cpu) > 0
      ? YIELD
      : GO_ON;
}

/** Builds a workspace's sketches a slice at a time, letting requests that
 * arrive meanwhile run between slices (searches use whatever is built). */
function sketchInBackground(ws: Workspace): void {
  if (sketching.has(ws)) return;
  sketching.add(ws);
  const slice = () => {
    let left = 0;
    try {
      left = withInterruptCheck(sliceEnd(), () => ws.buildSketches(SKETCH_SLICE));
    } catch {
      // closed meanwhile
    }
    lastSketchSlice = performance.now();
    // Our own messages to ourselves go before the pool's: with one of
    // those on its way, a timer lets it in first (a search sent right
    // after an open waited for all of Linux's sketches, 12 s).
    if (left > 0 && Atomics.load(inbox, 0) > 0) setTimeout(next, 0);
    else if (left > 0) nextTask(next);
    else {
      sketching.delete(ws);
      saveBuiltSketches(ws);
    }
  };
  const next = () => whenCpuIsFree(slice);
  nextTask(next);
}

/** A restored sketch cache file is saved again once more than one file
 * in this many had to be sketched anew. */
const SAVE_AGAIN_PAST = 20;

/** Each workspace's sketch cache file, when the daemon keeps one. */
const cacheFiles = new Map<Workspace, { file: string; dir: string; maxBytes: number }>();
/** Workspaces whose sketches are to be saved once their first build after
 * the load is done (not after each refresh: the next load rebuilds the few
 * changed files' sketches, cheaper than rewriting the whole file). */
const unsaved = new Set<Workspace>();

function saveBuiltSketches(ws: Workspace): void {
  const cache = cacheFiles.get(ws);
  if (!unsaved.delete(ws) || !cache) return;
  const between = () => new Promise<void>((go) => nextTask(() => whenCpuIsFree(go)));
  saveSketches(ws, cache.file, console.error, between).then((saved) => {
    if (saved) pruneCache(cache.dir, cache.maxBytes, cache.file);
  });
}

/** Parts of operations run with the daemon's own rights, after the part
 * run with the user's: the sketch cache is the daemon's, and no user's
 * rights ever read or write it (src/daemon/sketch_cache.ts). */
const AS_DAEMON: Record<string, (p: Record<string, unknown>) => void> = {
  open(p) {
    const cache = p.sketch_cache as
      | Pick<SketchCacheSpot, "dir" | "shard" | "shards"> & { max_bytes: number }
      | undefined;
    const ws = workspaces.get(String(p.key));
    if (!cache || !ws) return;
    const { max_bytes, ...spot } = cache;
    const file = cacheFile({
      ...spot,
      uid: (p.as as Credentials | undefined)?.uid ?? Deno.uid()!,
      root: ws.root,
      hidden: Boolean(p.hidden),
      noIgnore: Boolean(p.no_ignore),
    });
    cacheFiles.set(ws, { file, dir: spot.dir, maxBytes: max_bytes });
    const r = restoreSketches(ws, file);
    if (r) {
      console.error(
        `curserve: sketches of ${r.restored} files restored from ${file}; ` +
          `${r.changed} saved for bytes changed since were not used`,
      );
    }
    // Saved again once built, unless only a few files changed since the
    // save: rewriting a shard's whole file (tens of MB, a few hundred ms
    // in which this worker answers nothing) would outweigh sketching those
    // few again after each load.
    const left = ws.buildSketches(0);
    if (left > 0 && (!r || left * SAVE_AGAIN_PAST > r.restored)) unsaved.add(ws);
  },
};

type Op = (p: Record<string, unknown>, progress: (files: number, bytes: number) => void) => unknown;

const OPS: Record<string, Op> = {
  open(p, progress) {
    const ws = Workspace.openSync(String(p.root), {
      hidden: Boolean(p.hidden),
      noIgnore: Boolean(p.no_ignore),
      range: p.range as PathRange,
      onProgress: (r) => progress(r.files, r.bytes),
      // The byte budget (the daemon's --memory-limit, what is left of it).
      maxBytes: p.max_bytes === undefined ? undefined : Number(p.max_bytes),
      maxFileBytes: p.max_file_bytes === undefined ? undefined : Number(p.max_file_bytes),
    });
    workspaces.set(String(p.key), ws);
    sketchInBackground(ws);
    const s = ws.stats();
    return { files: s.files, bytes: s.bytes, load_ms: Math.round(s.loadMs) };
  },
  /** Keeps this worker's thread on one CPU (see affinity.ts). */
  pin(p) {
    return { cpu: pinThread(Number(p.slot)) };
  },
  /** Splits a tree into shares for several workers (src/walk.ts). */
  plan(p) {
    return planShards(
      String(p.root),
      { hidden: Boolean(p.hidden), noIgnore: Boolean(p.no_ignore) },
      Number(p.workers),
      Number(p.shard_bytes),
    );
  },
  /** This workspace's (or shard's) answer to a parsed command line. */
  part(p) {
    const part = workspace(p.key).searchPart(
      p.args as GrepArgs,
      p.paths as string[],
      String(p.cwd),
      Boolean(p.shard),
      p.max_bytes === undefined ? undefined : Number(p.max_bytes),
      p.resume as Resume | undefined,
    );
    // Cut short (cancelled, out of time, too large): an error, not output.
    if (part.error && isInterruption(part.error)) throw new Error(part.error);
    if (p.json_text) {
      // Escaped here, in parallel across workers, rather than on the
      // daemon's socket thread (see joinJsonText in src/output.ts).
      const json = part.pieces.map((piece) => jsonString(piece));
      if (json.every((j) => j !== undefined)) part.json = json as Uint8Array[];
    }
    return part;
  },
  refresh(p) {
    const ws = workspace(p.key);
    const updated = ws.refresh(p.paths as string[]);
    sketchInBackground(ws);
    return { updated };
  },
  stats(p) {
    const ws = workspace(p.key);
    const s = ws.stats();
    // buildSketches(0) only counts what is left to sketch.
    return { files: s.files, bytes: s.bytes, unsketched: ws.buildSketches(0) };
  },
  /** This worker's WebAssembly memory, and its store of file contents
   * (each distinct contents once, however many workspaces hold it). */
  memory() {
    const s = storeStats();
    return {
      wasm_memory_bytes: wasmMemoryBytes(),
      blobs: s.blobs,
      blob_bytes: s.bytes,
      blob_sketch_bytes: s.sketchBytes,
    };
  },
  close(p) {
    const ws = workspaces.get(String(p.key));
    ws?.close();
    if (ws) [cacheFiles, unsaved].forEach((m) => m.delete(ws));
    workspaces.delete(String(p.key));
    return {};
  },
  /** A whole `grep` command line run from `cwd`, reading from disk (for
   * what no workspace holds). */
  cli(p) {
    const out = captureIO(String(p.cwd));
    try {
      const code = runGrep(p.argv as string[], { ...out.io, noProcess: true });
      return { stdout: out.stdout(), stderr: out.stderr(), code };
    } catch (err) {
      // The daemon runs no rg for anyone: the client does (grep_cli's
      // `{fallback}`).
      if (err instanceof NeedsRealRg) return { fallback: err.why };
      throw err;
    }
  },
};

/** Runs one request and posts its reply; errors become error replies. */
function handle({ id, op, params }: WorkerRequest): WorkerReply {
  const progress = (files: number, bytes: number) =>
    scope.postMessage({ id, progress: { files, bytes } });
  try {
    const fn = OPS[op];
    if (!fn) throw new BadParams(`unknown operation: ${op}`);
    // With the requesting user's file-system rights: every file this
    // operation opens, lists or stats is checked by the kernel as theirs.
    const result = asUser(params.as as Credentials | undefined, () => fn(params, progress));
    AS_DAEMON[op]?.(params);
    return { id, result };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof BadParams || err instanceof TypeError ? -32602 : -32000;
    return { id, error: { code, message } };
  }
}

const scope = self as unknown as {
  onmessage: (e: MessageEvent<WorkerMessage>) => void;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};

/** What the pool sends: one request, a batch, or (once) the shared flags. */
export type WorkerMessage = WorkerRequest | { batch: WorkerRequest[] } | {
  yieldFlag: Int32Array<ArrayBufferLike>;
  inbox: Int32Array<ArrayBufferLike>;
  searching: Int32Array<ArrayBufferLike>;
  loading: Int32Array<ArrayBufferLike>;
  cpu: number;
};

/** Set (to non-zero) by the pool while another tenant's request waits for
 * this worker: a batch stops at its next request and hands the rest back. */
let yieldFlag: Int32Array<ArrayBufferLike> = new Int32Array(1);
/** How many of the pool's messages are on their way to this worker. */
let inbox: Int32Array<ArrayBufferLike> = new Int32Array(1);
/** How many searches run on each CPU now (shared by all workers), and
 * which count is this worker's CPU's. */
let searching: Int32Array<ArrayBufferLike> = new Int32Array(new SharedArrayBuffer(4));
/** How many loads (and plans of loads) run on each CPU now, likewise. */
let loading: Int32Array<ArrayBufferLike> = new Int32Array(new SharedArrayBuffer(4));
let cpu = 0;
/** Operations counted in `searching`, and in `loading`. */
const SEARCH_OPS = new Set(["part", "cli"]);
const LOAD_OPS = new Set(["open", "plan"]);

/** Output buffers in a reply, handed over rather than copied. */
function transferable(reply: WorkerReply): Transferable[] {
  const r = "result" in reply ? reply.result as Partial<SearchPart & { stdout: Uint8Array }> : {};
  const bytes = [
    ...(r.pieces ?? []),
    ...(r.json ?? []),
    ...(r.stdout instanceof Uint8Array ? [r.stdout] : []),
  ];
  return bytes.map((b) => b.buffer as ArrayBuffer);
}
function post(reply: WorkerReply): void {
  scope.postMessage({ ...reply, wasm_bytes: wasmMemoryBytes() }, transferable(reply));
}

/** The least a search runs before it pauses for another tenant's request:
 * each pause costs a hand-over to the daemon's thread and back (about a
 * millisecond on an idle machine). */
const SLICE_MS = 3;

let epochSeen = coreEpoch();
/** Runs one request once the core is usable, asked to stop when its
 * `cancel` flag is set or its `budget_ms` runs out. */
async function run(req: WorkerRequest): Promise<WorkerReply> {
  await coreReady();
  if (epochSeen !== coreEpoch()) {
    // A trap replaced the core: workspaces reload on use, sketches anew.
    epochSeen = coreEpoch();
    for (const ws of workspaces.values()) sketchInBackground(ws);
  }
  const budget = req.params?.budget_ms;
  // A search pauses once it has run a slice while another tenant's request
  // waits for this worker; the pool queues its next slice behind that one.
  const started = performance.now();
  const pause = req.op === "part"
    ? () => Atomics.load(yieldFlag, 0) !== 0 && performance.now() - started >= SLICE_MS
    : undefined;
  const check = interruptWhen(req.cancel, budget === undefined ? undefined : Number(budget), pause);
  const counter = SEARCH_OPS.has(req.op) ? searching : LOAD_OPS.has(req.op) ? loading : undefined;
  if (counter) Atomics.add(counter, cpu, 1);
  try {
    // Every op's work is synchronous: the check covers it all.
    return await withInterruptCheck(check, () => handle(req));
  } finally {
    // The last search or load to end lets every worker's sketching go on.
    if (counter && Atomics.sub(counter, cpu, 1) === 1) Atomics.notify(counter, cpu);
  }
}
scope.onmessage = async ({ data }) => {
  if ("yieldFlag" in data) {
    ({ yieldFlag, inbox, searching, loading, cpu } = data);
    return;
  }
  Atomics.sub(inbox, 0, 1);
  if ("batch" in data) {
    // One message for several requests saves a round trip through the
    // daemon's thread per request (about half a millisecond on an idle
    // machine, where each hand-over wakes a sleeping thread).
    const { batch } = data;
    for (let i = 0; i < batch.length; i++) {
      const done = i === batch.length - 1;
      if (i > 0 && Atomics.load(yieldFlag, 0) !== 0) {
        batch.slice(i).forEach((r, k) =>
          post({ id: r.id, requeue: true, done: i + k === batch.length - 1 })
        );
        return;
      }
      post({ ...await run(batch[i]), done });
    }
  } else post(await run(data));
};
// Messages posted before this module finished loading may be lost, so the
// pool waits for this before sending any.
scope.postMessage({ id: 0, result: "ready" });
