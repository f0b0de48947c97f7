/**
 * Where the agent's read tools are answered. One interface, three answers:
 * the daemon (workspaces shared in memory by every user's agent), an
 * in-process {@link Workspace} (the same WASM core, loaded by this agent
 * alone), and `rg` spawned per search with plain file reads: the
 * traditional path that other agents take, kept for comparison.
 * @module
 */
import { DaemonClient, DaemonError } from "../client.ts";
import { Workspace } from "../workspace.ts";
import { type FileSlice, listDirectory, sliceLines } from "../files.ts";
import { ToolError } from "./paths.ts";

/** Which implementation answers the read tools. */
export type BackendKind = "daemon" | "local" | "rg";

/** How `--backend` chooses: `auto` is the daemon if one answers, else local. */
export type BackendChoice = BackendKind | "auto";

/** One entry of a directory listing. */
export interface DirEntry {
  name: string;
  type: "file" | "dir";
}

/** rg's output for one search, possibly cut short. */
export interface SearchOutput {
  /** What `rg` printed (its matches), `""` when nothing matched. */
  text: string;
  /** The output was cut at {@link GREP_MAX_BYTES}. */
  truncated: boolean;
}

/** Told how far a workspace's load has come (files and bytes read so far). */
export type LoadProgress = (progress: { files: number; bytes: number }) => void;

/** Bytes of files sketched per slice in the in-process backend (~20 ms). */
const SKETCH_SLICE_BYTES = 2 << 20;

/** Largest rg output read for one search (the model sees far less). */
export const GREP_MAX_BYTES = 4 << 20;

/** The read side of the tools; paths are inside the workspace (already confined). */
export interface ReadBackend {
  readonly kind: BackendKind;
  /** The workspace root (real path). */
  readonly root: string;
  /**
   * Runs an rg command line (flags, pattern, paths relative to the root)
   * from the root, as `rg --sort path` would print it.
   * @throws {ToolError} With rg's message when rg fails (exit status 2).
   */
  grep(args: string[]): Promise<SearchOutput>;
  /** Files rg would search that match `pattern` (rg's `-g` syntax), under `path`. */
  glob(pattern: string, path: string | undefined, limit: number): Promise<{
    files: string[];
    truncated: boolean;
  }>;
  /** A directory's entries sorted by name, without names matching `ignore`. */
  listDirectory(abs: string, ignore: string[]): Promise<DirEntry[]>;
  /** Lines `offset .. offset + limit` (0-based) of a file. */
  readFile(abs: string, offset: number, limit: number): Promise<FileSlice>;
  /** Makes edits to these files visible to the next search. */
  changed(abs: string[]): Promise<void>;
  /** Releases the workspace (and the connection). */
  close(): void;
}

const decoder = new TextDecoder();

/** `bytes` as text, cut at `max` bytes (at a line end when one is near). */
function capped(bytes: Uint8Array, max = GREP_MAX_BYTES): SearchOutput {
  if (bytes.length <= max) return { text: decoder.decode(bytes), truncated: false };
  const end = bytes.lastIndexOf(10, max - 1);
  return { text: decoder.decode(bytes.subarray(0, end < 0 ? max : end + 1)), truncated: true };
}

/**
 * An rg exit status and message as a search result, or the tool error.
 * rg also exits with 2 when some file could not be read; what it found in
 * the others still stands.
 */
function searchResult(code: number, stdout: Uint8Array, stderr: string): SearchOutput {
  if (code === 2 && stdout.length === 0) throw new ToolError(stderr.trim() || "the search failed");
  return capped(stdout);
}

/** The lines of rg's `--files` output. */
const fileLines = (text: string) => text.split("\n").filter((f) => f !== "");

/** Reads and listings straight from disk (local and rg backends). */
abstract class DiskReads {
  constructor(readonly root: string) {}

  async listDirectory(abs: string, ignore: string[]): Promise<DirEntry[]> {
    try {
      return await listDirectory(abs, ignore);
    } catch (err) {
      throw new ToolError(`cannot list ${abs}: ${(err as Error).message}`);
    }
  }

  async readFile(abs: string, offset: number, limit: number): Promise<FileSlice> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(abs);
    } catch (err) {
      throw new ToolError(`cannot read ${abs}: ${(err as Error).message}`);
    }
    return sliceLines(bytes, offset, limit);
  }
}

/** Searches a workspace loaded into this process's WASM memory. */
export class LocalBackend extends DiskReads implements ReadBackend {
  readonly kind = "local";
  #watcher: Deno.FsWatcher | undefined;
  #sketching = false;
  #closed = false;

  private constructor(readonly workspace: Workspace) {
    super(workspace.root);
    this.#watch();
    this.#sketch();
  }

  /**
   * Loads `root` (every file rg would search) into memory.
   * @param onProgress Called every 1000 files and at the end of the load.
   */
  static async open(root: string, onProgress?: LoadProgress): Promise<LocalBackend> {
    return new LocalBackend(await Workspace.open(root, { onProgress }));
  }

  grep(args: string[]): Promise<SearchOutput> {
    const r = this.workspace.run(args);
    return Promise.resolve(searchResult(r.code, r.stdout, r.stderr));
  }

  glob(pattern: string, path: string | undefined, limit: number) {
    const r = this.workspace.run(["--files", "-g", pattern, ...(path ? [path] : [])]);
    const files = fileLines(searchResult(r.code, r.stdout, r.stderr).text);
    return Promise.resolve({ files: files.slice(0, limit), truncated: files.length > limit });
  }

  changed(abs: string[]): Promise<void> {
    this.#refresh(abs);
    return Promise.resolve();
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.workspace.close();
  }

  #refresh(abs: string[]): void {
    this.workspace.refresh(abs);
    this.#sketch(); // new and changed files have none
  }

  /**
   * Builds the per-file sketches that let searches skip files, as the daemon
   * does: a slice at a time (about 15 ms each), mostly while the agent waits
   * for the model, so no tool call waits for all of it.
   */
  #sketch(): void {
    if (this.#sketching) return;
    this.#sketching = true;
    const slice = () => {
      const left = this.#closed ? 0 : this.workspace.buildSketches(SKETCH_SLICE_BYTES);
      if (left > 0) setTimeout(slice, 0);
      else this.#sketching = false;
    };
    setTimeout(slice, 0);
  }

  /**
   * Edits made by `run_shell_command` (or anyone else) are not announced,
   * so, like the daemon, follow the tree's file events.
   */
  #watch(): void {
    try {
      this.#watcher = Deno.watchFs(this.root, { recursive: true });
    } catch {
      return; // searches still see the agent's own edits, which are announced
    }
    const watcher = this.#watcher;
    (async () => {
      try {
        for await (const event of watcher) {
          const paths = event.paths.filter((p) => !p.includes("/.git/"));
          if (paths.length && !this.#closed) this.#refresh(paths);
        }
      } catch {
        // closed
      }
    })();
  }
}

/** Spawns `rg` for each search and reads files from disk: no state at all. */
export class RgBackend extends DiskReads implements ReadBackend {
  readonly kind = "rg";
  /** The environment for rg, without a config file that would add flags. */
  #env: Record<string, string>;

  constructor(root: string, readonly rgPath = "rg") {
    super(root);
    this.#env = Deno.env.toObject();
    delete this.#env.RIPGREP_CONFIG_PATH;
  }

  async #rg(args: string[]): Promise<SearchOutput> {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(this.rgPath, {
        args,
        cwd: this.root,
        clearEnv: true,
        env: this.#env,
        stdin: "null", // rg would search a piped stdin
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      throw new ToolError(`cannot run ${this.rgPath}: ${(err as Error).message}`);
    }
    return searchResult(out.code, out.stdout, decoder.decode(out.stderr));
  }

  // No --sort: rg searches with all its threads, as the agents that spawn it
  // do; the tools order what they show.
  grep(args: string[]): Promise<SearchOutput> {
    return this.#rg(args);
  }

  async glob(pattern: string, path: string | undefined, limit: number) {
    const { text } = await this.#rg(["--files", "-g", pattern, ...(path ? [path] : [])]);
    const files = fileLines(text).sort();
    return { files: files.slice(0, limit), truncated: files.length > limit };
  }

  changed(): Promise<void> {
    return Promise.resolve(); // every search reads the disk afresh
  }

  close(): void {}
}

/** The messages `DaemonClient` rejects with once its connection is gone. */
const CONNECTION_GONE = new Set([
  "connection is closed",
  "connection closed",
  "the daemon closed the connection",
]);

/** Whether `err` says the connection to the daemon is gone (rather than a request failing). */
function connectionLost(err: unknown): boolean {
  if (!(err instanceof DaemonError)) return true; // a write failed: broken pipe, reset
  return err.code === -32000 && CONNECTION_GONE.has(err.message);
}

/** A connection with the workspace opened on it. */
interface Session {
  client: DaemonClient;
  workspace: string | number;
}

/**
 * Connects to the daemon on `socket` and opens `root` (loaded unless another
 * client has), passing on the daemon's progress notifications while it loads.
 */
async function connectAndOpen(
  socket: string,
  root: string,
  onProgress?: LoadProgress,
): Promise<Session> {
  const client = await DaemonClient.connect(socket);
  let opening = true; // the open is this new connection's only request
  if (onProgress) {
    client.onNotification((n) => {
      if (opening && n.method === "progress") {
        onProgress({ files: Number(n.params.files), bytes: Number(n.params.bytes) });
      }
    });
  }
  try {
    const { workspace } = await client.request<{ workspace: string | number }>("open", { root });
    return { client, workspace };
  } catch (err) {
    client.close();
    throw err;
  } finally {
    opening = false;
  }
}

/**
 * Asks a running daemon, which holds the workspace for every agent using
 * it, for searches. Files and directories are read here: the agent runs as
 * its user, whose rights the daemon would read with too, and a round trip
 * to the daemon costs more than the read (0.7-0.9 ms against 0.2 ms for a
 * small file on a 2-vCPU machine).
 */
export class DaemonBackend extends DiskReads implements ReadBackend {
  readonly kind = "daemon";
  #session: Session;

  private constructor(readonly socket: string, root: string, session: Session) {
    super(root);
    this.#session = session;
  }

  /**
   * Opens `root` in the daemon listening on `socket`.
   * @param onProgress Called with the daemon's progress while it loads `root`.
   * @throws When no daemon listens there, or it cannot open the root.
   */
  static async open(
    socket: string,
    root: string,
    onProgress?: LoadProgress,
  ): Promise<DaemonBackend> {
    return new DaemonBackend(socket, root, await connectAndOpen(socket, root, onProgress));
  }

  /**
   * One request for this workspace; the daemon's errors become tool errors.
   * A daemon restarted under a running agent costs one reconnection, not
   * the rest of the session (every request is safe to send twice).
   */
  async #ask<T>(method: string, params: Record<string, unknown>): Promise<T> {
    for (let reconnected = false;; reconnected = true) {
      const { client, workspace } = this.#session;
      try {
        return await client.request<T>(method, { workspace, ...params });
      } catch (err) {
        if (!connectionLost(err)) {
          if (err instanceof DaemonError) throw new ToolError(err.message);
          throw err;
        }
        if (reconnected) {
          throw new ToolError(`lost the daemon on ${this.socket}: ${(err as Error).message}`);
        }
        client.close();
        try {
          this.#session = await connectAndOpen(this.socket, this.root);
        } catch (again) {
          throw new ToolError(
            `the daemon on ${this.socket} is gone (${(again as Error).message}); restart it, ` +
              `or use --backend local`,
          );
        }
      }
    }
  }

  async grep(args: string[]): Promise<SearchOutput> {
    const r = await this.#ask<{ stdout: string; stderr: string; code: number; truncated: boolean }>(
      "grep",
      { args, max_bytes: GREP_MAX_BYTES },
    );
    if (r.code === 2 && r.stdout === "") {
      throw new ToolError(r.stderr.trim() || "the search failed");
    }
    return { text: r.stdout, truncated: r.truncated };
  }

  glob(pattern: string, path: string | undefined, limit: number) {
    return this.#ask<{ files: string[]; truncated: boolean }>("glob", { pattern, path, limit });
  }

  async changed(abs: string[]): Promise<void> {
    await this.#ask("notify_changed", { paths: abs });
  }

  close(): void {
    this.#session.client.close();
  }
}

/** Whether `err` says nothing listens on a Unix socket. */
function noListener(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused;
}

/**
 * Opens the backend `choice` names for `root`. `auto` takes the daemon on
 * `socket` when one answers there, else loads the workspace in-process and
 * calls `notice` with a one-line explanation.
 * @param onProgress Told how the load goes (by the daemon or in-process).
 * @throws When the chosen daemon cannot be reached or cannot open `root`.
 */
export async function openBackend(
  choice: BackendChoice,
  root: string,
  socket: string,
  notice: (line: string) => void,
  onProgress?: LoadProgress,
): Promise<ReadBackend> {
  switch (choice) {
    case "rg":
      return new RgBackend(root);
    case "local":
      return await LocalBackend.open(root, onProgress);
    case "daemon":
      return await DaemonBackend.open(socket, root, onProgress);
    case "auto":
      try {
        return await DaemonBackend.open(socket, root, onProgress);
      } catch (err) {
        if (!noListener(err)) throw err;
        notice(`no curserve daemon on ${socket}: searching in-process`);
        return await LocalBackend.open(root, onProgress);
      }
  }
}
