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
  wasmMemory,
} from "../core-wasm/lib/curserve_core.js";

export { CoreCorpus, CoreGrepResult, CoreWalkRules };

const memory = wasmMemory() as WebAssembly.Memory;

/**
 * Copies `bytes` into the corpus as the contents of `path` (absolute);
 * `walked` says it was found in a directory walk, not only named.
 * The bytes go straight into linear memory; no other copy is kept.
 */
export function putFile(corpus: CoreCorpus, path: string, bytes: Uint8Array, walked: boolean): void {
  const ptr = corpus.allocFile(path, bytes.length, walked);
  // Allocation may grow memory, so take the view only afterwards.
  new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
}

/** Bytes of linear memory the core holds (grows, never shrinks). */
export function wasmMemoryBytes(): number {
  return memory.buffer.byteLength;
}
