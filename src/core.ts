/**
 * Loads the WebAssembly search core and gives typed access to it.
 *
 * The generated glue lives in `core-wasm/lib/` (see `scripts/build_wasm.sh`);
 * this is the only module that imports it.
 * @module
 */
import {
  CoreCorpus,
  CoreGrepResult,
  CoreWalkRules,
  globsRescue,
  jsonString,
  storeStats as coreStoreStats,
  wasmMemory,
} from "../core-wasm/lib/curserve_core.js";

export { CoreCorpus, CoreGrepResult, CoreWalkRules, globsRescue, jsonString };

const memory = wasmMemory() as WebAssembly.Memory;

/**
 * Reads the file at `path` (absolute) straight into the corpus: its bytes
 * land in linear memory without a JavaScript copy, then are sealed: shared
 * with any identical file already held in this instance (the copy just read
 * is freed), as git shares blobs.
 * @returns The number of bytes read.
 * @throws {Deno.errors.NotFound} and other errors from opening the file.
 */
export function readFileInto(corpus: CoreCorpus, path: string, walked: boolean): number {
  using file = Deno.openSync(path);
  const size = file.statSync().size;
  const ptr = corpus.allocFile(path, size, walked);
  let done = 0;
  while (done < size) {
    // A fresh view each time: nothing here grows memory, but stay safe.
    const n = file.readSync(new Uint8Array(memory.buffer, ptr + done, size - done));
    if (n === null) break;
    done += n;
  }
  corpus.sealFile(path, done);
  return done;
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
