/**
 * `deno task mcp [--root DIR] [--daemon SOCKET] [--backend KIND] [--allow-write]`:
 * the agent's search and read tools as a Model Context Protocol server on
 * stdio, for the agents people already use (qwen-code, gemini-cli, Claude
 * Code). stdout carries the protocol; every log line goes to stderr.
 * @module
 */
import process from "node:process";
import { resolve } from "node:path";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/server/stdio"
import { StdioServerTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/server/stdio.js";
import { type McpConfig, parseMcpArgs, UsageError } from "./src/mcp/args.ts";
import { createMcpServer } from "./src/mcp/server.ts";

const HELP = `curserve MCP server: grep_search, glob, list_directory and read_file on one
workspace, over the Model Context Protocol on stdin/stdout.

USAGE:
    deno task mcp [OPTIONS]
    deno run --allow-read --allow-write --allow-env --allow-net mcp.ts [OPTIONS]

OPTIONS:
    --root DIR           The workspace (default: the directory the server is
                         started in, as agents start MCP servers in the project)
    --daemon SOCKET      curserve daemon socket (default: $CURSERVE_SOCKET, else
                         your own daemon's, else /run/curserve/curserve.sock)
    --backend KIND       auto (the daemon if one answers on the socket, else
                         in-process, said on stderr), daemon, or local
                         (in-process WASM, watching the tree) [default: auto]
    --allow-write        Also offer edit and write_file (which tell the daemon
                         or the in-process workspace about each change)
    -h, --help           Print this help

The workspace is opened on the first tool call, which reports MCP progress
notifications while it loads. Paths outside the workspace are refused.`;

const encoder = new TextEncoder();
/** One line on stderr: stdout belongs to the protocol. */
const log = (line: string) => Deno.stderr.writeSync(encoder.encode(`curserve-mcp: ${line}\n`));

/** The workspace root: a directory, as a real path (symbolic links resolved). */
async function workspaceRoot(config: McpConfig): Promise<string> {
  // `deno task` runs in the config's directory; INIT_CWD is where the caller was.
  const given = resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), config.root);
  let root: string;
  try {
    root = await Deno.realPath(given);
  } catch (err) {
    throw new UsageError(`cannot use --root ${given}: ${(err as Error).message}`);
  }
  if (!(await Deno.stat(root)).isDirectory) {
    throw new UsageError(`cannot use --root ${given}: not a directory`);
  }
  return root;
}

if (import.meta.main) {
  let config: McpConfig | "help";
  let root: string;
  try {
    config = parseMcpArgs(Deno.args, (name) => Deno.env.get(name));
    if (config === "help") {
      console.log(HELP); // no client reads a server started with --help
      Deno.exit(0);
    }
    root = await workspaceRoot(config);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`error: ${err.message}\n\n${HELP}`);
    Deno.exit(2);
  }
  const { server, close } = createMcpServer({
    root,
    backend: config.backend,
    socket: config.socket,
    allowWrite: config.allowWrite,
    log,
  });
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    close();
    Deno.exit(0);
  };
  // The client ends the session by closing our stdin (then SIGTERM).
  process.stdin.on("end", () => stop("stdin closed"));
  server.onclose = () => stop("connection closed");
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop(signal));
  }
  await server.connect(new StdioServerTransport());
  log(`serving ${root} (--backend ${config.backend}${config.allowWrite ? ", --allow-write" : ""})`);
}
