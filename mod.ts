/**
 * curserve: ripgrep-compatible search over a workspace held in WebAssembly
 * memory. Open a workspace once (every file rg would search is read into
 * memory), then search it many times without touching the disk.
 *
 * @example
 * ```ts
 * import { Workspace } from "./mod.ts";
 * const ws = await Workspace.open("/srv/repo");
 * const { text } = ws.grep({ pattern: "TODO", ignoreCase: true, lineNumber: true });
 * console.log(text);
 * ws.close();
 * ```
 * @module
 */
export {
  type GrepOptions,
  type GrepResult,
  type OpenOptions,
  Workspace,
  type WorkspaceStats,
} from "./src/workspace.ts";
export type { GrepRequest, OutputSpec } from "./src/request.ts";
export type { GrepMatch } from "./src/matches.ts";
export { runGrep } from "./src/cli.ts";
export { DaemonClient, DaemonError, type DaemonNotification } from "./src/client.ts";
