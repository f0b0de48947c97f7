/**
 * The compiled search core (core-wasm/lib/curserve_core_bg.wasm), compiled
 * once per process: the daemon hands it to each search worker
 * (src/daemon/pool.ts), so every worker instantiates the same module.
 *
 * Why: V8 keeps a module's machine code with the module, not with an
 * instance. Functions start on baseline code and are optimized once hot;
 * with one module, what one worker's searches optimized serves every
 * worker at once. When each worker compiled its own, each one's first
 * searches ran 2-4x slower, and a sharded search waits for its slowest
 * worker.
 * @module
 */

let compiled: WebAssembly.Module | undefined;

/** The compiled core: the one handed to this thread, or compiled now. */
export function coreModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    Deno.readFileSync(new URL("../core-wasm/lib/curserve_core_bg.wasm", import.meta.url)),
  );
  return compiled;
}

/** Makes `module` (compiled by another thread) this thread's core; called
 * before src/core.ts is first imported. */
export function useCoreModule(module: WebAssembly.Module): void {
  compiled = module;
}
