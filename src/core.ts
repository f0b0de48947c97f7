/**
 * Loads the WebAssembly search core and gives typed access to it.
 *
 * The generated glue lives in `core-wasm/lib/` (see `scripts/build_wasm.sh`);
 * this is the only module that imports it. Besides typed access it gives:
 *
 * - interruption: a running search asks {@link setInterruptCheck}'s check
 *   every 32 KiB or so of work and stops with {@link INTERRUPTED} messages;
 * - recovery: a trap (`unreachable`, out of bounds, a call stack overflow)
 *   leaves an instance unusable (its allocator and borrow flags stop
 *   mid-call), so the first one seen is logged, a fresh instance is loaded
 *   ({@link coreReady}) and {@link coreEpoch} moves on, telling holders of
 *   older objects to rebuild them;
 * - bounded reads: {@link readFileInto} opens regular files only and holds
 *   what it read, never more than a size cap.
 * @module
 */
import * as firstGlue from "../core-wasm/lib/curserve_core.js";
import { coreModule } from "./core_module.ts";

firstGlue.initSync({ module: coreModule() });

type Glue = typeof firstGlue;
/** A corpus of files in linear memory (see core-wasm/src/edge.rs). */
export type CoreCorpus = firstGlue.CoreCorpus;
/** One search's result. */
export type CoreGrepResult = firstGlue.CoreGrepResult;
/** Ignore rules for one walk. */
export type CoreWalkRules = firstGlue.CoreWalkRules;

// Live bindings: reassigned when a fresh instance replaces a trapped one.
export let CoreCorpus: Glue["CoreCorpus"] = firstGlue.CoreCorpus;
export let CoreGrepResult: Glue["CoreGrepResult"] = firstGlue.CoreGrepResult;
export let CoreWalkRules: Glue["CoreWalkRules"] = firstGlue.CoreWalkRules;
export let globsRescue: Glue["globsRescue"] = firstGlue.globsRescue;
export let jsonString: Glue["jsonString"] = firstGlue.jsonString;
export let typeList: Glue["typeList"] = firstGlue.typeList;
let coreStoreStats: Glue["storeStats"] = firstGlue.storeStats;
let memory = firstGlue.wasmMemory() as WebAssembly.Memory;

// --- interruption ------------------------------------------------------------

/** What the check answers: go on, why to stop, or to pause after the
 * current file (another request waits: see `searchPart` in src/cli.ts). */
export const GO_ON = 0, CANCELLED = 1, TIMED_OUT = 2, YIELD = 3;

/** The engine's messages for a search it stopped (core-wasm/src/limits.rs). */
export const INTERRUPTED = {
  cancelled: "search cancelled",
  timedOut: "search timed out",
  tooLarge: "search output too large",
} as const;

/** Whether an error message is the engine's for a search it cut short. */
export function isInterruption(message: string): boolean {
  return Object.values(INTERRUPTED).some((m) => message.startsWith(m));
}

let interruptCheck: () => number = () => GO_ON;
// The engine's one import (edge.rs `host_interrupted`). It must never
// throw: an exception through WebAssembly frames leaves them unwound.
(globalThis as Record<string, unknown>).curserveInterrupted = () => {
  try {
    return interruptCheck();
  } catch {
    return CANCELLED;
  }
};

/**
 * A check that stops a search when `flag[0]` becomes non-zero (set by
 * another thread) or once `budgetMs` milliseconds have passed from now,
 * and pauses it when `pause()` says so.
 */
export function interruptWhen(
  flag?: Int32Array<ArrayBufferLike>,
  budgetMs?: number,
  pause?: () => boolean,
): () => number {
  const deadline = budgetMs === undefined ? Infinity : performance.now() + budgetMs;
  return () => {
    if (flag && Atomics.load(flag, 0) !== 0) return CANCELLED;
    if (performance.now() > deadline) return TIMED_OUT;
    return pause?.() ? YIELD : GO_ON;
  };
}

/** Runs `fn` (synchronous core calls) with `check` asked while searches
 * run; nested calls restore the outer check. */
export function withInterruptCheck<T>(check: () => number, fn: () => T): T {
  const outer = interruptCheck;
  interruptCheck = check;
  try {
    return fn();
  } finally {
    interruptCheck = outer;
  }
}

// --- recovery from traps -------------------------------------------------------

let epoch = 0;
let restarting: Promise<void> | undefined;
let instances = 1;

/** Counts instances replaced after a trap; objects made under an older
 * epoch belong to a dead instance and must be rebuilt. */
export function coreEpoch(): number {
  return epoch;
}

/** Resolves once no restart is under way (at once, normally). */
export function coreReady(): Promise<void> {
  return restarting ?? Promise.resolve();
}

/** Whether the instance trapped and its replacement is not loaded yet. */
export function coreRestarting(): boolean {
  return restarting !== undefined;
}

/** Whether `err` means the instance it came from is unusable. */
export function isTrap(err: unknown): boolean {
  if (err instanceof WebAssembly.RuntimeError) return true;
  const message = err instanceof Error ? err.message : "";
  // A call stack overflow in WebAssembly, or an object whose borrow flag a
  // trap left set (wasm-bindgen's message).
  return (err instanceof RangeError && message.includes("call stack")) ||
    message.includes("recursive use of an object detected");
}

/** Loads a fresh instance after a trap and swaps it in. */
function restart(err: unknown): void {
  if (restarting) return;
  console.error(
    `curserve: search core failed (${(err as Error).message}); ` +
      "loading a fresh instance, workspaces reload on next use",
  );
  // A distinct URL is a distinct copy of the glue, for a new instance of
  // the same compiled module. The dead one's memory is only given back
  // with its thread (see pool.ts).
  const url = new URL(`../core-wasm/lib/curserve_core.js?instance=${++instances}`, import.meta.url);
  restarting = import(url.href).then((glue: Glue) => {
    glue.initSync({ module: coreModule() });
    install(glue);
    CoreCorpus = glue.CoreCorpus;
    CoreGrepResult = glue.CoreGrepResult;
    CoreWalkRules = glue.CoreWalkRules;
    globsRescue = guardFn(glue.globsRescue);
    jsonString = guardFn(glue.jsonString);
    typeList = guardFn(glue.typeList);
    coreStoreStats = guardFn(glue.storeStats);
    memory = glue.wasmMemory() as WebAssembly.Memory;
    epoch++;
  }).finally(() => restarting = undefined);
}

/** Wraps every call into an instance so that a trap is noticed where it
 * happens, whoever called. */
function install(glue: Glue): void {
  const guard = <A extends unknown[], R>(fn: (...a: A) => R) =>
    function (this: unknown, ...args: A): R {
      try {
        return fn.apply(this, args);
      } catch (err) {
        if (isTrap(err)) restart(err);
        throw err;
      }
    };
  for (const cls of [glue.CoreCorpus, glue.CoreGrepResult, glue.CoreWalkRules]) {
    const proto = cls.prototype as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name)!;
      if (name === "constructor" || name === "free" || name.startsWith("__")) continue;
      if (typeof d.value === "function") d.value = guard(d.value);
      if (d.get) d.get = guard(d.get);
      Object.defineProperty(proto, name, d);
    }
  }
}
install(firstGlue);
globsRescue = guardFn(firstGlue.globsRescue);
jsonString = guardFn(firstGlue.jsonString);
typeList = guardFn(firstGlue.typeList);
coreStoreStats = guardFn(firstGlue.storeStats);

function guardFn<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (err) {
      if (isTrap(err)) restart(err);
      throw err;
    }
  };
}

// --- reading files ---------------------------------------------------------------

/** Bytes a file may have to be held: linear memory (4 GiB in all) cannot
 * hold one larger. Larger files are skipped as `--max-filesize` skips. */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

/** A file skipped because of its type or size, as rg skips it. */
export class SkippedFile extends Error {}

/** A file that does not fit in what a load may still take. */
export class OverBudget extends RangeError {
  constructor(readonly size: number) {
    super(`a file of ${size} bytes does not fit`);
  }
}

/** Caps on one file read. */
export interface ReadLimits {
  /** Files larger than this are skipped (`--max-filesize`). */
  maxFileBytes?: number;
  /** Bytes the load may still take: a larger file stops it. */
  room?: number;
}

/**
 * Reads the file at `path` (absolute) straight into the corpus: its bytes
 * land in linear memory without a JavaScript copy, then are sealed: shared
 * with any identical file already held in this instance (the copy just read
 * is freed), as git shares blobs. Only a regular file is opened (opening a
 * FIFO blocks until a writer comes); the size held is the size read, never
 * more than its size when opened.
 * @returns The number of bytes read.
 * @throws {SkippedFile} For a file that is not a regular one, or too large.
 * @throws {OverBudget} For a file larger than `limits.room`.
 * @throws {Deno.errors.NotFound} and other errors from opening the file.
 */
export function readFileInto(
  corpus: CoreCorpus,
  path: string,
  walked: boolean,
  limits: ReadLimits = {},
): number {
  const cap = Math.min(limits.maxFileBytes ?? Infinity, MAX_FILE_BYTES);
  const before = Deno.statSync(path);
  if (!before.isFile) throw new SkippedFile("not a regular file");
  if (before.size > cap) throw new SkippedFile(`larger than ${cap} bytes`);
  if (before.size > (limits.room ?? Infinity)) throw new OverBudget(before.size);
  using file = Deno.openSync(path);
  // Swapped for something else between the two looks?
  const info = file.statSync();
  if (!info.isFile) throw new SkippedFile("not a regular file");
  const size = Math.min(info.size, before.size);
  const done = readIntoMemory(file, corpus.allocFile(path, size, walked), size);
  corpus.sealFile(path, done);
  return done;
}

/** Reads up to `size` bytes of `file` into linear memory at `ptr`.
 * @returns How many it read (fewer at an early end of file). */
function readIntoMemory(file: Deno.FsFile, ptr: number, size: number): number {
  let done = 0;
  while (done < size) {
    // A fresh view each time: nothing here grows memory, but stay safe.
    const n = file.readSync(new Uint8Array(memory.buffer, ptr + done, size - done));
    if (n === null || n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Restores the sketches saved in the file at `path` (see
 * {@link CoreCorpus.importSketches}), read straight into linear memory.
 * @returns `[restored, changed, other]` counts.
 * @throws {Error} When the file is refused (truncated, corrupt, another
 * build's), and the errors of reading it.
 */
export function importSketchFile(corpus: CoreCorpus, path: string): number[] {
  using file = Deno.openSync(path);
  const info = file.statSync();
  if (!info.isFile) throw new Error("not a regular file");
  const done = readIntoMemory(file, corpus.stageSketchFile(info.size), info.size);
  return [...corpus.importStaged(done)];
}

/** Bytes of linear memory the core holds (grows, never shrinks). */
export function wasmMemoryBytes(): number {
  return memory.buffer.byteLength;
}

/** What this instance holds of file contents, each distinct contents
 * counted once however many files (in however many corpora) hold it. */
export interface StoreStats {
  blobs: number;
  bytes: number;
  sketchBytes: number;
}

/** {@link StoreStats} of this instance's WebAssembly core. */
export function storeStats(): StoreStats {
  const [blobs, bytes, sketchBytes] = coreStoreStats();
  return { blobs, bytes, sketchBytes };
}
