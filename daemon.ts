/**
 * `deno task daemon [--socket PATH] [--workers N] [--memory-limit SIZE]
 * [--linger SECONDS] [--socket-mode MODE] [--no-pin] [--verbose]`: one
 * long-lived process serving every agent's search tools over a Unix socket
 * (JSON-RPC 2.0 and the original curserve protocol; see docs/PROTOCOL.md).
 * @module
 */
import { parseArgs } from "node:util";
import { Daemon } from "./src/daemon/server.ts";

const HELP = `curserve daemon: serves grep, glob, list_directory and read_file for many
agents from workspaces held in memory.

USAGE:
    deno task daemon [OPTIONS]

OPTIONS:
    --socket PATH         Unix socket to listen on (default: $CURSERVE_SOCKET
                          or /tmp/curserve.sock)
    --workers N           Search workers (default: one per core)
    --socket-mode MODE    Octal mode of the socket file (default: 600)
    --memory-limit SIZE   Bytes of files to hold, e.g. 512M or 8G (default: no
                          limit); past it, the least recently used idle
                          workspaces are unloaded and reload on next use
    --linger SECONDS      Keep a workspace loaded this long after its last
                          client leaves, so the next agent run on it finds
                          it ready (default: 600; 0 frees it at once)
    --shard-bytes SIZE    Split workspaces of at least this size across all
                          workers, so one search uses every core (default:
                          16M; 0 never splits)
    --timeout-ms N        Per-request time limit (default: 60000)
    --max-line-bytes N    Longest request line accepted (default: 16777216)
    --no-pin              Let search workers run on any CPU (default: worker i
                          stays on the i-th CPU the daemon may use; Linux,
                          needs --allow-ffi; see src/daemon/affinity.ts)
    --verbose             Log one line per request, with its latency
    -h, --help            Print this help`;

function fail(message: string): never {
  console.error(`error: ${message}\n\n${HELP}`);
  Deno.exit(2);
}

/** Parses sizes like `512M`, `8G` or plain bytes. */
function size(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const m = /^(\d+)([KMG]?)B?$/i.exec(text);
  if (!m) fail(`--${name} needs a size like 512M or 8G, got '${text}'`);
  return Number(m[1]) *
    { "": 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2].toUpperCase() as "" | "K" | "M" | "G"];
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    fail(`--${name} needs a positive integer, got '${text}'`);
  }
  return Number(text);
}

function nonNegativeInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) fail(`--${name} needs a whole number, got '${text}'`);
  return Number(text);
}

if (import.meta.main) {
  let flags;
  try {
    flags = parseArgs({
      args: Deno.args,
      options: {
        socket: { type: "string" },
        workers: { type: "string" },
        "socket-mode": { type: "string" },
        "timeout-ms": { type: "string" },
        "memory-limit": { type: "string" },
        "shard-bytes": { type: "string" },
        "max-line-bytes": { type: "string" },
        linger: { type: "string" },
        verbose: { type: "boolean" },
        "no-pin": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (flags.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const mode = flags["socket-mode"] ?? "600";
  if (!/^[0-7]{3,4}$/.test(mode)) fail(`--socket-mode needs an octal mode like 660, got '${mode}'`);
  const socket = flags.socket ?? Deno.env.get("CURSERVE_SOCKET") ?? "/tmp/curserve.sock";
  const daemon = new Daemon({
    socket,
    workers: positiveInt("workers", flags.workers, navigator.hardwareConcurrency || 2),
    socketMode: parseInt(mode, 8),
    timeoutMs: positiveInt("timeout-ms", flags["timeout-ms"], 60_000),
    memoryLimit: size("memory-limit", flags["memory-limit"], 0),
    // 0 means never split.
    shardBytes: size("shard-bytes", flags["shard-bytes"], 16 << 20) || Infinity,
    maxLineBytes: positiveInt("max-line-bytes", flags["max-line-bytes"], 16 << 20),
    lingerMs: 1000 * nonNegativeInt("linger", flags.linger, 600),
    verbose: flags.verbose ?? false,
    legacyDir: "/tmp",
    pinWorkers: !flags["no-pin"],
  });
  try {
    await daemon.listen();
  } catch (err) {
    console.error(`error: cannot listen on ${socket}: ${(err as Error).message}`);
    Deno.exit(1);
  }
  const stop = async () => {
    await daemon.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.error(`curserve daemon listening on ${socket}`);
  daemon.workerCpus().then(
    (cpus) => {
      if (flags.verbose && cpus.length) {
        console.error(`curserve: search workers pinned to CPUs ${cpus.join(", ")}`);
      }
    },
    (err) =>
      console.error(
        `curserve: search workers not pinned to CPUs (${err.message}); --no-pin stops trying`,
      ),
  );
}
