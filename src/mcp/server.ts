/**
 * The agent's tools as a Model Context Protocol server (the second front end
 * of `src/agent/tools.ts`): the same schemas listed as MCP tools, the same
 * {@link ToolBox} answering each call, a failing call as a tool result with
 * `isError: true`. The workspace is opened on the first call (through the
 * daemon, or loaded in-process), which reports MCP progress while it loads.
 * @module
 */
import { Server } from "npm:@modelcontextprotocol/sdk@1.32.2/server";
// The SDK's export map sends "./*.js" types to "*.js.d.ts", which do not exist: name them.
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
import { type BackendChoice, type LoadProgress, openBackend } from "../agent/backend.ts";
import { WorkspacePaths } from "../agent/paths.ts";
import { READ_TOOL_NAMES, TOOL_SCHEMAS, WRITE_TOOL_NAMES } from "../agent/schemas.ts";
import { ToolBox } from "../agent/tools.ts";

/** The name and version the server introduces itself with. */
export const SERVER_INFO = { name: "curserve", version: "0.1.0" };

/** What one server serves, and how. */
export interface McpServerOptions {
  /** The workspace root (a real path: symbolic links resolved). */
  root: string;
  backend: BackendChoice;
  /** The daemon's socket (for `auto` and `daemon`). */
  socket: string;
  /** Offer `edit` and `write_file`. */
  allowWrite: boolean;
  /** Writes one line of log (to stderr: stdout carries the protocol). */
  log: (line: string) => void;
}

/** The tools a server with these options offers, in the agent's order. */
export function offeredTools(allowWrite: boolean): string[] {
  return [...READ_TOOL_NAMES, ...(allowWrite ? WRITE_TOOL_NAMES : [])];
}

/**
 * The tools as `tools/list` shows them: the agent's names, descriptions and
 * JSON schemas (one definition for both front ends), the workspace named,
 * and hints that say which tools only read.
 */
export function mcpTools(names: readonly string[], root: string): Tool[] {
  return names.map((name) => {
    const schema = TOOL_SCHEMAS.find((t) => t.function.name === name);
    if (!schema) throw new RangeError(`No tool named '${name}'`);
    const readOnly = READ_TOOL_NAMES.includes(name);
    return {
      name,
      description: `${schema.function.description} The workspace is ${root}; paths are ` +
        `absolute or relative to it, and paths outside it are refused.`,
      inputSchema: schema.function.parameters as Tool["inputSchema"],
      annotations: {
        readOnlyHint: readOnly,
        destructiveHint: !readOnly,
        idempotentHint: readOnly,
        openWorldHint: false,
      },
    };
  });
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * The workspace's tools, opened on first use and then shared by every call.
 * Calls that arrive while it loads wait for the same load (and are told its
 * progress); a load that failed is tried again by the next call.
 */
class LazyToolBox {
  #opening: Promise<ToolBox> | undefined;
  #box: ToolBox | undefined;
  #listeners = new Set<LoadProgress>();
  #closed = false;

  constructor(readonly options: McpServerOptions, readonly tools: ReadonlySet<string>) {}

  /** The tools, opening the workspace first if no call has yet. */
  async get(onProgress?: LoadProgress): Promise<ToolBox> {
    if (this.#box) return this.#box;
    if (this.#closed) throw new Error("the server is shutting down");
    if (onProgress) this.#listeners.add(onProgress);
    try {
      return await (this.#opening ??= this.#open());
    } finally {
      if (onProgress) this.#listeners.delete(onProgress);
    }
  }

  async #open(): Promise<ToolBox> {
    const { root, backend: choice, socket, log } = this.options;
    const started = performance.now();
    try {
      const backend = await openBackend(
        choice,
        root,
        socket,
        log,
        (p) => this.#listeners.forEach((fn) => fn(p)),
      );
      if (this.#closed) {
        backend.close();
        throw new Error("the server is shutting down");
      }
      log(
        `${root} opened (${backend.kind} backend) in ${Math.round(performance.now() - started)} ms`,
      );
      return this.#box = new ToolBox(new WorkspacePaths(root), backend, undefined, this.tools);
    } catch (err) {
      this.#opening = undefined;
      throw err;
    }
  }

  close(): void {
    this.#closed = true;
    this.#box?.backend.close();
  }
}

/** A tool result that is only text. */
const textResult = (text: string, isError = false): CallToolResult => ({
  content: [{ type: "text", text }],
  ...(isError ? { isError } : {}),
});

/**
 * An MCP server offering the workspace's tools; connect it to a transport.
 * @returns The server, and `close` to release the workspace.
 */
export function createMcpServer(options: McpServerOptions): { server: Server; close(): void } {
  const names = offeredTools(options.allowWrite);
  const tools = mcpTools(names, options.root);
  const box = new LazyToolBox(options, new Set(names));
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {} },
    instructions: `Search and read the files of ${options.root} with these tools: ` +
      "grep_search (ripgrep's regular expressions, answered from file contents held in " +
      "memory), glob, list_directory and read_file. Prefer them to shell commands such as " +
      "grep, rg, find or cat for searching and reading files in this workspace.",
  });

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));

  server.setRequestHandler(
    CallToolRequestSchema,
    async (request, extra) => {
      const { name, arguments: args } = request.params;
      if (!names.includes(name)) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown tool '${name}'; the tools are ${names.join(", ")}`,
        );
      }
      const token = extra._meta?.progressToken;
      let last = 0; // progress must increase from one notification to the next
      const onProgress: LoadProgress | undefined = token === undefined ? undefined : (p) => {
        if (p.files <= last) return;
        last = p.files;
        extra.sendNotification({
          method: "notifications/progress",
          params: {
            progressToken: token,
            progress: p.files,
            message: `loading ${options.root}: ${p.files} files, ${megabytes(p.bytes)} read`,
          },
        }).catch((err: unknown) => options.log(`cannot send progress: ${(err as Error).message}`));
      };
      let toolBox: ToolBox;
      try {
        toolBox = await box.get(onProgress);
      } catch (err) {
        return textResult(
          `Error: cannot open ${options.root} (${options.backend} backend` +
            (options.backend === "local" ? "" : `, daemon socket ${options.socket}`) +
            `): ${(err as Error).message}`,
          true,
        );
      }
      const outcome = await toolBox.call(name, args);
      return textResult(outcome.content, !outcome.ok);
    },
  );

  return { server, close: () => box.close() };
}
