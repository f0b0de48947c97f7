/**
 * A search worker: hosts some workspaces (each in this worker's own
 * WebAssembly memory) and runs every operation on them, so the daemon's
 * socket loop never blocks on a load or a search.
 *
 * Messages in: `{id, op, params}`. Out: `{id, result}`, `{id, error}` or,
 * while loading, `{id, progress}`.
 * @module
 */
import { Workspace } from "../../mod.ts";
import { resolve } from "node:path";
import { parseArgs } from "../args.ts";
import { captureIO, runGrep } from "../cli.ts";
import { jsonMatches } from "../matches.ts";

/** What a worker reports back for one request. */
export type WorkerReply =
  | { id: number; result: unknown }
  | { id: number; error: { code: number; message: string } }
  | { id: number; progress: { files: number; bytes: number } };

/** A request to a worker. */
export interface WorkerRequest {
  id: number;
  op: string;
  params: Record<string, unknown>;
}

/** Raised for a request the worker cannot serve (reported as -32602). */
export class BadParams extends Error {}

const workspaces = new Map<string, Workspace>();
const decoder = new TextDecoder();

function workspace(key: unknown): Workspace {
  const ws = workspaces.get(String(key));
  if (!ws) throw new BadParams(`unknown workspace: ${key}`);
  return ws;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** Output as JSON can carry it: text, plus the exact bytes in base64 when
 * they are not valid UTF-8 (rg prints file bytes as they are). */
function output(bytes: Uint8Array): { stdout: string; stdout_base64?: string } {
  try {
    return { stdout: strict.decode(bytes) };
  } catch {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return { stdout: decoder.decode(bytes), stdout_base64: btoa(binary) };
  }
}

/** Cuts `bytes` at `max` bytes, at a line boundary when there is one. */
function capped(bytes: Uint8Array, max: number) {
  if (bytes.length <= max) return { ...output(bytes), truncated: false };
  const cut = bytes.subarray(0, max);
  const nl = cut.lastIndexOf(10);
  return { ...output(nl > 0 ? cut.subarray(0, nl + 1) : cut), truncated: true };
}

/** Bytes sketched per slice: ~100 ms of work between queued requests. */
const SKETCH_SLICE = 24 << 20;
const sketching = new Set<Workspace>();

/** Builds a workspace's sketches a slice at a time, letting requests that
 * arrive meanwhile run between slices (searches use whatever is built). */
function sketchInBackground(ws: Workspace): void {
  if (sketching.has(ws)) return;
  sketching.add(ws);
  const slice = () => {
    let left = 0;
    try {
      left = ws.buildSketches(SKETCH_SLICE);
    } catch {
      // closed meanwhile
    }
    if (left > 0) setTimeout(slice, 0);
    else sketching.delete(ws);
  };
  setTimeout(slice, 0);
}

type Op = (p: Record<string, unknown>, progress: (files: number, bytes: number) => void) => unknown;

const OPS: Record<string, Op> = {
  async open(p, progress) {
    const ws = await Workspace.open(String(p.root), {
      hidden: Boolean(p.hidden),
      noIgnore: Boolean(p.no_ignore),
      onProgress: (r) => progress(r.files, r.bytes),
    });
    workspaces.set(String(p.key), ws);
    sketchInBackground(ws);
    const s = ws.stats();
    return { files: s.files, bytes: s.bytes, load_ms: Math.round(s.loadMs) };
  },
  grep(p) {
    const r = workspace(p.key).run(p.args as string[], { cwd: p.cwd as string | undefined });
    return { ...capped(r.stdout, Number(p.max_bytes)), stderr: r.stderr, code: r.code };
  },
  matches(p) {
    const r = workspace(p.key).run(["--json", ...(p.args as string[])]);
    if (r.code === 2) throw new Error(r.stderr.trim());
    const { matches, truncated } = jsonMatches(r.stdout, Number(p.limit));
    // The protocol's field names are snake_case.
    return {
      matches: matches.map(({ lineNumber, ...m }) => ({ ...m, line_number: lineNumber })),
      truncated,
    };
  },
  glob(p) {
    const args = ["--files", "-g", String(p.pattern), ...(p.path ? [String(p.path)] : [])];
    const r = workspace(p.key).run(args);
    if (r.code === 2) throw new Error(r.stderr.trim());
    const files = decoder.decode(r.stdout).split("\n").filter((f) => f !== "");
    const limit = Number(p.limit);
    return { files: files.slice(0, limit), truncated: files.length > limit };
  },
  refresh(p) {
    const ws = workspace(p.key);
    const updated = ws.refresh(p.paths as string[]);
    sketchInBackground(ws);
    return { updated };
  },
  stats(p) {
    const ws = workspace(p.key);
    const s = ws.stats();
    // buildSketches(0) only counts what is left to sketch.
    return { files: s.files, bytes: s.bytes, unsketched: ws.buildSketches(0) };
  },
  close(p) {
    workspaces.get(String(p.key))?.close();
    workspaces.delete(String(p.key));
    return {};
  },
  /**
   * A whole `grep` command line run from `cwd`: through the workspace `key`
   * when it holds everything the command would search, else from disk.
   */
  cli(p) {
    const argv = p.argv as string[];
    const ws = p.key === undefined ? undefined : workspaces.get(String(p.key));
    if (ws && covers(ws, argv, String(p.cwd))) {
      const r = ws.run(argv, { cwd: String(p.cwd) });
      return { ...capped(r.stdout, Number(p.max_bytes)), stderr: r.stderr, code: r.code };
    }
    const out = captureIO(String(p.cwd));
    const code = runGrep(argv, out.io);
    return { ...capped(out.stdout(), Number(p.max_bytes)), stderr: out.stderr(), code };
  },
};

/** Whether a workspace (loaded with rg's default filters) holds all that
 * `argv`, run from `cwd`, would search. */
function covers(ws: Workspace, argv: string[], cwd: string): boolean {
  let args;
  try {
    args = parseArgs(argv);
  } catch {
    return true; // the workspace reports usage errors just as well
  }
  if (args.hidden || args.noIgnore) return false;
  return (args.paths.length ? args.paths : ["."]).every((path) => {
    const abs = resolve(cwd, path);
    if (abs !== ws.root && !abs.startsWith(ws.root + "/")) return false;
    try {
      // A named file must be one the walk kept (rg searches it regardless).
      return !Deno.statSync(abs).isFile || ws.readFile(abs) !== undefined;
    } catch {
      return true; // missing: reported the same either way
    }
  });
}

/** Runs one request and posts its reply; errors become error replies. */
async function handle({ id, op, params }: WorkerRequest): Promise<WorkerReply> {
  const progress = (files: number, bytes: number) =>
    scope.postMessage({ id, progress: { files, bytes } });
  try {
    const fn = OPS[op];
    if (!fn) throw new BadParams(`unknown operation: ${op}`);
    return { id, result: await fn(params, progress) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof BadParams || err instanceof TypeError ? -32602 : -32000;
    return { id, error: { code, message } };
  }
}

const scope = self as unknown as {
  onmessage: (e: MessageEvent<WorkerRequest>) => void;
  postMessage(message: WorkerReply): void;
};
scope.onmessage = async (e) => scope.postMessage(await handle(e.data));
// Messages posted before this module finished loading may be lost, so the
// pool waits for this before sending any.
scope.postMessage({ id: 0, result: "ready" });
