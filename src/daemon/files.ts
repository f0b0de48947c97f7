/**
 * File access for the daemon's read tools: paths confined to a workspace,
 * line slices of a file, directory listings.
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

/** The lines `offset .. offset+limit` (0-based offset) of `text`. */
export function sliceLines(text: string, offset: number, limit: number): FileSlice {
  const lines = text.split(/(?<=\n)/);
  if (lines.at(-1) === "") lines.pop();
  const end = Math.min(lines.length, offset + limit);
  return {
    content: lines.slice(offset, end).join(""),
    total_lines: lines.length,
    start_line: offset + 1,
    truncated: end < lines.length,
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

/** A directory's entries sorted by name, without names matching `ignore`. */
export async function listDirectory(
  dir: string,
  ignore: string[] = [],
): Promise<{ name: string; type: "file" | "dir" }[]> {
  const entries: { name: string; type: "file" | "dir" }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (ignore.some((glob) => matchesGlob(e.name, glob))) continue;
    entries.push({ name: e.name, type: e.isDirectory ? "dir" : "file" });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
