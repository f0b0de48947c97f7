/**
 * Runs a few searches over the daemon's own sources when it starts, so
 * that the search core's hot functions are optimized before the first
 * request.
 *
 * Why: V8 runs WebAssembly on baseline code first and optimizes a function
 * only after it has run a while, for its next call (a call already running
 * stays on baseline code). A daemon restarted onto saved sketches answered
 * its first searches of Linux 6.1 2-6x slower than later ones (kmalloc_array
 * 81-156 ms, then 24). Optimized code lives with the compiled module, which
 * every worker shares (src/core_module.ts), so warming up this thread's
 * instance warms every worker's.
 * @module
 */
import { parseArgs } from "../args.ts";
import { Workspace } from "../workspace.ts";

/** Agents' usual command lines, and the output modes they ask for. */
const SEARCHES = [
  ["-n", "fn"],
  ["-i", "-n", "-H", "--no-heading", "-e", "workspace"],
  ["-i", "-n", "-H", "--no-heading", "-e", "TODO|FIXME"],
  ["-n", "pub fn \\w+_\\w+\\("],
  ["-w", "-c", "let"],
  ["-l", "-i", "sketch"],
  ["-C2", "-n", "unsafe"],
  ["--json", "-m2", "const"],
  ["-F", "-o", "self."],
  ["-i", "curserve_no_such_name"],
];
const ROUNDS = 12;

/**
 * Searches `dirs` with {@link SEARCHES}, {@link ROUNDS} times each.
 * A directory that cannot be opened is skipped.
 * @returns How long it took, in ms.
 */
export function warmUpCore(dirs: string[]): number {
  const started = performance.now();
  const args = SEARCHES.map((argv) => parseArgs(argv));
  for (const dir of dirs) {
    let ws: Workspace;
    try {
      ws = Workspace.openSync(dir);
    } catch {
      continue; // not there: no warm-up from it
    }
    try {
      ws.buildSketches(Infinity);
      for (let round = 0; round < ROUNDS; round++) {
        for (const a of args) ws.searchPart(a, [], dir);
      }
    } finally {
      ws.close();
    }
  }
  return performance.now() - started;
}
