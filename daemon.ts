/**
 * `deno task daemon [--socket PATH] [--workers N] [--memory-limit SIZE]
 * [--linger SECONDS] [--cache-dir DIR | --no-cache] [--socket-mode MODE] [--socket-group GROUP]
 * [--legacy-socket] [--no-pin] [--verbose]`: one long-lived process
 * serving every agent's search tools over a Unix socket (JSON-RPC 2.0 and
 * the original curserve protocol; see docs/PROTOCOL.md and
 * docs/SECURITY.md).
 * @module
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Daemon, DEFAULT_LIMITS } from "./src/daemon/server.ts";
import { raiseFileLimit } from "./src/daemon/rlimit.ts";
import { warmUpCore } from "./src/daemon/warm_up.ts";
import { DEFAULT_CACHE_MAX_BYTES, defaultCacheDir, privateDir } from "./src/daemon/sketch_cache.ts";
import {
  daemonSocketPath,
  ensureSocketDir,
  LEGACY_SOCKET,
  SYSTEM_SOCKET,
  unsafeSocketDir,
} from "./src/socket_path.ts";

const HELP = `curserve daemon: serves grep, glob, list_directory and read_file for many
agents from workspaces held in memory.

USAGE:
    deno task daemon [OPTIONS]

OPTIONS:
    --socket PATH         Unix socket to listen on (default: $CURSERVE_SOCKET,
                          else ${SYSTEM_SOCKET} for root, else
                          $XDG_RUNTIME_DIR/curserve.sock or
                          /tmp/curserve-UID/curserve.sock); its directory
                          must not be writable by others
    --socket-mode MODE    Octal mode of the socket file (default: 600, or
                          660 with --socket-group)
    --socket-group GROUP  Give the socket to this group (name or gid), so
                          its members can connect
    --legacy-socket       Also listen on ${LEGACY_SOCKET},
                          where the original curserve clients connect
    --allow-shared-dir    Listen even in a directory others can write
    --workers N           Search workers (default: two per core, so that a long
                          search shares its CPU with a worker that has a short
                          one to run, which the kernel then runs at once)
    --memory-limit SIZE   Bytes of files to hold, e.g. 512M or 8G (default: no
                          limit); past it, the least recently used idle
                          workspaces are unloaded and reload on next use
    --linger SECONDS      Keep a workspace loaded this long after its last
                          client leaves, so the next agent run on it finds
                          it ready (default: 600; 0 frees it at once)
    --shard-bytes SIZE    Split workspaces of at least this size across all
                          workers, so one search uses every core (default:
                          16M; 0 never splits)
    --cache-dir DIR       Save each workspace's sketches (the index that lets
                          searches skip files) here, in a 0700 directory per
                          user, so a reload after a restart or an eviction is
                          fast at once; each is used only for unchanged bytes
                          (default: $XDG_CACHE_HOME/curserve/sketches, or
                          ~/.cache/curserve/sketches)
    --cache-max-bytes SIZE
                          Past this, the least recently used saved sketches
                          are deleted (default: 4G)
    --no-cache            Save no sketches: build them on every load
    --timeout-ms N        Per-request time limit (default: 60000)
    --max-line-bytes N    Longest request line accepted (default: 1048576)
    --max-connections-per-user N   (default: ${DEFAULT_LIMITS.connectionsPerUser})
    --max-inflight-per-connection N
                          Requests in flight per connection before the
                          daemon stops reading it (default: ${DEFAULT_LIMITS.inflightPerConnection})
    --max-inflight-per-user N      (default: ${DEFAULT_LIMITS.inflightPerUser})
    --max-workspaces-per-user N    (default: ${DEFAULT_LIMITS.workspacesPerUser})
    --max-bytes-per-user SIZE      Bytes of files one user may hold
                          (default: no limit)
    --max-reply-bytes SIZE         Ceiling on a grep's max_bytes (default: 64M)
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

/** A group name or number as a gid. */
function groupId(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  try {
    for (const line of Deno.readTextFileSync("/etc/group").split("\n")) {
      const [name, , gid] = line.split(":");
      if (name === text) return Number(gid);
    }
  } catch {
    // no /etc/group
  }
  fail(`--socket-group: no group named '${text}'`);
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
        "cache-dir": { type: "string" },
        "cache-max-bytes": { type: "string" },
        "no-cache": { type: "boolean" },
        "max-line-bytes": { type: "string" },
        "socket-group": { type: "string" },
        "legacy-socket": { type: "boolean" },
        "allow-shared-dir": { type: "boolean" },
        "max-connections-per-user": { type: "string" },
        "max-inflight-per-connection": { type: "string" },
        "max-inflight-per-user": { type: "string" },
        "max-workspaces-per-user": { type: "string" },
        "max-bytes-per-user": { type: "string" },
        "max-reply-bytes": { type: "string" },
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
  const group = flags["socket-group"] === undefined ? null : groupId(flags["socket-group"]);
  const mode = flags["socket-mode"] ?? (group === null ? "600" : "660");
  if (!/^[0-7]{3,4}$/.test(mode)) fail(`--socket-mode needs an octal mode like 660, got '${mode}'`);
  const socket = flags.socket ?? daemonSocketPath();
  if (flags.socket === undefined) {
    // The default place: made here if missing (root's /run/curserve is
    // 0755 so every user can reach the socket; a user's own is 0700).
    ensureSocketDir(dirname(socket), Deno.uid() === 0 ? 0o755 : 0o700);
  }
  const legacySocket = flags["legacy-socket"] ? LEGACY_SOCKET : undefined;
  if (!flags["allow-shared-dir"]) {
    const unsafe = unsafeSocketDir(dirname(socket));
    if (unsafe) {
      fail(
        `will not listen on ${socket}: ${unsafe}. Choose a private directory, or pass ` +
          "--allow-shared-dir if every user of this machine is trusted",
      );
    }
  }
  const limits = {
    connectionsPerUser: positiveInt(
      "max-connections-per-user",
      flags["max-connections-per-user"],
      DEFAULT_LIMITS.connectionsPerUser,
    ),
    inflightPerConnection: positiveInt(
      "max-inflight-per-connection",
      flags["max-inflight-per-connection"],
      DEFAULT_LIMITS.inflightPerConnection,
    ),
    inflightPerUser: positiveInt(
      "max-inflight-per-user",
      flags["max-inflight-per-user"],
      DEFAULT_LIMITS.inflightPerUser,
    ),
    workspacesPerUser: positiveInt(
      "max-workspaces-per-user",
      flags["max-workspaces-per-user"],
      DEFAULT_LIMITS.workspacesPerUser,
    ),
    bytesPerUser: size("max-bytes-per-user", flags["max-bytes-per-user"], 0),
    maxReplyBytes: size("max-reply-bytes", flags["max-reply-bytes"], DEFAULT_LIMITS.maxReplyBytes),
  };
  if (flags["no-cache"] && flags["cache-dir"] !== undefined) {
    fail("--no-cache and --cache-dir contradict each other");
  }
  let cacheDir: string | undefined;
  if (flags["cache-dir"] !== undefined) {
    cacheDir = resolve(flags["cache-dir"]);
    const why = privateDir(cacheDir);
    if (why) fail(`--cache-dir: ${why}`);
  } else if (!flags["no-cache"]) {
    // The default place: a daemon that cannot use it runs without a cache.
    cacheDir = defaultCacheDir();
    const why = cacheDir ? privateDir(cacheDir) : "neither XDG_CACHE_HOME nor HOME is set";
    if (why) {
      console.error(`curserve: no sketch cache (${why}); pass --cache-dir DIR or --no-cache`);
      cacheDir = undefined;
    }
  }
  const cacheMaxBytes = size("cache-max-bytes", flags["cache-max-bytes"], DEFAULT_CACHE_MAX_BYTES);
  // A connection is a file descriptor: take all the kernel allows.
  raiseFileLimit();
  // The last line of defence: no stray rejection may end the daemon.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    console.error(`curserve: unhandled rejection: ${e.reason?.stack ?? e.reason}`);
  });
  const daemon = new Daemon({
    socket,
    legacySocket,
    workers: positiveInt("workers", flags.workers, 2 * (navigator.hardwareConcurrency || 2)),
    socketMode: parseInt(mode, 8),
    socketGroup: group,
    timeoutMs: positiveInt("timeout-ms", flags["timeout-ms"], 60_000),
    memoryLimit: size("memory-limit", flags["memory-limit"], 0),
    // 0 means never split.
    shardBytes: size("shard-bytes", flags["shard-bytes"], 16 << 20) || Infinity,
    maxLineBytes: positiveInt("max-line-bytes", flags["max-line-bytes"], 1 << 20),
    lingerMs: 1000 * nonNegativeInt("linger", flags.linger, 600),
    verbose: flags.verbose ?? false,
    legacyDir: "/tmp",
    pinWorkers: !flags["no-pin"],
    sketchCacheDir: cacheDir,
    sketchCacheMaxBytes: cacheMaxBytes,
    limits,
  });
  try {
    await daemon.listen();
  } catch (err) {
    console.error(`error: cannot listen on ${socket}: ${(err as Error).message}`);
    Deno.exit(1);
  }
  // The daemon's own sources, a few hundred KB: see src/daemon/warm_up.ts.
  const warmUpMs = warmUpCore(
    ["./src/", "./core-wasm/src/"].map((d) => new URL(d, import.meta.url).pathname),
  );
  if (flags.verbose) console.error(`curserve: search core warmed up (${warmUpMs.toFixed(0)} ms)`);
  const stop = async () => {
    await daemon.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.error(
    `curserve daemon listening on ${socket}${legacySocket ? ` and ${legacySocket}` : ""}${
      daemon.multiUser ? " (serving every user, each with their own rights)" : ""
    }`,
  );
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
