/**
 * The tools as the model sees them: names, descriptions and JSON schemas
 * in qwen-code's names and shapes (the models served for coding agents are
 * tuned on these), and the limits the descriptions state.
 * @module
 */

/** A function tool as the chat-completions API describes one. */
export interface ToolSchema {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** Matches shown by one grep_search unless `limit` says otherwise. */
export const GREP_DEFAULT_LIMIT = 200;
/** Most matches one grep_search shows. */
export const GREP_MAX_LIMIT = 2000;
/** Longest line shown (grep and read_file); longer ones are cut. */
export const MAX_LINE_CHARS = 500;
/** Files one glob shows. */
export const GLOB_LIMIT = 500;
/** Lines one read_file shows unless `limit` says otherwise (also the most). */
export const READ_DEFAULT_LIMIT = 2000;
/** run_shell_command's default and longest time limits, and its output cap. */
export const SHELL_DEFAULT_TIMEOUT_MS = 120_000;
export const SHELL_MAX_TIMEOUT_MS = 600_000;
export const SHELL_OUTPUT_CAP = 30_000;

const fn = (
  name: string,
  description: string,
  properties: Record<string, unknown>,
  required: string[],
): ToolSchema => ({
  type: "function",
  function: { name, description, parameters: { type: "object", properties, required } },
});
const str = (description: string) => ({ type: "string", description });
const int = (description: string) => ({ type: "integer", description });

/** The tools offered to the model. */
export const TOOL_SCHEMAS: ToolSchema[] = [
  fn(
    "grep_search",
    "Searches file contents for a regular expression (ripgrep syntax, case-insensitive) " +
      "across the workspace, honoring .gitignore. Returns matching lines grouped by file, " +
      `each with its line number, at most ${GREP_DEFAULT_LIMIT} unless \`limit\` is set. ` +
      "Escape regex metacharacters to search for them literally (e.g. `foo\\(`).",
    {
      pattern: str("Regular expression to search for, e.g. `fn\\s+main` or `TODO`."),
      path: str("File or directory to search in (default: the whole workspace)."),
      glob: str("Only search files whose path matches this glob, e.g. `*.ts` or `src/**/*.rs`."),
      limit: int(`Most matching lines to show (default ${GREP_DEFAULT_LIMIT}).`),
    },
    ["pattern"],
  ),
  fn(
    "glob",
    "Finds files whose path matches a glob pattern (e.g. `**/*.py`, `src/**/test_*.ts`), " +
      "honoring .gitignore. Returns paths relative to the workspace, sorted.",
    {
      pattern: str("Glob pattern to match file paths against."),
      path: str("Directory to search in (default: the whole workspace)."),
    },
    ["pattern"],
  ),
  fn(
    "list_directory",
    "Lists the files and subdirectories directly inside a directory, directories first.",
    {
      path: str("Directory to list (absolute, or relative to the workspace)."),
      ignore: {
        type: "array",
        items: { type: "string" },
        description: "Glob patterns of names to leave out.",
      },
    },
    ["path"],
  ),
  fn(
    "read_file",
    "Reads a text file and returns its lines, each prefixed with its line number. " +
      `At most ${READ_DEFAULT_LIMIT} lines at a time; use offset and limit for large files.`,
    {
      file_path: str("File to read (absolute, or relative to the workspace)."),
      offset: int("0-based line number to start reading from."),
      limit: int("Number of lines to read."),
    },
    ["file_path"],
  ),
  fn(
    "edit",
    "Replaces exact text in a file. `old_string` must match the file exactly (whitespace " +
      "and indentation included) and occur once, unless `replace_all` is true. Include " +
      "enough surrounding lines to make it unique. An empty `old_string` creates a new file.",
    {
      file_path: str("File to change (absolute, or relative to the workspace)."),
      old_string: str("The exact text to replace."),
      new_string: str("The text to put in its place."),
      replace_all: { type: "boolean", description: "Replace every occurrence (default false)." },
    },
    ["file_path", "old_string", "new_string"],
  ),
  fn(
    "write_file",
    "Writes a whole file, creating it (and its directories) or replacing its contents.",
    {
      file_path: str("File to write (absolute, or relative to the workspace)."),
      content: str("The complete new contents."),
    },
    ["file_path", "content"],
  ),
  fn(
    "run_shell_command",
    "Runs a command with `bash -c` in the workspace directory and returns its exit code " +
      "and output (stdout and stderr together, about " +
      `${SHELL_OUTPUT_CAP / 1000} KB at most: the start and the end). Use it to build, run ` +
      "tests and inspect; use the other tools to search, read and edit files.",
    {
      command: str("The command line."),
      timeout: int(
        `Milliseconds before the command is killed (default ${SHELL_DEFAULT_TIMEOUT_MS}, ` +
          `at most ${SHELL_MAX_TIMEOUT_MS}).`,
      ),
    },
    ["command"],
  ),
];

/** The names of the tools, for checking what the model called. */
export const TOOL_NAMES: ReadonlySet<string> = new Set(TOOL_SCHEMAS.map((t) => t.function.name));

/** The tools that only read the workspace. */
export const READ_TOOL_NAMES: readonly string[] = [
  "grep_search",
  "glob",
  "list_directory",
  "read_file",
];
/** The tools that change files (and then tell the backend). */
export const WRITE_TOOL_NAMES: readonly string[] = ["edit", "write_file"];
