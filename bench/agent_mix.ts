/**
 * What a simulated coding agent asks for: its tool-call mix, its think time
 * between calls, the rg command lines qwen-code builds, and searches made of
 * identifiers that really occur in the workspace. Shared by
 * `daemon_bench.ts` and `load.ts`; everything is drawn from a seeded PRNG
 * (`mulberry32` from corpus.ts), so the same seed replays the same session.
 * @module
 */
import { dirname, join } from "node:path";

/** The four read-only tools agents call most. */
export type Tool = "grep" | "read_file" | "glob" | "list_directory";

/** The tools in the order {@link pickTool} lays out their weights. */
export const TOOLS: readonly Tool[] = ["grep", "read_file", "glob", "list_directory"];

/** Relative weights of the tools in a session's calls. */
export type ToolMix = Record<Tool, number>;

/**
 * Parses `grep=40,read_file=30,glob=15,list_directory=15` (tools left out
 * weigh 0).
 * @throws {RangeError} On an unknown tool, a negative weight, or all zero.
 */
export function parseMix(text: string): ToolMix {
  const mix: ToolMix = { grep: 0, read_file: 0, glob: 0, list_directory: 0 };
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const [name, value] = part.split("=").map((s) => s.trim());
    const w = Number(value);
    if (!(TOOLS as readonly string[]).includes(name) || !Number.isFinite(w) || w < 0) {
      throw new RangeError(`--mix wants TOOL=WEIGHT,... with tools ${TOOLS.join(", ")}: ${part}`);
    }
    mix[name as Tool] = w;
  }
  if (TOOLS.every((t) => mix[t] === 0)) throw new RangeError("--mix gives every tool weight 0");
  return mix;
}

/** One uniform draw picks a tool with probability proportional to its weight. */
export function pickTool(rand: () => number, mix: ToolMix): Tool {
  const total = TOOLS.reduce((a, t) => a + mix[t], 0);
  const r = rand();
  let edge = 0;
  for (const t of TOOLS) {
    edge += mix[t];
    if (r < edge / total) return t;
  }
  return TOOLS.findLast((t) => mix[t] > 0)!;
}

/** Think time before each call: uniform in [min, max] ms. */
export interface ThinkTime {
  min: number;
  max: number;
}

/**
 * Parses `LO-HI` (uniform between) or `T` (uniform in 0..T), in ms.
 * @throws {RangeError} When it is neither, or LO > HI.
 */
export function parseThink(text: string): ThinkTime {
  const m = text.match(/^(\d+)(?:-(\d+))?$/);
  if (!m) throw new RangeError(`--think-ms wants T or LO-HI in ms, got ${text}`);
  const t = m[2] === undefined ? { min: 0, max: Number(m[1]) } : {
    min: Number(m[1]),
    max: Number(m[2]),
  };
  if (t.min > t.max) throw new RangeError(`--think-ms ${text}: LO above HI`);
  return t;
}

/** A think time in ms; draws nothing when there is none, so a zero think
 * time leaves the rest of the session's draws as they were. */
export function thinkMs(rand: () => number, t: ThinkTime): number {
  return t.max > 0 ? t.min + rand() * (t.max - t.min) : 0;
}

/** A `read_file` call: mostly a file's first 2000 lines, sometimes a window further in. */
export function pickRead(
  rand: () => number,
  files: string[],
): { path: string; offset: number; limit: number } {
  const offset = rand() < 0.7 ? 0 : Math.floor(rand() * 400);
  return { path: files[Math.floor(rand() * files.length)], offset, limit: 2000 };
}

/** One grep an agent sends: a pattern and, sometimes, an include glob and a directory. */
export interface AgentSearch {
  label: string;
  pattern: string;
  glob?: string;
  path?: string;
}

/** qwen-code's rg command line for a search (`--ignore-case --line-number
 * --with-filename --no-heading [--glob G] --regexp P [PATH]`). */
export function qwenArgs(s: AgentSearch): string[] {
  return [
    "-i",
    "-n",
    "-H",
    "--no-heading",
    ...(s.glob ? ["-g", s.glob] : []),
    "-e",
    s.pattern,
    ...(s.path ? [s.path] : []),
  ];
}

/** Where `glob` and `list_directory` calls point in a workspace. */
export interface WorkspaceShape {
  /** "." and every directory holding a searched file. */
  dirs: string[];
  /** The four most common extensions. */
  topExts: string[];
  /** `**\/*.ext` for the top extensions, then `dir/**\/*.ext` and `dir/*` for the biggest top-level directories. */
  globs: string[];
  /** The biggest top-level directories, each with its most common extension. */
  topDirs: { dir: string; ext: string }[];
}

/** Derives {@link WorkspaceShape} from the files rg would search (relative paths). */
export function workspaceShape(files: string[]): WorkspaceShape {
  const dirs = [".", ...new Set(files.map((f) => dirname(f)).filter((d) => d !== "."))];
  const extCount = new Map<string, number>();
  for (const f of files) {
    const m = f.match(/\.(\w+)$/);
    if (m) extCount.set(m[1], (extCount.get(m[1]) ?? 0) + 1);
  }
  const topExts = [...extCount].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([e]) => e);
  const perDir = new Map<string, Map<string, number>>();
  for (const f of files) {
    const m = f.match(/^([^/]+)\/.*\.(\w+)$/);
    if (!m) continue;
    const exts = perDir.get(m[1]) ?? new Map<string, number>();
    exts.set(m[2], (exts.get(m[2]) ?? 0) + 1);
    perDir.set(m[1], exts);
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const topDirs = [...perDir].sort((a, b) => total(b[1]) - total(a[1])).slice(0, 6)
    .map(([d, exts]) => ({ dir: d, ext: [...exts].sort((a, b) => b[1] - a[1])[0][0] }));
  const globs = [
    ...topExts.map((e) => `**/*.${e}`),
    ...topDirs.flatMap(({ dir, ext }) => [`${dir}/**/*.${ext}`, `${dir}/*`]),
  ];
  return { dirs, topExts, globs, topDirs };
}

// ------------------------------------------------------------ searches

/** A name seen in the workspace, with where it was seen (for `-g` and a path). */
interface Seen {
  text: string;
  ext: string;
  top: string;
}

/** The kinds of search an agent sends, with how often (weights sum to 100). */
const SEARCH_KINDS: [string, number][] = [
  ["rare identifier", 30],
  ["common identifier", 10],
  ["definition", 15],
  ["definitions, regex", 10],
  ["error message", 10],
  ["constant", 5],
  ["alternation", 10],
  ["no match", 10],
];

/**
 * Names harvested from a sample of a workspace's files, to build the
 * searches agents send from: they search for names they have seen in code
 * or in the task, mostly specific ones, sometimes everyday ones.
 */
export class SearchVocabulary {
  private constructor(
    /** Names seen once in the sample: specific, found in few files. */
    readonly rare: Seen[],
    /** The most frequent names of the sample (ranks 5 to 40: not the very top, whose matches run to megabytes). */
    readonly common: Seen[],
    /** `keyword name` pairs from definitions (fn, def, func, class, struct, #define, ...). */
    readonly definitions: (Seen & { keyword: string; name: string })[],
    /** String literals that read like error messages. */
    readonly messages: Seen[],
    /** UPPER_CASE constants. */
    readonly constants: Seen[],
  ) {}

  /**
   * Reads up to `sampleFiles` files (seeded choice among `files`, relative
   * to `root`) and collects their names.
   * @throws {Error} When the sample holds no identifier at all.
   */
  static async harvest(
    root: string,
    files: string[],
    rand: () => number,
    sampleFiles = 40,
  ): Promise<SearchVocabulary> {
    const text = files.filter((f) => !/\.(png|jpe?g|gif|ico|gz|zip|pdf|json|lock)$/i.test(f));
    const chosen = new Set<string>();
    for (
      let tries = 0;
      chosen.size < Math.min(sampleFiles, text.length) && tries < 10_000;
      tries++
    ) {
      chosen.add(text[Math.floor(rand() * text.length)]);
    }
    const counts = new Map<string, { n: number; seen: Seen }>();
    const definitions: (Seen & { keyword: string; name: string })[] = [];
    const messages: Seen[] = [];
    const constants = new Map<string, Seen>();
    const decoder = new TextDecoder();
    for (const f of [...chosen].sort()) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(join(root, f));
      } catch {
        continue;
      }
      if (bytes.length > 2_000_000 || bytes.subarray(0, 8192).includes(0)) continue;
      const body = decoder.decode(bytes);
      const where = {
        ext: f.match(/\.(\w+)$/)?.[1] ?? "",
        top: f.includes("/") ? f.split("/")[0] : "",
      };
      // snake_case, camelCase and PascalCase names of at least two words.
      for (
        const m of body.matchAll(
          /\b(?:[a-z]+(?:_[a-z0-9]+)+|[a-z]+(?:[A-Z][a-z0-9]+)+|[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+)\b/g,
        )
      ) {
        const c = counts.get(m[0]);
        if (c) c.n++;
        else counts.set(m[0], { n: 1, seen: { text: m[0], ...where } });
      }
      for (
        const m of body.matchAll(
          /(?:^|\s)(fn|def|func|function|class|interface|struct|#define)\s+([A-Za-z_]\w{3,})/g,
        )
      ) {
        definitions.push({ text: `${m[1]} ${m[2]}`, keyword: m[1], name: m[2], ...where });
      }
      for (
        const m of body.matchAll(
          /"((?:failed to|invalid|cannot|unable to) [a-z][a-z ]{3,40}[a-z])/g,
        )
      ) {
        messages.push({ text: m[1], ...where });
      }
      for (const m of body.matchAll(/\b[A-Z]{2,}(?:_[A-Z0-9]+){1,3}\b/g)) {
        if (!constants.has(m[0])) constants.set(m[0], { text: m[0], ...where });
      }
    }
    const ranked = [...counts.values()].sort((a, b) =>
      b.n - a.n || (a.seen.text < b.seen.text ? -1 : 1)
    );
    const rare = ranked.filter((c) => c.n === 1).map((c) => c.seen);
    const common = ranked.slice(5, 40).map((c) => c.seen);
    if (ranked.length === 0) throw new Error(`no identifiers found in a sample of ${root}`);
    return new SearchVocabulary(
      rare.length ? rare : common,
      common,
      definitions,
      messages,
      [...constants.values()],
    );
  }

  /**
   * One search as an agent would send it, drawn with `rand`: the kind by
   * {@link SEARCH_KINDS}' weights, then a name; a quarter of identifier
   * searches add `-g *.ext` of the file the name came from, and one in
   * seven looks only in that file's top-level directory.
   */
  search(rand: () => number): AgentSearch {
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    let r = rand() * 100;
    let kind = SEARCH_KINDS[0][0];
    for (const [k, w] of SEARCH_KINDS) {
      if ((r -= w) < 0) {
        kind = k;
        break;
      }
    }
    const narrow = (s: AgentSearch, seen: Seen, globShare: number): AgentSearch => {
      if (seen.ext && rand() < globShare) s.glob = `*.${seen.ext}`;
      if (seen.top && rand() < 1 / 7) s.path = seen.top;
      return s;
    };
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    switch (kind) {
      case "common identifier": {
        const s = pick(this.common);
        return narrow({ label: kind, pattern: s.text }, s, 0.25);
      }
      case "definition":
      case "definitions, regex": {
        if (this.definitions.length === 0) break;
        const d = pick(this.definitions);
        const kw = escape(d.keyword);
        if (kind === "definition") {
          return narrow({ label: kind, pattern: `${kw}\\s+${d.name}` }, d, 0.6);
        }
        // `fn parse_\w+`: every definition sharing the name's first word.
        const head = d.name.match(/^[A-Za-z][a-z0-9]*_?/)![0];
        return narrow({ label: kind, pattern: `${kw}\\s+${head}\\w*` }, d, 0.6);
      }
      case "error message": {
        if (this.messages.length === 0) break;
        const s = pick(this.messages);
        return narrow({ label: kind, pattern: escape(s.text) }, s, 0);
      }
      case "constant": {
        if (this.constants.length === 0) break;
        const s = pick(this.constants);
        return narrow({ label: kind, pattern: s.text }, s, 0.25);
      }
      case "alternation": {
        const a = pick(this.rare);
        const b = pick(this.rare);
        return narrow({ label: kind, pattern: `${a.text}|${b.text}` }, a, 0);
      }
      case "no match": {
        // A plausible name that is not there: agents guess names often.
        const s = pick(this.rare);
        return narrow({ label: kind, pattern: `${s.text}_curserve_unused` }, s, 0.25);
      }
    }
    const s = pick(this.rare);
    return narrow({ label: "rare identifier", pattern: s.text }, s, 0.25);
  }
}
