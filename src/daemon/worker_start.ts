/**
 * A search worker's entry point (see src/daemon/pool.ts). Its first
 * message is the process's compiled core (src/core_module.ts); the worker
 * proper (worker.ts) is loaded only then, because loading it instantiates
 * the core.
 * @module
 */
import { useCoreModule } from "../core_module.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ coreModule: WebAssembly.Module }>) => void) | null;
};
scope.onmessage = ({ data }) => {
  scope.onmessage = null;
  useCoreModule(data.coreModule);
  // A failure here is the worker's error event, which the pool reports.
  import("./worker.ts");
};
