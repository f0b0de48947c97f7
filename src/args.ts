/**
 * Parses ripgrep's command line (the subset curserve supports) the way
 * ripgrep 13 does: short flags combine (`-in`, `-A2`), values attach or
 * follow (`-m1`, `-m 1`, `--max-count=1`), the last of conflicting flags
 * wins (`-i`/`-s`/`-S`, `-n`/`-N`, `-w`/`-x`, `-H`/`-I`), and `--` ends
 * flags.
 * @module
 */
import { VERSION } from "./request.ts";
import { osErrorText } from "./output.ts";

export type CaseMode = "sensitive" | "insensitive" | "smart";

/** A parsed `grep` command line. */
export interface GrepArgs {
  patterns: string[];
  paths: string[];
  fixedStrings: boolean;
  caseMode: CaseMode;
  word: boolean;
  lineRegexp: boolean;
  invert: boolean;
  /** `-n` / `-N`; undefined means the default (off when not a tty). */
  lineNumber?: boolean;
  /** `-H` / `-I`; undefined means rg's default for the paths given. */
  withFilename?: boolean;
  count: boolean;
  countMatches: boolean;
  filesWithMatches: boolean;
  filesWithoutMatch: boolean;
  maxCount?: number;
  after: number;
  before: number;
  context: number;
  onlyMatching: boolean;
  globs: string[];
  iglobs: string[];
  types: string[];
  typesNot: string[];
  hidden: boolean;
  noIgnore: boolean;
  multiline: boolean;
  /** `--no-ignore-vcs`: skip `.gitignore` and `.git/info/exclude`. */
  noIgnoreVcs: boolean;
  /** `--no-ignore-exclude`: skip `.git/info/exclude`. */
  noIgnoreExclude: boolean;
  /** `--no-ignore-dot`: skip `.ignore` and `.rgignore`. */
  noIgnoreDot: boolean;
  /** `--no-ignore-parent`: skip ignore files of the roots' parents. */
  noIgnoreParent: boolean;
  /** `--ignore-file`: more ignore files (paths relative to the cwd),
   * below every other ignore file in precedence. */
  ignoreFiles: string[];
  /** `--no-ignore-files`: disregard every `--ignore-file`. */
  noIgnoreFiles: boolean;
  /** `--no-messages`: no messages about files that could not be read. */
  noMessages: boolean;
  /** `-f/--file`: files of patterns, one per line (read by
   * {@link loadPatternFiles}). */
  patternFiles: string[];
  /** `--no-require-git`: `.gitignore` applies outside git repositories. */
  noRequireGit: boolean;
  /** `--max-depth`: how deep below a root the walk goes. */
  maxDepth?: number;
  /** `--max-filesize` in bytes: larger walked files are skipped. */
  maxFilesize?: number;
  /** `--regex-size-limit` and `--dfa-size-limit`, in bytes. */
  regexSizeLimit?: number;
  dfaSizeLimit?: number;
  /** `--multiline-dotall`: with `-U`, `.` matches a line end. */
  multilineDotall: boolean;
  json: boolean;
  files: boolean;
  quiet: boolean;
  /** Route the search through a running daemon at this socket. */
  daemon?: string;
  help: boolean;
  version: boolean;
  /** `-V` (one line) rather than `--version`. */
  shortVersion: boolean;
  /** A flag only the real rg can answer (`--pcre2`, `--pre`, `-z`,
   * `-E`, ...): the whole command runs as rg. The first of {@link rgOnly}
   * once parsed. */
  fallback?: string;
  /** The rg-only flags in force while parsing, by name, each with how the
   * fallback names it: a later negation (`--no-crlf`, `--sort path`)
   * takes its flag out. */
  rgOnly: Map<string, string>;
  /** rg walks with one thread (`--sort` other than `none`,
   * `--sort-files`, `-j 1`), which words some errors differently. */
  oneThread: boolean;
  /** The last `--sort`, `--sort-files` and `-j` given (see {@link oneThread}). */
  sortBy?: string;
  sortFiles?: boolean;
  threads?: number;
  /** How many `-u` were given. */
  unrestricted?: number;
  /** `--glob-case-insensitive`: every `-g` as if `--iglob`. */
  globCaseInsensitive?: boolean;
  /** `--null`/`-0`: a NUL after each printed path. */
  nullPath?: boolean;
  /** `--column`: the first match's column on matching lines. */
  column?: boolean;
  /** `-b/--byte-offset`. */
  byteOffset?: boolean;
  /** `--trim`: leading white space left off printed lines. */
  trim?: boolean;
  /** `--include-zero`: `-c` lists files without matches too. */
  includeZero?: boolean;
  /** `--context-separator` (unescaped), or null for
   * `--no-context-separator`. */
  contextSeparator?: string | null;
  /** `--field-match-separator` (unescaped). */
  fieldMatch?: string;
  /** `--field-context-separator` (unescaped). */
  fieldContext?: string;
  /** `--path-separator` other than `/`. */
  pathSeparator?: string;
  /** `--heading`: paths above their files' lines. */
  heading?: boolean;
  /** `--vimgrep`: a line per match, with path, line and column. */
  vimgrep?: boolean;
  /** `-M/--max-columns` (0: no limit). */
  maxColumns?: number;
  /** `--type-add` definitions, in order. */
  typeAdd: string[];
  /** `--type-clear` names, in order. */
  typeClear: string[];
  /** `--type-list`: print the type table and stop. */
  typeList?: boolean;
  /** `-a/--text`: search binary files as text. */
  text?: boolean;
}

/** What `-V` (one line) or `--version` prints: rg's first line, so that
 * agents checking for ripgrep accept it, then what this is. */
export function versionText(short: boolean): string {
  const first = `ripgrep 13.0.0 (curserve ${VERSION})\n`;
  return short ? first : first +
    "curserve: ripgrep 13's output, searched from files held in WebAssembly memory\n";
}

/** The patterns the core compiles for these flags. */
export function searchPatterns(a: GrepArgs): string[] {
  // rg sets the flag on the whole regex; the core joins patterns with `|`,
  // so one `(?s)` before each covers it all.
  const dotall = a.multiline && a.multilineDotall && !a.fixedStrings;
  return dotall ? a.patterns.map((p) => "(?s)" + p) : a.patterns;
}

/**
 * Adds the patterns of each `-f` file (one per line, relative to `cwd`) to
 * `a.patterns`, once.
 * @returns rg's message for a file that cannot be read, else undefined.
 */
export function loadPatternFiles(a: GrepArgs, cwd: string): string | undefined {
  for (const path of a.patternFiles) {
    let text: string;
    try {
      text = Deno.readTextFileSync(path.startsWith("/") ? path : `${cwd}/${path}`);
    } catch (err) {
      const reason = err instanceof Deno.errors.NotFound
        ? "No such file or directory (os error 2)"
        : (err as Error).message;
      return `${path}: ${reason}`;
    }
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    a.patterns.push(...lines.map((l) => l.replace(/\r$/, "")));
  }
  a.patternFiles = [];
  // No pattern at all (empty files): rg searches nothing, as with -m 0.
  if (a.patterns.length === 0) a.maxCount = 0;
  return undefined;
}

/**
 * The command line with rg's config file in front: the file named by
 * `RIPGREP_CONFIG_PATH` holds one argument per line (blank lines and `#`
 * comments skipped), unless `--no-config` is given.
 * @returns The arguments, and rg's message when the file cannot be read.
 */
export function withConfigArgs(
  argv: string[],
  configPath: string | undefined,
): { argv: string[]; error?: string } {
  if (!configPath || argv.includes("--no-config")) return { argv };
  let text: string;
  try {
    text = Deno.readTextFileSync(configPath);
  } catch (err) {
    return { argv, error: `${configPath}: ${osErrorText(err)}` };
  }
  const config = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  return { argv: [...config, ...argv] };
}

/** A command-line error: printed with usage, exit status 2. */
export class UsageError extends Error {}
/** A bad value that rg itself (not its argument parser) rejects: printed
 * alone, without the usage lines. */
export class ValueError extends UsageError {}

type Setter = (a: GrepArgs, value: string) => void;
interface FlagSpec {
  long: string;
  short?: string;
  /** Takes a value when set. */
  value?: Setter;
  /** A switch when set. */
  on?: (a: GrepArgs) => void;
}

function number(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) {
    // clap's wording, then a blank line and no usage.
    throw new ValueError(
      `error: Invalid value for '--${flag} <NUM>': invalid digit found in string\n`,
    );
  }
  return Number(text);
}

const FLAGS: FlagSpec[] = [
  { long: "regexp", short: "e", value: (a, v) => a.patterns.push(v) },
  { long: "fixed-strings", short: "F", on: (a) => (a.fixedStrings = true) },
  { long: "no-fixed-strings", on: (a) => (a.fixedStrings = false) },
  { long: "ignore-case", short: "i", on: (a) => (a.caseMode = "insensitive") },
  { long: "smart-case", short: "S", on: (a) => (a.caseMode = "smart") },
  { long: "case-sensitive", short: "s", on: (a) => (a.caseMode = "sensitive") },
  { long: "word-regexp", short: "w", on: (a) => ((a.word = true), (a.lineRegexp = false)) },
  { long: "line-regexp", short: "x", on: (a) => ((a.lineRegexp = true), (a.word = false)) },
  { long: "invert-match", short: "v", on: (a) => (a.invert = true) },
  { long: "line-number", short: "n", on: (a) => (a.lineNumber = true) },
  { long: "no-line-number", short: "N", on: (a) => (a.lineNumber = false) },
  { long: "with-filename", short: "H", on: (a) => (a.withFilename = true) },
  { long: "no-filename", short: "I", on: (a) => (a.withFilename = false) },
  { long: "count", short: "c", on: (a) => (a.count = true) },
  { long: "count-matches", on: (a) => (a.countMatches = true) },
  // Each overrides the other: the last one given counts.
  {
    long: "files-with-matches",
    short: "l",
    on: (a) => ((a.filesWithMatches = true), (a.filesWithoutMatch = false)),
  },
  {
    long: "files-without-match",
    on: (a) => ((a.filesWithoutMatch = true), (a.filesWithMatches = false)),
  },
  { long: "max-count", short: "m", value: (a, v) => (a.maxCount = number("max-count", v)) },
  // A later -A or -B cancels an earlier -C entirely (clap overrides in rg 13).
  {
    long: "after-context",
    short: "A",
    value: (a, v) => ((a.after = number("after-context", v)), (a.context = 0)),
  },
  {
    long: "before-context",
    short: "B",
    value: (a, v) => ((a.before = number("before-context", v)), (a.context = 0)),
  },
  { long: "context", short: "C", value: (a, v) => (a.context = number("context", v)) },
  { long: "only-matching", short: "o", on: (a) => (a.onlyMatching = true) },
  { long: "glob", short: "g", value: (a, v) => a.globs.push(v) },
  { long: "iglob", value: (a, v) => a.iglobs.push(v) },
  { long: "type", short: "t", value: (a, v) => a.types.push(v) },
  { long: "type-not", short: "T", value: (a, v) => a.typesNot.push(v) },
  { long: "hidden", on: (a) => (a.hidden = true) },
  { long: "no-hidden", on: (a) => (a.hidden = false) },
  { long: "no-ignore", on: (a) => (a.noIgnore = true) },
  { long: "ignore", on: (a) => (a.noIgnore = false) },
  { long: "no-ignore-vcs", on: (a) => (a.noIgnoreVcs = true) },
  { long: "ignore-vcs", on: (a) => (a.noIgnoreVcs = false) },
  { long: "no-ignore-exclude", on: (a) => (a.noIgnoreExclude = true) },
  { long: "ignore-exclude", on: (a) => (a.noIgnoreExclude = false) },
  { long: "no-ignore-dot", on: (a) => (a.noIgnoreDot = true) },
  { long: "ignore-dot", on: (a) => (a.noIgnoreDot = false) },
  { long: "no-ignore-parent", on: (a) => (a.noIgnoreParent = true) },
  { long: "ignore-parent", on: (a) => (a.noIgnoreParent = false) },
  { long: "ignore-file", value: (a, v) => a.ignoreFiles.push(v) },
  { long: "no-ignore-files", on: (a) => (a.noIgnoreFiles = true) },
  { long: "ignore-files", on: (a) => (a.noIgnoreFiles = false) },
  // curserve has no global git excludes file to skip, nor warnings about
  // ignore files to silence.
  { long: "no-ignore-global", on: () => {} },
  { long: "ignore-global", on: () => {} },
  { long: "no-ignore-messages", on: () => {} },
  { long: "ignore-messages", on: () => {} },
  {
    long: "unrestricted",
    short: "u",
    // -u: --no-ignore; -uu: and --hidden; -uuu: and --binary.
    on: (a) => {
      a.unrestricted = (a.unrestricted ?? 0) + 1;
      if (a.unrestricted === 1) a.noIgnore = true;
      else if (a.unrestricted === 2) a.hidden = true;
      else needRg(a, "binary", "-uuu");
    },
  },
  { long: "multiline", short: "U", on: (a) => (a.multiline = true) },
  { long: "no-multiline", on: (a) => (a.multiline = false) },
  { long: "json", on: (a) => (a.json = true) },
  { long: "no-json", on: (a) => (a.json = false) },
  { long: "files", on: (a) => (a.files = true) },
  { long: "quiet", short: "q", on: (a) => (a.quiet = true) },
  { long: "daemon", value: (a, v) => (a.daemon = v) },
  { long: "help", short: "h", on: (a) => (a.help = true) },
  { long: "version", on: (a) => (a.version = true) },
  { long: "", short: "V", on: (a) => ((a.version = true), (a.shortVersion = true)) },
  // Accepted: curserve's output is sorted by path and never colored (the
  // shims leave a terminal, where rg colors, to the real rg); other orders
  // and colors are the real rg's.
  { long: "sort", value: (a, v) => checkSort(a, v) },
  { long: "color", value: (a, v) => checkColor(a, v) },
  { long: "no-heading", on: (a) => (a.heading = false) },
  { long: "heading", on: (a) => (a.heading = true) },
  { long: "vimgrep", on: (a) => (a.vimgrep = true) },
  { long: "text", short: "a", on: (a) => (a.text = true) },
  { long: "no-text", on: (a) => (a.text = false) },
  { long: "type-add", value: (a, v) => a.typeAdd.push(v) },
  { long: "type-clear", value: (a, v) => a.typeClear.push(v) },
  { long: "type-list", on: (a) => (a.typeList = true) },
  { long: "max-columns", short: "M", value: (a, v) => (a.maxColumns = number("max-columns", v)) },
  { long: "sort-files", on: (a) => (a.sortFiles = true) },
  { long: "no-sort-files", on: (a) => (a.sortFiles = false) },
  { long: "no-config", on: () => {} },
  { long: "no-messages", on: (a) => (a.noMessages = true) },
  { long: "messages", on: (a) => (a.noMessages = false) },
  { long: "threads", short: "j", value: (a, v) => void (a.threads = number("threads", v)) },
  // How files are read and how output is buffered change no bytes.
  { long: "mmap", on: () => {} },
  { long: "no-mmap", on: () => {} },
  { long: "line-buffered", on: () => {} },
  { long: "no-line-buffered", on: () => {} },
  { long: "block-buffered", on: () => {} },
  { long: "no-block-buffered", on: () => {} },
  { long: "path-separator", value: (a, v) => checkPathSeparator(a, v) },
  { long: "null", short: "0", on: (a) => (a.nullPath = true) },
  { long: "column", on: (a) => (a.column = true) },
  { long: "no-column", on: (a) => (a.column = false) },
  { long: "byte-offset", short: "b", on: (a) => (a.byteOffset = true) },
  { long: "no-byte-offset", on: (a) => (a.byteOffset = false) },
  { long: "trim", on: (a) => (a.trim = true) },
  { long: "no-trim", on: (a) => (a.trim = false) },
  { long: "include-zero", on: (a) => (a.includeZero = true) },
  { long: "no-include-zero", on: (a) => (a.includeZero = false) },
  { long: "context-separator", value: (a, v) => (a.contextSeparator = unescape(v)) },
  { long: "no-context-separator", on: (a) => (a.contextSeparator = null) },
  { long: "field-match-separator", value: (a, v) => (a.fieldMatch = unescape(v)) },
  { long: "field-context-separator", value: (a, v) => (a.fieldContext = unescape(v)) },
  {
    long: "file",
    short: "f",
    // Patterns from standard input: the real rg reads them.
    value: (a, v) => v === "-" ? needRg(a, "file -", "-f -") : a.patternFiles.push(v),
  },
  { long: "no-require-git", on: (a) => (a.noRequireGit = true) },
  { long: "require-git", on: (a) => (a.noRequireGit = false) },
  { long: "max-depth", value: (a, v) => (a.maxDepth = number("max-depth", v)) },
  { long: "max-filesize", value: (a, v) => (a.maxFilesize = regexSize(v)) },
  { long: "regex-size-limit", value: (a, v) => (a.regexSizeLimit = regexSize(v)) },
  { long: "dfa-size-limit", value: (a, v) => (a.dfaSizeLimit = regexSize(v)) },
  { long: "multiline-dotall", on: (a) => (a.multilineDotall = true) },
  { long: "no-multiline-dotall", on: (a) => (a.multilineDotall = false) },
  { long: "glob-case-insensitive", on: (a) => (a.globCaseInsensitive = true) },
  { long: "no-glob-case-insensitive", on: (a) => (a.globCaseInsensitive = false) },
  // Orders other than by path are the real rg's (curserve keeps path order).
  { long: "sortr", value: (a, v) => needRg(a, "sortr", `--sortr ${v}`) },
  // Only the real rg answers these (see src/fallback.ts).
  { long: "pcre2", short: "P", on: (a) => needRg(a, "pcre2") },
  { long: "no-pcre2", on: (a) => a.rgOnly.delete("pcre2") },
  { long: "pcre2-version", on: (a) => needRg(a, "pcre2-version") },
  { long: "pre", value: (a) => needRg(a, "pre") },
  { long: "no-pre", on: (a) => a.rgOnly.delete("pre") },
  { long: "pre-glob", value: (a) => needRg(a, "pre-glob") },
  { long: "search-zip", short: "z", on: (a) => needRg(a, "search-zip") },
  { long: "no-search-zip", on: (a) => a.rgOnly.delete("search-zip") },
  // Even -E utf-8 changes how rg treats a BOM: the real rg answers.
  { long: "encoding", short: "E", value: (a) => needRg(a, "encoding") },
  { long: "no-encoding", on: (a) => a.rgOnly.delete("encoding") },
  {
    long: "engine",
    value: (a, v) => v === "default" ? a.rgOnly.delete("engine") : needRg(a, "engine"),
  },
];

/** Marks the rg-only flag `name` as in force; `why` names it in the
 * fallback (default `--name`). */
function needRg(a: GrepArgs, name: string, why = `--${name}`): void {
  a.rgOnly.delete(name); // the latest spelling, in the order given
  a.rgOnly.set(name, why);
}

/** rg flags the engine does not implement, with whether each takes a
 * value: the real rg answers a command with any of them, exactly (see
 * src/fallback.ts; without rg, a clear error naming the flag). */
const RG_ONLY: [string, boolean, string?][] = [
  // (rg reads walked files in buffers, turning NULs into line ends: the
  // core searches whole files)
  ["binary", false],
  ["auto-hybrid-regex", false],
  ["colors", true],
  ["crlf", false],
  ["debug", false],
  ["trace", false],
  ["follow", false, "L"],
  ["ignore-file-case-insensitive", false],
  ["max-columns-preview", false],
  ["no-unicode", false],
  ["no-pcre2-unicode", false],
  ["null-data", false],
  ["one-file-system", false],
  ["passthru", false],
  ["pretty", false, "p"],
  ["replace", true, "r"],
  ["stats", false],
];
for (const [long, takesValue, short] of RG_ONLY) {
  const flag = short ? `-${short}/--${long}` : `--${long}`;
  FLAGS.push(
    takesValue
      ? { long, short, value: (a) => needRg(a, long, flag) }
      : { long, short, on: (a) => needRg(a, long, flag) },
  );
}
/** rg 13's hidden negations of rg-only flags (`--unicode` undoes
 * `--no-unicode`): the flag no longer needs the real rg. */
const RG_ONLY_NEGATIONS: [string, string][] = [
  ["no-binary", "binary"],
  ["no-auto-hybrid-regex", "auto-hybrid-regex"],
  ["no-crlf", "crlf"],
  ["no-follow", "follow"],
  ["no-ignore-file-case-insensitive", "ignore-file-case-insensitive"],
  ["no-max-columns-preview", "max-columns-preview"],
  ["unicode", "no-unicode"],
  ["pcre2-unicode", "no-pcre2-unicode"],
  ["no-one-file-system", "one-file-system"],
  ["no-stats", "stats"],
];
for (const [long, negated] of RG_ONLY_NEGATIONS) {
  FLAGS.push({ long, on: (a) => void a.rgOnly.delete(negated) });
}

function checkPathSeparator(a: GrepArgs, sep: string): void {
  const bytes = new TextEncoder().encode(sep).length;
  if (bytes !== 1) {
    throw new ValueError(
      `A path separator must be exactly one byte, but the given separator is ${bytes} bytes: ` +
        `${sep}\nIn some shells on Windows '/' is automatically expanded. Use '//' instead.`,
    );
  }
  a.pathSeparator = sep === "/" ? undefined : sep;
}

/** rg's escapes in separator arguments (backslash n, t, r, 0, xHH and a
 * doubled backslash; any other backslash stays). Returns a binary string
 * (one char per byte), as the core takes separators as bytes. */
function unescape(text: string): string {
  const utf8 = String.fromCharCode(...new TextEncoder().encode(text));
  return utf8.replace(/\\(x[0-9A-Fa-f]{2}|[ntr0\\])/g, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ n: "\n", t: "\t", r: "\r", "0": "\0", "\\": "\\" } as Record<string, string>)[e];
  });
}

function checkSort(a: GrepArgs, v: string): void {
  a.sortBy = v;
  if (v === "path" || v === "none") return void a.rgOnly.delete("sort");
  if (!["modified", "accessed", "created"].includes(v)) {
    throw new UsageError(
      `error: '${v}' isn't a valid value for '--sort <SORTBY>'\n` +
        "\t[possible values: accessed, created, modified, none, path]",
    );
  }
  needRg(a, "sort", `--sort ${v}`);
}

function checkColor(a: GrepArgs, v: string): void {
  if (v === "never" || v === "auto") return void a.rgOnly.delete("color");
  if (v !== "always" && v !== "ansi") {
    throw new UsageError(
      `error: '${v}' isn't a valid value for '--color <WHEN>'\n` +
        "\t[possible values: always, ansi, auto, never]",
    );
  }
  needRg(a, "color", `--color ${v}`);
}


/** rg's `NUM+SUFFIX?` sizes (K, M, G: powers of 1024) for the regex limits
 * and --max-filesize, with its own messages (not clap's). */
function regexSize(text: string): number {
  const m = /^(\d+)([KMG])?$/.exec(text);
  if (!m) {
    throw new ValueError(
      `invalid format for size '${text}', which should be a sequence of digits ` +
        "followed by an optional 'K', 'M' or 'G' suffix",
    );
  }
  const digits = BigInt(m[1]);
  if (digits >= 2n ** 64n) {
    throw new ValueError(
      `invalid integer found in size '${text}': number too large to fit in target type`,
    );
  }
  const bytes = digits * 1024n ** BigInt(" KMG".indexOf(m[2] ?? " "));
  if (bytes >= 2n ** 64n) throw new ValueError(`size too big in '${text}'`);
  // Past what the engine can hold anyway: no limit.
  return Number(bytes > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : bytes);
}

const BY_LONG = new Map(FLAGS.filter((f) => f.long).map((f) => [f.long, f]));
const BY_SHORT = new Map(FLAGS.filter((f) => f.short).map((f) => [f.short!, f]));

/** The usage text printed after command-line errors and with `--help`. */
export const USAGE = `USAGE:
    deno task grep [OPTIONS] PATTERN [PATH ...]
    deno task grep [OPTIONS] -e PATTERN ... [PATH ...]
    deno task grep [OPTIONS] --files [PATH ...]`;

export const HELP = `curserve grep: ripgrep-compatible search over files held in memory.
Prints what \`rg --sort path\` prints; exit status 0 on a match, 1 on none,
2 on an error.

${USAGE}

OPTIONS:
    -e, --regexp PATTERN        A pattern to search for (repeatable)
    -F, --fixed-strings         Treat patterns as literal strings
    -i, --ignore-case           Case-insensitive search
    -S, --smart-case            Case-insensitive unless the pattern has uppercase
    -s, --case-sensitive        Case-sensitive search (the default)
    -w, --word-regexp           Only match whole words
    -x, --line-regexp           Only match whole lines
    -v, --invert-match          Print lines that do not match
    -n, --line-number           Show line numbers
    -N, --no-line-number        Hide line numbers
    -H, --with-filename         Print the file name for each match
    -I, --no-filename           Never print file names
    -c, --count                 Print the number of matching lines per file
        --count-matches         Print the number of matches per file
    -l, --files-with-matches    Print only the paths with a match
        --files-without-match   Print only the paths without a match
    -m, --max-count NUM         Stop after NUM matching lines per file
    -A, --after-context NUM     Show NUM lines after each match
    -B, --before-context NUM    Show NUM lines before each match
    -C, --context NUM           Show NUM lines before and after each match
    -o, --only-matching         Print only the matched parts
    -g, --glob GLOB             Include or (with !) exclude paths (repeatable)
        --iglob GLOB            Like --glob, case-insensitive
    -t, --type TYPE             Only search files of TYPE (e.g. rust, py, js)
    -T, --type-not TYPE         Do not search files of TYPE
        --type-add TYPE:GLOB    Add a glob to a type (or TYPE:include:A,B)
        --type-clear TYPE       Empty a type before --type-add
        --type-list             Print every type and its globs
        --hidden                Search hidden files and directories
        --no-ignore             Do not respect .gitignore, .ignore, .rgignore
        --no-ignore-vcs         Do not respect .gitignore and .git/info/exclude
        --no-ignore-exclude     Do not respect .git/info/exclude
        --no-ignore-dot         Do not respect .ignore
        --no-ignore-parent      Do not respect ignore files above the paths
        --ignore-file PATH      Also respect this ignore file (repeatable)
        --no-ignore-files       Disregard every --ignore-file
        --no-require-git        Respect .gitignore outside git repositories
    -u, --unrestricted          -u: --no-ignore; -uu: also --hidden
        --max-depth NUM         Descend at most NUM directories
        --max-filesize NUM+SUF  Skip walked files larger than this (K, M, G)
    -f, --file PATTERNFILE      Read patterns from a file, one per line
        --glob-case-insensitive Treat every -g as --iglob
        --multiline-dotall      With -U, let . match line ends
        --no-messages           Do not report unreadable files
        --path-separator SEP    Print SEP (one byte) in place of / in paths
        --column                Show the column of the first match
    -b, --byte-offset           Show the byte offset of each line (match with -o)
    -0, --null                  Follow each printed path with a NUL
        --trim                  Leave leading white space off printed lines
        --include-zero          With -c, also list files with no match
        --context-separator SEP Print SEP between context groups
        --no-context-separator  Print nothing between context groups
        --field-match-separator SEP    Separator after fields of matching lines
        --field-context-separator SEP  Separator after fields of context lines
        --vimgrep               One line per match: path:line:column:text
        --heading               Print each path once, above its lines
    -M, --max-columns NUM       Leave out lines longer than NUM bytes
    -a, --text                  Search binary files as text
    -U, --multiline             Let matches span lines
        --json                  Print results as JSON Lines
        --files                 Print the files that would be searched
    -q, --quiet                 Print nothing; exit status only
        --daemon SOCKET         Search through a running curserve daemon

Run by the real rg on PATH, exactly: every other rg flag (-P/--pcre2, --pre,
--pre-glob, -z/--search-zip, -E/--encoding, --engine, --sort/--sortr other than
path, -r/--replace, --passthru, --stats, -L/--follow, ...) and standard input.
    -h, --help                  Print this help
    -V, --version               Print the version`;

function emptyArgs(): GrepArgs {
  return {
    patterns: [],
    paths: [],
    fixedStrings: false,
    caseMode: "sensitive",
    word: false,
    lineRegexp: false,
    invert: false,
    count: false,
    countMatches: false,
    filesWithMatches: false,
    filesWithoutMatch: false,
    after: 0,
    before: 0,
    context: 0,
    onlyMatching: false,
    globs: [],
    iglobs: [],
    types: [],
    typesNot: [],
    hidden: false,
    noIgnore: false,
    noIgnoreVcs: false,
    noIgnoreExclude: false,
    noIgnoreDot: false,
    noIgnoreParent: false,
    ignoreFiles: [],
    noIgnoreFiles: false,
    noMessages: false,
    patternFiles: [],
    rgOnly: new Map(),
    oneThread: false,
    typeAdd: [],
    typeClear: [],
    noRequireGit: false,
    multilineDotall: false,
    multiline: false,
    json: false,
    files: false,
    quiet: false,
    help: false,
    version: false,
    shortVersion: false,
  };
}

/** Flags that take one value each time they are given, any number of
 * times; every other value-taking flag holds one value. */
const MULTI_VALUED = new Set([
  "regexp",
  "file",
  "glob",
  "iglob",
  "type",
  "type-not",
  "type-add",
  "type-clear",
  "ignore-file",
  "pre-glob",
  "colors",
]);

/** The names rg 13's usage errors give flag values (the others: `<NUM>`). */
const VALUE_NAMES: Record<string, string> = {
  color: "WHEN",
  colors: "COLOR_SPEC",
  "context-separator": "SEPARATOR",
  "field-context-separator": "SEPARATOR",
  "field-match-separator": "SEPARATOR",
  "path-separator": "SEPARATOR",
  "dfa-size-limit": "NUM+SUFFIX?",
  "regex-size-limit": "NUM+SUFFIX?",
  "max-filesize": "NUM+SUFFIX?",
  encoding: "ENCODING",
  engine: "ENGINE",
  file: "PATTERNFILE",
  glob: "GLOB",
  iglob: "GLOB",
  "pre-glob": "GLOB",
  "ignore-file": "PATH",
  pre: "COMMAND",
  regexp: "PATTERN",
  replace: "REPLACEMENT_TEXT",
  sort: "SORTBY",
  sortr: "SORTBY",
  type: "TYPE",
  "type-not": "TYPE",
  "type-clear": "TYPE",
  "type-add": "TYPE_SPEC",
  daemon: "SOCKET",
};

/** A value-taking flag as rg 13's usage errors show it: `--max-count <NUM>`,
 * `--glob <GLOB>...`. */
function valueName(spec: FlagSpec): string {
  const many = MULTI_VALUED.has(spec.long) ? "..." : "";
  return `--${spec.long} <${VALUE_NAMES[spec.long] ?? "NUM"}>${many}`;
}

function missingPattern(): UsageError {
  return new UsageError(
    "error: The following required arguments were not provided:\n    <PATTERN>",
  );
}

function unexpected(arg: string): UsageError {
  return new UsageError(
    `error: Found argument '${arg}' which wasn't expected, or isn't valid in this context`,
  );
}

/**
 * Parses `argv` (without the program name).
 * @throws {UsageError} for unknown flags, missing values and bad numbers.
 */
export function parseArgs(argv: string[]): GrepArgs {
  const a = emptyArgs();
  const positional: string[] = [];
  let i = 0;
  const takeValue = (spec: FlagSpec): string => {
    if (i >= argv.length) {
      // With nothing that could be the pattern yet, rg 13 says that first.
      const patternless = positional.length === 0 && a.patterns.length === 0 &&
        a.patternFiles.length === 0 && !a.files && !a.typeList && !a.help && !a.version;
      if (patternless && spec.long !== "regexp" && spec.long !== "file") throw missingPattern();
      throw new UsageError(
        `error: The argument '${valueName(spec)}' requires a value but none was supplied`,
      );
    }
    return argv[i++];
  };

  // rg 13's parser (clap 2) quirk: a one-value flag given again with its
  // value as the next argument also takes every argument after that up to
  // the next flag (`-m 1 -m 2 foo src` leaves no pattern): a usage error.
  const given = new Set<string>();
  let overflow: { spec: FlagSpec; values: number } | undefined;
  const detached = (spec: FlagSpec): string => {
    const v = takeValue(spec);
    if (given.has(spec.long) && !MULTI_VALUED.has(spec.long)) {
      let values = 1;
      while (i < argv.length && !(argv[i].startsWith("-") && argv[i].length > 1)) {
        i++;
        values++;
      }
      if (values > 1) overflow ??= { spec, values };
    }
    given.add(spec.long);
    return v;
  };
  while (i < argv.length) {
    const arg = argv[i++];
    if (arg === "--") {
      positional.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = BY_LONG.get(name);
      if (!spec) throw unexpected(arg);
      if (spec.value) {
        if (eq >= 0) given.add(spec.long);
        spec.value(a, eq < 0 ? detached(spec) : arg.slice(eq + 1));
      } else if (eq >= 0) throw unexpected(arg);
      else spec.on!(a);
    } else if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const spec = BY_SHORT.get(arg[j]);
        if (!spec) throw unexpected(`-${arg[j]}`);
        if (spec.on) {
          spec.on(a);
          continue;
        }
        // A value-taking short flag uses the rest of the group, or the
        // next argument.
        const rest = arg.slice(j + 1).replace(/^=/, "");
        if (rest !== "") given.add(spec.long);
        spec.value!(a, rest !== "" ? rest : detached(spec));
        break;
      }
    } else {
      positional.push(arg);
    }
  }
  if (a.vimgrep && a.multiline) needRg(a, "vimgrep -U", "--vimgrep with -U/--multiline");
  a.fallback = a.rgOnly.values().next().value;
  a.oneThread = !!a.sortFiles || (a.sortBy !== undefined && a.sortBy !== "none") ||
    a.threads === 1;
  if (a.fallback) return a; // rg itself parses the rest
  if (a.help || a.version || a.typeList) return a;
  if (a.patterns.length === 0 && a.patternFiles.length === 0 && !a.files) {
    if (positional.length === 0) throw missingPattern();
    a.patterns.push(positional.shift()!);
  }
  if (overflow) {
    throw new UsageError(
      `error: The argument '${valueName(overflow.spec)}' requires 1 values, ` +
        `but ${overflow.values} were provided`,
    );
  }
  a.paths = positional;
  if (a.globCaseInsensitive) [a.globs, a.iglobs] = [[], [...a.globs, ...a.iglobs]];

  if (a.json) {
    const clash = [
      ["count", a.count],
      ["count-matches", a.countMatches],
      ["files-with-matches", a.filesWithMatches],
      ["files-without-match", a.filesWithoutMatch],
      ["files", a.files],
    ].find(([, set]) => set);
    if (clash) {
      throw new UsageError(`error: The argument '--${clash[0]}' cannot be used with '--json'`);
    }
  }
  return a;
}
