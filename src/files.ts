/**
 * File access for the read tools of the daemon and the agent: paths confined
 * to a workspace, line slices of a file, directory listings.
 * @module
 */
import { dirname, matchesGlob, resolve } from "node:path";

/** A window of a file's lines, as `read_file` returns it. */
export interface FileSlice {
  /** The lines, exactly as in the file (the last one may lack a newline). */
  content: string;
  /** Lines in the whole file. */
  total_lines: number;
  /** 1-based number of the first line returned. */
  start_line: number;
  /** More lines follow the window. */
  truncated: boolean;
}

/** The lines `offset .. offset+limit` (0-based offset) of a file's bytes;
 * only that window is decoded. */
export function sliceLines(bytes: Uint8Array, offset: number, limit: number): FileSlice {
  let lines = 0;
  let [from, to] = [bytes.length, bytes.length];
  for (let pos = 0; pos < bytes.length; lines++) {
    if (lines === offset) from = pos;
    const nl = bytes.indexOf(10, pos);
    pos = nl < 0 ? bytes.length : nl + 1;
    if (lines === offset + limit - 1) to = pos;
  }
  if (limit === 0) to = from;
  return {
    content: new TextDecoder().decode(bytes.subarray(Math.min(from, to), to)),
    total_lines: lines,
    start_line: offset + 1,
    truncated: offset + limit < lines,
  };
}

/** The real path of `path`, or of its nearest existing ancestor plus the rest. */
function realPathLoose(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) return path;
    return resolve(realPathLoose(parent), path.slice(parent.length + 1));
  }
}

/**
 * Resolves `path` (absolute, or relative to `root`) and checks it stays in
 * the workspace, following symbolic links.
 * @throws {RangeError} When it resolves outside `root`.
 */
export function confine(root: string, path: string): string {
  const abs = resolve(root, path);
  const real = realPathLoose(abs);
  if (real !== root && !real.startsWith(root + "/")) {
    throw new RangeError(`path is outside the workspace ${root}: ${path}`);
  }
  return abs;
}

/** A directory's entries sorted by name, without names matching `ignore`.
 * Synchronous: the daemon runs it with a user's rights, which hold only
 * for synchronous calls (src/daemon/credentials.ts). */
export function listDirectory(
  dir: string,
  ignore: string[] = [],
): { name: string; type: "file" | "dir" }[] {
  const entries: { name: string; type: "file" | "dir" }[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (ignore.some((glob) => matchesGlob(e.name, glob))) continue;
    entries.push({ name: e.name, type: e.isDirectory ? "dir" : "file" });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
