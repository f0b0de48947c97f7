/**
 * What each tool does (see `schemas.ts` for what the model is told):
 * arguments checked, paths confined, reads through the backend, writes to
 * disk and then announced. Results are compact text for the model; any
 * failure is a {@link ToolError} whose message the model reads.
 * @module
 */
import { dirname } from "node:path";
import type { ReadBackend } from "./backend.ts";
import { ToolError, type WorkspacePaths } from "./paths.ts";
import {
  GLOB_LIMIT,
  GREP_DEFAULT_LIMIT,
  GREP_MAX_LIMIT,
  MAX_LINE_CHARS,
  READ_DEFAULT_LIMIT,
  SHELL_DEFAULT_TIMEOUT_MS,
  SHELL_MAX_TIMEOUT_MS,
  SHELL_OUTPUT_CAP,
  TOOL_NAMES,
} from "./schemas.ts";
import { runShell } from "./shell.ts";

// --- arguments -----------------------------------------------------------------------

type Args = Record<string, unknown>;

/** The argument types the schemas use, with their checks and names for messages. */
const ARG_TYPES = {
  string: { is: (v: unknown) => typeof v === "string", name: "a string" },
  integer: {
    is: (v: unknown) => Number.isInteger(v) && (v as number) >= 0,
    name: "a whole number",
  },
  boolean: { is: (v: unknown) => typeof v === "boolean", name: "true or false" },
  "string[]": {
    is: (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string"),
    name: "an array of strings",
  },
};
type ArgType = keyof typeof ARG_TYPES;

/** Reads one argument, checking its type; `undefined`/`null` mean absent. */
function arg<T>(args: Args, key: string, type: ArgType, required: true): T;
function arg<T>(args: Args, key: string, type: ArgType, required?: false): T | undefined;
function arg(args: Args, key: string, type: ArgType, required = false): unknown {
  const v = args[key];
  if (v === undefined || v === null) {
    if (required) throw new ToolError(`missing required argument '${key}'`);
    return undefined;
  }
  if (!ARG_TYPES[type].is(v)) {
    throw new ToolError(
      `argument '${key}' must be ${ARG_TYPES[type].name}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Parses a tool call's arguments (a JSON object text, as the model wrote it).
 * @throws {ToolError} When it is not a JSON object.
 */
export function parseToolArgs(text: string): Args {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === "" ? "{}" : text);
  } catch (err) {
    throw new ToolError(
      `the arguments are not valid JSON (${(err as Error).message}); ` +
        `send one JSON object with the tool's parameters`,
    );
  }
  return argsObject(value);
}

/**
 * Checks that already-parsed arguments are one object (`undefined` is none).
 * @throws {ToolError} When they are anything else.
 */
export function argsObject(value: unknown): Args {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ToolError("the arguments must be a JSON object with the tool's parameters");
  }
  return value as Args;
}

// --- formatting -----------------------------------------------------------------------

const cut = (line: string) =>
  line.length > MAX_LINE_CHARS
    ? `${line.slice(0, MAX_LINE_CHARS)}… [line cut at ${MAX_LINE_CHARS} characters]`
    : line;

const plural = (n: number, one: string, many = one + "s") => `${n} ${n === 1 ? one : many}`;

/** rg's `path:line:text` lines grouped by file (files in path order), at most `limit` lines. */
export function formatMatches(
  text: string,
  limit: number,
  outputCut: boolean,
): { body: string; shown: number; total: number } {
  const groups = new Map<string, string[]>();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    total++;
    const m = /^(.*?):(\d+):(.*)$/.exec(line);
    const [file, shown] = m ? [m[1], `L${m[2]}: ${cut(m[3])}`] : ["", cut(line)];
    if (!groups.has(file)) groups.set(file, []);
    groups.get(file)!.push(shown);
  }
  const files = [...groups.keys()].sort();
  const out: string[] = [];
  let shown = 0;
  for (const file of files) {
    if (shown >= limit) break;
    const lines = groups.get(file)!.slice(0, limit - shown);
    shown += lines.length;
    out.push(file ? `File: ${file}` : "Other output:", ...lines, "---");
  }
  const more = total > shown || outputCut;
  const note = more
    ? `\n[Showing ${shown} of ${outputCut ? "more than " : ""}${total} matching lines (limit ` +
      `${limit}). Narrow the pattern, path or glob, or raise limit, to see the rest.]`
    : "";
  return { body: out.join("\n") + note, shown, total };
}

/** `content`'s lines numbered from `start` (1-based), `cat -n` style. */
function numbered(content: string, start: number): string {
  const lines = content.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((l, i) => `${String(start + i).padStart(6)}\t${cut(l)}`).join("\n");
}

// --- the tools ------------------------------------------------------------------------

/** What one tool call produced: the text for the model, and whether it failed. */
export interface ToolOutcome {
  ok: boolean;
  content: string;
}

/**
 * Runs the tools of one session against one workspace: the agent's, and the
 * MCP server's (which offers a subset of them).
 */
export class ToolBox {
  /**
   * @param paths Confines every path to the workspace.
   * @param backend Answers the read tools; told about every write.
   * @param signal Aborted on Ctrl-C (kills a running shell command).
   * @param tools The tools this session offers (the others are unknown to it).
   */
  constructor(
    readonly paths: WorkspacePaths,
    readonly backend: ReadBackend,
    readonly signal?: AbortSignal,
    readonly tools: ReadonlySet<string> = TOOL_NAMES,
  ) {}

  /**
   * Runs the tool `name` with the model's argument text. Never throws for
   * the model's mistakes or a tool's failure: those come back as
   * `{ ok: false, content: "Error: ..." }` for the model to read.
   */
  run(name: string, argsText: string): Promise<ToolOutcome> {
    return this.#outcome(name, () => parseToolArgs(argsText));
  }

  /** {@link run} with arguments already parsed (an object, as MCP sends them). */
  call(name: string, args: unknown): Promise<ToolOutcome> {
    return this.#outcome(name, () => argsObject(args));
  }

  async #outcome(name: string, args: () => Args): Promise<ToolOutcome> {
    try {
      if (!this.tools.has(name)) {
        throw new ToolError(`unknown tool '${name}'; the tools are ${[...this.tools].join(", ")}`);
      }
      return { ok: true, content: await this.#dispatch(name, args()) };
    } catch (err) {
      if (this.signal?.aborted) throw err;
      const message = err instanceof ToolError
        ? err.message
        : `${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`;
      return { ok: false, content: `Error: ${message}` };
    }
  }

  #dispatch(name: string, a: Args): Promise<string> {
    switch (name) {
      case "grep_search":
        return this.grep(
          arg<string>(a, "pattern", "string", true),
          arg(a, "path", "string"),
          arg(a, "glob", "string"),
          arg(a, "limit", "integer"),
        );
      case "glob":
        return this.glob(arg<string>(a, "pattern", "string", true), arg(a, "path", "string"));
      case "list_directory":
        return this.listDirectory(
          arg<string>(a, "path", "string", true),
          arg(a, "ignore", "string[]"),
        );
      case "read_file":
        return this.readFile(
          arg<string>(a, "file_path", "string", true),
          arg(a, "offset", "integer"),
          arg(a, "limit", "integer"),
        );
      case "edit":
        return this.edit(
          arg<string>(a, "file_path", "string", true),
          arg<string>(a, "old_string", "string", true),
          arg<string>(a, "new_string", "string", true),
          arg(a, "replace_all", "boolean") ?? false,
        );
      case "write_file":
        return this.writeFile(
          arg<string>(a, "file_path", "string", true),
          arg<string>(a, "content", "string", true),
        );
      default: // run_shell_command (names were checked)
        return this.shell(arg<string>(a, "command", "string", true), arg(a, "timeout", "integer"));
    }
  }

  /** `rg -i -n -H --no-heading [-g GLOB] -e PATTERN [PATH]`, grouped by file. */
  async grep(pattern: string, path?: string, glob?: string, limit?: number): Promise<string> {
    const where = path === undefined ? undefined : this.paths.resolve(path).rel;
    const args = ["-i", "-n", "-H", "--no-heading"];
    if (glob) args.push("-g", glob);
    args.push("-e", pattern);
    if (where !== undefined) args.push(where);
    const max = Math.min(Math.max(limit ?? GREP_DEFAULT_LIMIT, 1), GREP_MAX_LIMIT);
    const out = await this.backend.grep(args);
    const scope = `in ${where ?? "the workspace"}${glob ? ` (files matching "${glob}")` : ""}`;
    if (out.text === "") return `No matches for pattern "${pattern}" ${scope}.`;
    const { body, total } = formatMatches(out.text, max, out.truncated);
    const count = `${out.truncated ? "more than " : ""}${plural(total, "matching line")}`;
    return `Found ${count} for pattern "${pattern}" ${scope}:\n---\n${body}`;
  }

  /** Files matching a glob, in path order. */
  async glob(pattern: string, path?: string): Promise<string> {
    const where = path === undefined ? undefined : this.paths.resolve(path).rel;
    const { files, truncated } = await this.backend.glob(pattern, where, GLOB_LIMIT);
    const scope = `in ${where ?? "the workspace"}`;
    if (files.length === 0) return `No files matching "${pattern}" ${scope}.`;
    const note = truncated
      ? `\n[Showing the first ${GLOB_LIMIT}; narrow the pattern or path to see the rest.]`
      : "";
    return `Found ${truncated ? "more than " : ""}${plural(files.length, "file")} matching ` +
      `"${pattern}" ${scope}:\n${files.join("\n")}${note}`;
  }

  /** A directory's entries, directories first. */
  async listDirectory(path: string, ignore: string[] = []): Promise<string> {
    const { abs, rel } = this.paths.resolve(path);
    const entries = await this.backend.listDirectory(abs, ignore);
    if (entries.length === 0) return `Directory ${rel} is empty.`;
    const dirs = entries.filter((e) => e.type === "dir").map((e) => `[DIR] ${e.name}`);
    const files = entries.filter((e) => e.type !== "dir").map((e) => e.name);
    return `Directory listing for ${rel}:\n${[...dirs, ...files].join("\n")}`;
  }

  /** A window of a file's lines, numbered. */
  async readFile(path: string, offset = 0, limit = READ_DEFAULT_LIMIT): Promise<string> {
    const { abs, rel } = this.paths.resolve(path);
    const count = Math.min(Math.max(limit, 1), READ_DEFAULT_LIMIT);
    const slice = await this.backend.readFile(abs, offset, count);
    if (slice.content.includes("\0")) return `${rel} is a binary file; not shown.`;
    if (slice.total_lines === 0) return `${rel} is empty.`;
    if (offset >= slice.total_lines) {
      throw new ToolError(
        `offset ${offset} is past the end of ${rel} (${slice.total_lines} lines)`,
      );
    }
    const last = slice.start_line + lineCount(slice.content) - 1;
    const partial = offset > 0 || slice.truncated;
    const header = partial
      ? `[${rel}: lines ${slice.start_line}-${last} of ${slice.total_lines}` +
        (slice.truncated ? `; read more with offset ${last}` : "") + "]\n"
      : "";
    return header + numbered(slice.content, slice.start_line);
  }

  /** Replaces `oldString` (once, or everywhere) and tells the backend. */
  async edit(path: string, oldString: string, newString: string, all: boolean): Promise<string> {
    const { abs, rel } = this.paths.resolve(path);
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(abs);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new ToolError(`cannot read ${rel}: ${(err as Error).message}`);
      }
    }
    if (text === undefined) {
      if (oldString !== "") {
        throw new ToolError(
          `${rel} does not exist; to create it, use write_file (or edit with an empty old_string)`,
        );
      }
      await this.#write(abs, newString);
      return `Created ${rel} (${plural(lineCount(newString), "line")}).`;
    }
    if (oldString === "") {
      throw new ToolError(`${rel} already exists; an empty old_string only creates new files`);
    }
    if (oldString === newString) {
      throw new ToolError("old_string and new_string are the same; nothing would change");
    }
    const parts = text.split(oldString);
    const found = parts.length - 1;
    if (found === 0) {
      throw new ToolError(
        `old_string was not found in ${rel}; read the file and copy the exact text ` +
          `(whitespace and indentation included)`,
      );
    }
    if (found > 1 && !all) {
      throw new ToolError(
        `old_string occurs ${found} times in ${rel}; include more surrounding lines to ` +
          `make it unique, or set replace_all to replace every occurrence`,
      );
    }
    // split/join, not String.replace: "$&" and friends in new_string stay literal.
    const line = parts[0].split("\n").length;
    const updated = all
      ? parts.join(newString)
      : parts[0] + newString + parts.slice(1).join(oldString);
    await this.#write(abs, updated);
    return `Edited ${rel}: replaced ${plural(all ? found : 1, "occurrence")} ` +
      `(first at line ${line}).`;
  }

  /** Writes a whole file and tells the backend. */
  async writeFile(path: string, content: string): Promise<string> {
    const { abs, rel } = this.paths.resolve(path);
    let existed = true;
    try {
      if ((await Deno.stat(abs)).isDirectory) throw new ToolError(`${rel} is a directory`);
    } catch (err) {
      if (err instanceof ToolError) throw err;
      existed = false;
    }
    await this.#write(abs, content);
    return `${existed ? "Overwrote" : "Created"} ${rel} (${plural(lineCount(content), "line")}).`;
  }

  async #write(abs: string, content: string): Promise<void> {
    try {
      await Deno.mkdir(dirname(abs), { recursive: true });
      await Deno.writeTextFile(abs, content);
    } catch (err) {
      throw new ToolError(`cannot write ${this.paths.display(abs)}: ${(err as Error).message}`);
    }
    await this.backend.changed([abs]); // so the very next search sees the change
  }

  /** Runs a shell command in the workspace. */
  async shell(command: string, timeout?: number): Promise<string> {
    const ms = Math.min(Math.max(timeout ?? SHELL_DEFAULT_TIMEOUT_MS, 1), SHELL_MAX_TIMEOUT_MS);
    let r;
    try {
      r = await runShell(command, this.paths.root, ms, SHELL_OUTPUT_CAP, this.signal);
    } catch (err) {
      throw new ToolError(`cannot run the command: ${(err as Error).message}`);
    }
    if (r.timedOut) {
      throw new ToolError(
        `the command ran past its ${ms} ms limit and was killed; output:\n${r.output || "(none)"}`,
      );
    }
    const capped = r.bytes > SHELL_OUTPUT_CAP
      ? ` (${r.bytes} bytes, cut to the start and end)`
      : "";
    return `Exit code: ${r.code}\nOutput${capped}:\n${r.output === "" ? "(none)" : r.output}`;
  }
}

/** Lines in `text` (a last line without a newline counts). */
function lineCount(text: string): number {
  if (text === "") return 0;
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return text.endsWith("\n") ? n : n + 1;
}
