/**
 * The MCP server's command line: `mcp.ts [--root DIR] [--daemon SOCKET]
 * [--backend auto|daemon|local] [--allow-write]`.
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_SOCKET, UsageError } from "../agent/args.ts";
import type { BackendChoice } from "../agent/backend.ts";

export { UsageError };

/** How the server is configured. */
export interface McpConfig {
  /** The workspace root as given (resolved against the caller's directory). */
  root: string;
  socket: string;
  backend: BackendChoice;
  /** Offer `edit` and `write_file` too. */
  allowWrite: boolean;
}

/** `rg` is the agent's comparison backend; a server has no use for it. */
const BACKENDS: readonly BackendChoice[] = ["auto", "daemon", "local"];

/**
 * Parses the server's arguments.
 * @param argv The arguments (without the program).
 * @param env Where defaults come from (`CURSERVE_SOCKET`).
 * @returns The configuration, or `"help"` for `--help`.
 * @throws {UsageError} For unknown flags, bad values or stray arguments.
 */
export function parseMcpArgs(
  argv: string[],
  env: (name: string) => string | undefined,
): McpConfig | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        root: { type: "string" },
        daemon: { type: "string" },
        backend: { type: "string" },
        "allow-write": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  const backend = (v.backend ?? "auto") as BackendChoice;
  if (!BACKENDS.includes(backend)) {
    throw new UsageError(`--backend is one of ${BACKENDS.join(", ")}, got '${backend}'`);
  }
  if (v.root === "") throw new UsageError("--root is empty");
  return {
    root: v.root ?? ".",
    socket: v.daemon ?? env("CURSERVE_SOCKET") ?? DEFAULT_SOCKET,
    backend,
    allowWrite: v["allow-write"] ?? false,
  };
}
