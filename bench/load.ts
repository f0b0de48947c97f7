/**
 * Load and scale: many simulated agent sessions on one machine, through the
 * daemon and through the traditional path (an `rg` subprocess per search,
 * filesystem calls per read), side by side in one run.
 *
 * ```sh
 * deno task bench:load                      # the full run: 100 sessions, 4 × 50 MB repos, scaling curves
 * deno task bench:load --quick --out /tmp/x # a smoke run, under a minute
 * deno task bench:load --scale              # only the scaling curves
 * deno task bench:load --tree ~/.cache/curserve/linux-6.1 --repos 0 --sessions 50
 * ```
 *
 * Options: `--sessions N` (default 100, 1–500), `--repos K` generated repos
 * (default 4; 0 with `--tree` alone), `--mb MB` each (default 50), `--tree
 * PATH` a real tree (repeatable), `--requests R` per session (default 20),
 * `--think-ms LO-HI` or `T` (default 500-3000), `--mix
 * grep=40,read_file=30,glob=15,list_directory=15`, `--seed S` (default 1:
 * corpora and sessions), `--workers N` (passed to the daemon), `--daemon-flag=F` (another daemon flag, repeatable),
 * `--scale-sessions 1,10,50,100,200`, `--scale-mb 1,10,100`,
 * `--scale-requests R` (default 10), `--scale` (only the scaling curves),
 * `--no-scale` (skip them), `--quick`, `--out DIR` (default bench/results;
 * `--quick` writes to a temporary folder unless given one).
 *
 * Method, so the numbers can be quoted honestly:
 * - Workspaces: K generated repos (`cachedCorpus(mb, seed + i)`: code-like
 *   text in nested directories with .gitignore'd build output, see
 *   corpus.ts) plus any `--tree`. Session i works on workspace i mod W, so
 *   ~N/W users share each repo, as teams on one server do.
 * - Sessions replay a script drawn from `mulberry32(seed * 100003 + i)`:
 *   before each call a think time, uniform in `--think-ms` (default 0.5–3 s:
 *   a real agent waits that long or longer for the model between tool
 *   calls), then a tool by the `--mix` weights. `grep` sends qwen-code's rg
 *   options (`-i -n -H --no-heading [-g GLOB] -e PATTERN [DIR]`) with a
 *   pattern built from names that occur in the workspace (a seeded sample of
 *   40 of its files): rare identifiers 30%, common ones 10%, definitions
 *   (`fn\s+name`) 15%, definition regexes (`def\s+validate_\w*`) 10%, error
 *   messages 10%, constants 5%, alternations 10%, names that are not there
 *   10%; a quarter add `-g *.ext`, one in seven a directory. `read_file`
 *   reads a random file's first 2000 lines (or a window further in),
 *   `glob` asks for `**\/*.ext`, `dir/**\/*.ext` or `dir/*`, `list_directory`
 *   a random directory.
 * - Daemon path: a real daemon subprocess (`daemon.ts --verbose` on a
 *   temporary socket, killed at the end, always; its per-request log line
 *   gives each call's time inside the daemon, reported next to the client's
 *   round trip). Workspaces are opened one at a time
 *   first, each waited for until background sketches are done (load time
 *   and resident memory growth reported per workspace); then each session
 *   connects on its own connection, opens its workspace (shared: held once)
 *   and runs its script. Latency is the `DaemonClient` round trip (JSON
 *   encode, socket, queueing, search, JSON decode); grep answers are cut at
 *   the daemon's default 1 MiB as agents get them.
 * - Traditional path: the same scripts, same seed, same concurrency, after
 *   the daemon phase: `rg` with the same argv (cwd the workspace root,
 *   stdout fully read, process start included) per grep, `rg --files -g
 *   GLOB` per glob, `Deno.stat` + `Deno.readTextFile` + line slicing per
 *   read_file (what qwen-code's tool does in Node), `Deno.readDir` + a stat
 *   per entry per list_directory. Its files sit in the page cache, warmed by
 *   the daemon's load: the baseline at its best.
 * - Answers: every grep (not truncated) and glob answer of the daemon phase
 *   is compared, as a set of lines, with the traditional path's for the same
 *   call (rg's parallel output comes unsorted); the report names the calls
 *   that differ and whether the difference is files that rg skips without a
 *   `-g` (ignored or hidden) and its `-g` re-includes; answers the daemon cut
 *   (1 MiB of grep output, 10,000 glob files) are counted, not compared.
 * - The engine's share: after both paths, each distinct grep of the main run
 *   runs twice more in the bench process on a sketched `Workspace`, as the
 *   daemon's worker holds it: the search alone, without socket, queue or
 *   load; the first run pays what a search new to the daemon pays, the
 *   second what is left; reported by kind of search next to both paths.
 * - Percentiles are nearest-rank over all calls of a run; requests/s is
 *   completed calls over the run's wall time (with think time, it mostly
 *   measures how fast sessions get answers back, not a saturation limit).
 *   Memory: the daemon's VmRSS and VmHWM from /proc and `stats` rss_bytes;
 *   "10 users on one repo" is the RSS growth after one open plus nine more
 *   clients opening the same repo, over the growth after the first open
 *   (each search worker first gets a tiny workspace, so a worker's first use
 *   is not counted as the repo's).
 * - The machine is shared, so each run also records the whole machine's CPU
 *   busy share (/proc/stat), the daemon's and the bench process's CPU time
 *   (with its rg children), how late the bench's 20 ms timer fired (its one
 *   event loop runs every session's client, so its lateness is in both
 *   paths' latencies), and its five slowest calls.
 * - Scaling: the same mix at `--scale-sessions` counts on the main repos
 *   (the main run stands for its own count; `--scale-requests` calls per
 *   session, up to 20 when fewer sessions would make under 100 calls), and
 *   at `--scale-mb` sizes with min(50, sessions) sessions on K fresh repos
 *   of that size, a fresh daemon each.
 * - Everything (daemon, clients, rg processes) shares the machine, as on a
 *   real server; the load average is recorded at start and end.
 * @module
 */
import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { DaemonClient, Workspace } from "../mod.ts";
import {
  type AgentSearch,
  parseMix,
  parseThink,
  pickRead,
  pickTool,
  qwenArgs,
  SearchVocabulary,
  thinkMs,
  type Tool,
  TOOLS,
  type WorkspaceShape,
  workspaceShape,
} from "./agent_mix.ts";
import { cachedCorpus, generateCorpus, mulberry32 } from "./corpus.ts";
import {
  DaemonProcess,
  type DaemonStats,
  type GrepAnswer,
  type OpenAnswer,
  stdoutBytes,
  waitForSketches,
} from "./daemon_process.ts";
import { cdfSvg, type Series, svgToPng } from "./plot.ts";
import {
  intOption,
  loadavg,
  machineCpuSeconds,
  mib,
  ms,
  processCpuSeconds,
  runHeader,
  runInfo,
  runRg,
  shellWord,
  sleep,
  summarize,
  type Summary,
} from "./stats.ts";

// ------------------------------------------------------------------ options

const USAGE = `usage: deno run -A bench/load.ts [options]

  --sessions N        simulated agent sessions, each its own connection (default 100; 1-500)
  --repos K           generated repos, sessions assigned round-robin (default 4; 0 with --tree)
  --mb MB             size of each generated repo (default 50)
  --tree PATH         a real tree as one more workspace (repeatable)
  --requests R        tool calls per session (default 20)
  --think-ms LO-HI|T  think time before each call, uniform, ms (default 500-3000)
  --mix SPEC          tool weights (default grep=40,read_file=30,glob=15,list_directory=15)
  --seed S            corpora and session scripts (default 1)
  --workers N         daemon search workers (default: the daemon's, one per core)
  --scale-sessions L  session counts of the scaling curve (default 1,10,50,100,200)
  --scale-mb L        repo sizes of the scaling curve, MB (default 1,10,100)
  --scale-requests R  calls per session at each scaling point (default 10)
  --scale             run only the scaling curves
  --no-scale          skip the scaling curves
  --quick             a smoke run (small repos, few sessions), under a minute
  --out DIR           where the report (.md) and plot (.png) go (default bench/results)
  -h, --help          this text`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sessions: { type: "string" },
    repos: { type: "string" },
    mb: { type: "string" },
    tree: { type: "string", multiple: true, default: [] },
    requests: { type: "string" },
    "think-ms": { type: "string" },
    mix: { type: "string", default: "grep=40,read_file=30,glob=15,list_directory=15" },
    seed: { type: "string", default: "1" },
    workers: { type: "string" },
    "daemon-flag": { type: "string", multiple: true, default: [] },
    "scale-sessions": { type: "string" },
    "scale-mb": { type: "string" },
    "scale-requests": { type: "string" },
    scale: { type: "boolean", default: false },
    "no-scale": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

/** Parses `1,10,50`: positive integers up to `max`. */
function intList(name: string, text: string, max: number): number[] {
  const xs = text.split(",").map((t) => intOption(name, t.trim(), 0, 1, max));
  if (xs.length === 0) throw new RangeError(`--${name} is empty`);
  return xs;
}

const quick = values.quick;
const trees = await Promise.all((values.tree as string[]).map((t) => Deno.realPath(t)));
const config = {
  sessions: intOption("sessions", values.sessions, quick ? 8 : 100, 1, 500),
  repos: intOption("repos", values.repos, trees.length ? 0 : quick ? 2 : 4, 0, 64),
  mb: Number(values.mb ?? (quick ? 2 : 50)),
  requests: intOption("requests", values.requests, quick ? 5 : 20, 1, 10_000),
  think: parseThink(values["think-ms"] ?? (quick ? "0-30" : "500-3000")),
  mix: parseMix(values.mix),
  seed: intOption("seed", values.seed, 1, 0),
  workers: values.workers === undefined ? undefined : intOption("workers", values.workers, 1),
  /** More daemon.ts flags (`--daemon-flag=--shard-bytes=64M`), as given. */
  daemonFlags: values["daemon-flag"],
  scaleSessions: intList(
    "scale-sessions",
    values["scale-sessions"] ?? (quick ? "1,4" : "1,10,50,100,200"),
    500,
  ),
  scaleMb: intList("scale-mb", values["scale-mb"] ?? (quick ? "1,2" : "1,10,100"), 10_000),
  scaleRequests: intOption("scale-requests", values["scale-requests"], quick ? 3 : 10, 1, 10_000),
  runMain: !values.scale,
  runScale: !values["no-scale"],
};
if (!(config.mb > 0)) throw new RangeError(`--mb must be positive, got ${values.mb}`);
if (config.repos === 0 && trees.length === 0) {
  throw new RangeError("--repos 0 needs at least one --tree");
}
if (values.scale && values["no-scale"]) {
  throw new RangeError("--scale and --no-scale exclude each other");
}
/** Sessions at each size of the size curve: enough to load the daemon, few enough for rg on 100 MB. */
const sizeCurveSessions = Math.min(50, config.sessions);

const log = (msg: string) => console.error(`load: ${msg}`);

/** Each request's time inside the daemon (from reading it to its answer being ready), from the
 * daemon's `--verbose` log, in order. */
const daemonLog: { method: string; ms: number }[] = [];

/** A daemon with `--verbose`, its per-request times collected in {@link daemonLog}. */
function startDaemon(): Promise<DaemonProcess> {
  return DaemonProcess.start(config.workers, {
    verbose: true,
    flags: config.daemonFlags,
    onStderrLine: (line) => {
      // "<time> uid=U pid=P <method> <ms>ms ok|error ..." (daemon.ts --verbose)
      const m = line.match(/ (\w+) ([\d.]+)ms (?:ok|error)/);
      if (m) daemonLog.push({ method: m[1], ms: Number(m[2]) });
    },
  });
}

/** "4 × 50 MB generated repos + linux-6.1", for progress lines and the report. */
const workspaceText = [
  ...(config.repos ? [`${config.repos} × ${config.mb} MB generated repos`] : []),
  ...trees.map((t) => basename(t)),
].join(" + ");

// ------------------------------------------------------------------ workspaces

/** A workspace as both paths see it. */
interface WorkspaceSpec {
  name: string;
  root: string;
  /** What rg searches, relative, sorted. */
  files: string[];
  shape: WorkspaceShape;
  vocabulary: SearchVocabulary;
  /** Every file under the root, ignored and hidden ones too. */
  diskBytes: number;
  /** `files` as a set, made when needed. */
  searched?: Set<string>;
}

/** Sums the sizes of every file below `dir` (links not followed). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) total += await treeBytes(p);
    else if (e.isFile) total += (await Deno.lstat(p)).size;
  }
  return total;
}

async function prepare(root: string, name: string, seed: number): Promise<WorkspaceSpec> {
  const listed = await runRg(root, ["--files", "--sort", "path"]);
  const files = new TextDecoder().decode(listed.stdout).split("\n").filter((f) => f !== "");
  if (files.length === 0) throw new Error(`rg finds no files to search in ${root}`);
  return {
    name,
    root,
    files,
    shape: workspaceShape(files),
    vocabulary: await SearchVocabulary.harvest(root, files, mulberry32(seed ^ 0x5eed)),
    diskBytes: await treeBytes(root),
  };
}

/** `count` generated repos of `mb` MB (seeds seed..seed+count-1), then the trees given. */
async function workspaces(mb: number, count: number, roots: string[]): Promise<WorkspaceSpec[]> {
  const out: WorkspaceSpec[] = [];
  for (let i = 0; i < count; i++) {
    const seed = config.seed + i;
    const root = await cachedCorpus(mb, seed);
    out.push(await prepare(root, `gen-${mb}mb-${seed}`, seed));
  }
  for (const [i, t] of roots.entries()) {
    out.push(await prepare(t, basename(t), config.seed + 1000 + i));
  }
  return out;
}

// ------------------------------------------------------------------ scripts

/** One tool call, as both paths carry it out. */
type Call =
  | { tool: "grep"; search: AgentSearch }
  | { tool: "read_file"; path: string; offset: number; limit: number }
  | { tool: "glob"; pattern: string }
  | { tool: "list_directory"; path: string };

interface Step {
  think: number;
  call: Call;
}

/** A session: its workspace and the calls it makes. */
interface Session {
  index: number;
  ws: WorkspaceSpec;
  steps: Step[];
}

/** The sessions of a run: session i on workspace i mod W, its script from its own seed. */
function sessionScripts(count: number, requests: number, wss: WorkspaceSpec[]): Session[] {
  return Array.from({ length: count }, (_, index) => {
    const ws = wss[index % wss.length];
    const rand = mulberry32(config.seed * 100_003 + index);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const steps: Step[] = [];
    for (let n = 0; n < requests; n++) {
      const think = thinkMs(rand, config.think);
      const tool = pickTool(rand, config.mix);
      let call: Call;
      if (tool === "grep") call = { tool, search: ws.vocabulary.search(rand) };
      else if (tool === "read_file") call = { tool, ...pickRead(rand, ws.files) };
      else if (tool === "glob") call = { tool, pattern: pick(ws.shape.globs) };
      else call = { tool, path: pick(ws.shape.dirs) };
      steps.push({ think, call });
    }
    return { index, ws, steps };
  });
}

// ------------------------------------------------------------------ the two paths

/** What one call answered, kept to compare the paths after a run. */
type Answer = { kind: "lines"; bytes: Uint8Array; truncated: boolean } | {
  kind: "files";
  files: string[];
  truncated: boolean;
};

/** Carries out calls for sessions: the daemon, or rg and the filesystem. */
interface Path {
  name: "daemon" | "subprocess";
  /** Per-session setup outside the timed calls (connect, open). */
  begin(sessions: Session[]): Promise<void>;
  call(session: Session, call: Call): Promise<Answer | undefined>;
  end(): Promise<void>;
}

/** Each session on its own connection, opening its (shared) workspace. */
class DaemonPath implements Path {
  readonly name = "daemon";
  #clients = new Map<number, { client: DaemonClient; workspace: string }>();
  /** Round trips of each session's `open` (the workspace is already loaded). */
  openMs: number[] = [];
  constructor(readonly daemon: DaemonProcess) {}

  async begin(sessions: Session[]): Promise<void> {
    await Promise.all(sessions.map(async (s) => {
      const client = await DaemonClient.connect(this.daemon.socket);
      const t = performance.now();
      const r = await client.request<OpenAnswer>("open", { root: s.ws.root });
      this.openMs.push(performance.now() - t);
      this.#clients.set(s.index, { client, workspace: r.workspace });
    }));
  }

  async call(s: Session, call: Call): Promise<Answer | undefined> {
    const { client, workspace } = this.#clients.get(s.index)!;
    switch (call.tool) {
      case "grep": {
        const a = await client.request<GrepAnswer>("grep", {
          workspace,
          args: qwenArgs(call.search),
        });
        if (a.code === 2) throw new Error(`grep failed: ${a.stderr}`);
        return { kind: "lines", bytes: stdoutBytes(a), truncated: a.truncated };
      }
      case "glob": {
        const a = await client.request<{ files: string[]; truncated: boolean }>("glob", {
          workspace,
          pattern: call.pattern,
        });
        return { kind: "files", files: a.files, truncated: a.truncated };
      }
      case "read_file": {
        const a = await client.request<{ content: string }>("read_file", {
          workspace,
          path: call.path,
          offset: call.offset,
          limit: call.limit,
        });
        if (typeof a.content !== "string") throw new Error("read_file answered no content");
        return undefined;
      }
      case "list_directory": {
        const a = await client.request<{ entries: unknown[] }>("list_directory", {
          workspace,
          path: call.path,
        });
        if (!Array.isArray(a.entries)) throw new Error("list_directory answered no entries");
        return undefined;
      }
    }
  }

  end(): Promise<void> {
    for (const { client } of this.#clients.values()) client.close();
    this.#clients.clear();
    return Promise.resolve();
  }
}

/** What agents do without curserve: a process per search, the filesystem per read. */
class SubprocessPath implements Path {
  readonly name = "subprocess";
  begin(): Promise<void> {
    return Promise.resolve();
  }

  async call(s: Session, call: Call): Promise<Answer | undefined> {
    const root = s.ws.root;
    switch (call.tool) {
      case "grep": {
        const out = await runRg(root, qwenArgs(call.search));
        if (out.code === 2) throw new Error(`rg failed: ${new TextDecoder().decode(out.stderr)}`);
        return { kind: "lines", bytes: out.stdout, truncated: false };
      }
      case "glob": {
        const out = await runRg(root, ["--files", "-g", call.pattern]);
        if (out.code === 2) {
          throw new Error(`rg --files failed: ${new TextDecoder().decode(out.stderr)}`);
        }
        return {
          kind: "files",
          truncated: false,
          files: new TextDecoder().decode(out.stdout).split("\n").filter((f) => f),
        };
      }
      case "read_file": {
        // qwen-code's read_file: stat (size, is it a file), read it all, slice lines.
        const abs = join(root, call.path);
        const st = await Deno.stat(abs);
        if (!st.isFile) throw new Error(`${call.path} is not a file`);
        const lines = (await Deno.readTextFile(abs)).split("\n");
        // The window as the tool hands it to the model.
        lines.slice(call.offset, call.offset + call.limit).join("\n");
        return undefined;
      }
      case "list_directory": {
        // qwen-code's ls: read the directory, stat each entry, directories first.
        const abs = join(root, call.path);
        const names: string[] = [];
        for await (const e of Deno.readDir(abs)) names.push(e.name);
        const entries = await Promise.all(
          names.map(async (name) => ({
            name,
            dir: (await Deno.lstat(join(abs, name))).isDirectory,
          })),
        );
        entries.sort((a, b) => Number(b.dir) - Number(a.dir) || (a.name < b.name ? -1 : 1));
        return undefined;
      }
    }
  }

  end(): Promise<void> {
    return Promise.resolve();
  }
}

// ------------------------------------------------------------------ a run

/** Latencies (ms) and outcomes of one run of sessions on one path. */
interface RunResult {
  path: "daemon" | "subprocess";
  sessions: number;
  requests: number;
  byTool: Record<Tool, number[]>;
  /** grep latencies by search kind (the search's label). */
  byKind: Map<string, number[]>;
  all: number[];
  errors: number;
  errorExamples: string[];
  wallMs: number;
  /** Answers by `session:step`, when kept. */
  answers?: Map<string, Answer>;
  /** Daemon VmHWM and highest VmRSS seen during the run. */
  peakRss?: number;
  /** CPU seconds during the run: the whole machine (busy, and all cores' total), the
   * daemon, and this process with its rg children. */
  cpu: { machineBusy: number; machineTotal: number; daemon: number; bench: number };
  /** How late this process's timers fired (ms): its event loop was busy, so
   * answers that had arrived waited to be timed. */
  lag: Summary;
  /** The slowest calls: latency, and the call with its workspace. */
  slowest: { ms: number; call: string }[];
  /** Daemon runs: each call's time inside the daemon, by tool (its --verbose log). */
  inside?: Record<Tool, number[]>;
}

/**
 * Runs every session's script at once on `path` and times each call.
 * @param label For progress lines.
 * @param keepAnswers Keep grep and glob answers, to compare the paths afterwards.
 * @param daemon Polled for memory during the run.
 * @param afterBegin Called once every session is connected, before the first call.
 */
async function runSessions(
  label: string,
  path: Path,
  sessions: Session[],
  keepAnswers: boolean,
  daemon?: DaemonProcess,
  afterBegin?: () => Promise<void>,
): Promise<RunResult> {
  const byTool = Object.fromEntries(TOOLS.map((t) => [t, [] as number[]])) as Record<
    Tool,
    number[]
  >;
  const result: RunResult = {
    path: path.name,
    sessions: sessions.length,
    requests: sessions.reduce((a, s) => a + s.steps.length, 0),
    byTool,
    byKind: new Map(),
    all: [],
    errors: 0,
    errorExamples: [],
    wallMs: 0,
    answers: keepAnswers ? new Map() : undefined,
    cpu: { machineBusy: NaN, machineTotal: NaN, daemon: NaN, bench: NaN },
    lag: summarize([]),
    slowest: [],
  };
  await path.begin(sessions);
  await afterBegin?.();
  const logStart = daemonLog.length;
  const timed: { ms: number; session: number; step: number }[] = [];
  const lags: number[] = [];
  let tick = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - tick - 20));
    tick = now;
  }, 20);
  const cpu0 = {
    machine: machineCpuSeconds(),
    daemon: daemon ? processCpuSeconds(daemon.pid) : NaN,
    bench: processCpuSeconds(Deno.pid, true),
  };
  let peak = 0;
  let running = true;
  const poller = (async () => {
    while (running && daemon) {
      peak = Math.max(peak, daemon.rss() || 0, daemon.peakRss() || 0);
      await sleep(250);
    }
  })();
  const progress = setInterval(() => {
    const s = summarize(result.all);
    log(
      `${label}: ${
        result.all.length + result.errors
      }/${result.requests} calls, ${result.errors} errors, ` +
        `p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms so far; load average ${loadavg()}`,
    );
  }, 5_000);
  const t0 = performance.now();
  try {
    await Promise.all(sessions.map(async (s) => {
      for (const [n, step] of s.steps.entries()) {
        if (step.think > 0) await sleep(step.think);
        const t = performance.now();
        try {
          const answer = await path.call(s, step.call);
          const took = performance.now() - t;
          timed.push({ ms: took, session: s.index, step: n });
          byTool[step.call.tool].push(took);
          result.all.push(took);
          if (step.call.tool === "grep") {
            const k = step.call.search.label;
            const xs = result.byKind.get(k) ?? [];
            xs.push(took);
            result.byKind.set(k, xs);
          }
          if (answer && result.answers) result.answers.set(`${s.index}:${n}`, answer);
        } catch (err) {
          result.errors++;
          if (result.errorExamples.length < 5) {
            result.errorExamples.push(`${step.call.tool}: ${(err as Error).message.slice(0, 200)}`);
          }
        }
      }
    }));
  } finally {
    result.wallMs = performance.now() - t0;
    const machine = machineCpuSeconds();
    result.cpu = {
      machineBusy: machine.busy - cpu0.machine.busy,
      machineTotal: machine.total - cpu0.machine.total,
      daemon: daemon ? processCpuSeconds(daemon.pid) - cpu0.daemon : NaN,
      bench: processCpuSeconds(Deno.pid, true) - cpu0.bench,
    };
    clearInterval(lagTimer);
    result.lag = summarize(lags);
    result.slowest = timed.sort((a, b) => b.ms - a.ms).slice(0, 5).map((c) => ({
      ms: c.ms,
      call: `${sessions[c.session].ws.name}, \`${
        describe(sessions[c.session].steps[c.step].call)
      }\``,
    }));
    clearInterval(progress);
    running = false;
    await poller;
    await path.end();
  }
  if (daemon) {
    result.peakRss = Math.max(peak, daemon.peakRss() || 0);
    await sleep(200); // the last log lines are still in the pipe
    result.inside = Object.fromEntries(TOOLS.map((t) => [t, [] as number[]])) as Record<
      Tool,
      number[]
    >;
    for (const { method, ms } of daemonLog.slice(logStart)) {
      if ((TOOLS as readonly string[]).includes(method)) result.inside[method as Tool].push(ms);
    }
  }
  const s = summarize(result.all);
  log(
    `${label}: done, ${result.all.length} calls in ${(result.wallMs / 1000).toFixed(1)} s, ` +
      `p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms, ${result.errors} errors; ` +
      `machine CPU busy ${(100 * result.cpu.machineBusy / result.cpu.machineTotal).toFixed(0)}%; ` +
      `slowest ${result.slowest.slice(0, 2).map((c) => `${ms(c.ms)} ms ${c.call}`).join(", ")}`,
  );
  return result;
}

/** An order-independent digest of lines: their count and the sum of their FNV-1a hashes. */
function linesDigest(lines: string[]): string {
  let sum = 0;
  let n = 0;
  for (const line of lines) {
    if (line === "") continue;
    let h = 0x811c9dc5;
    for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193);
    sum = (sum + (h >>> 0)) % 4294967296;
    n++;
  }
  return `${n}:${sum}`;
}

function digest(a: Answer): string {
  return a.kind === "files"
    ? linesDigest(a.files)
    : linesDigest(new TextDecoder().decode(a.bytes).split("\n"));
}

/** A call as a command line, for reports: `rg ...` or `rg --files -g ...`. */
function describe(call: Call): string {
  const argv = call.tool === "grep"
    ? ["rg", ...qwenArgs(call.search)]
    : call.tool === "glob"
    ? ["rg", "--files", "-g", call.pattern]
    : [call.tool, call.path];
  return argv.map(shellWord).join(" ");
}

/** The files an answer names (grep lines start with `path:`). */
function answerPaths(a: Answer): Set<string> {
  if (a.kind === "files") return new Set(a.files);
  const lines = new TextDecoder().decode(a.bytes).split("\n").filter((l) => l !== "");
  return new Set(lines.map((l) => l.slice(0, l.indexOf(":"))));
}

/** Compares the two paths' grep and glob answers call by call. */
function compareAnswers(d: RunResult, s: RunResult, sessions: Session[]) {
  const c = {
    grep: 0,
    grepSame: 0,
    truncated: 0,
    glob: 0,
    globSame: 0,
    globTruncated: 0,
    examples: [] as string[],
  };
  const differing = new Set<string>();
  for (const [key, a] of d.answers ?? []) {
    const b = s.answers?.get(key);
    if (!b) continue;
    if (a.truncated) {
      if (a.kind === "lines") c.truncated++;
      else c.globTruncated++;
      continue;
    }
    const [da, db] = [digest(a), digest(b)];
    const same = da === db;
    if (a.kind === "files") [c.glob, c.globSame] = [c.glob + 1, c.globSame + Number(same)];
    else [c.grep, c.grepSame] = [c.grep + 1, c.grepSame + Number(same)];
    if (same) continue;
    const [session, step] = key.split(":").map(Number);
    const ws = sessions[session].ws;
    const where = `${ws.name}: \`${describe(sessions[session].steps[step].call)}\``;
    // Which files make the difference, and are they ones rg's file walk
    // skips without a -g (ignored or hidden)? rg's -g globs re-include such files.
    const [pa, pb] = [answerPaths(a), answerPaths(b)];
    const onlyDaemon = [...pa].filter((f) => !pb.has(f));
    const onlyRg = [...pb].filter((f) => !pa.has(f));
    const searched = ws.searched ??= new Set(ws.files);
    const ignoredOnly = onlyDaemon.length === 0 && onlyRg.length > 0 &&
      onlyRg.every((f) => !searched.has(f));
    const what = `${where}: daemon ${da.split(":")[0]} lines, subprocess ${db.split(":")[0]}` +
      (ignoredOnly
        ? `; the extra lines are from ${onlyRg.length} file(s) that rg skips without a -g ` +
          `(ignored or hidden) and its -g re-includes (e.g. ${onlyRg[0]})`
        : `; files only in the daemon's answer: ${onlyDaemon.length}, only in rg's: ${onlyRg.length}`);
    if (!differing.has(where)) {
      differing.add(where);
      log(`answers differ: ${what}`);
      if (c.examples.length < 6) c.examples.push(what);
    }
  }
  return c;
}

// ------------------------------------------------------------------ daemon setup

/** A workspace as loaded by the daemon. */
interface Loaded {
  ws: WorkspaceSpec;
  open: OpenAnswer;
  openMs: number;
  sketchMs: number;
  /** VmRSS growth over the open and its sketches. */
  rssGrowth: number;
}

/** Opens each workspace in turn through `client`, waiting for its sketches, measuring memory. */
async function loadAll(
  daemon: DaemonProcess,
  client: DaemonClient,
  wss: WorkspaceSpec[],
): Promise<Loaded[]> {
  const out: Loaded[] = [];
  for (const ws of wss) {
    const before = daemon.rss();
    const t = performance.now();
    const open = await client.request<OpenAnswer>("open", { root: ws.root });
    const openMs = performance.now() - t;
    const sketchMs = await waitForSketches(client);
    await sleep(300); // let the worker's transient buffers go before reading RSS
    out.push({ ws, open, openMs, sketchMs, rssGrowth: daemon.rss() - before });
    log(
      `opened ${ws.name}: ${open.files} files, ${mib(open.bytes)} in ${openMs.toFixed(0)} ms ` +
        `(+${sketchMs.toFixed(0)} ms sketches), RSS +${mib(out.at(-1)!.rssGrowth)}`,
    );
  }
  return out;
}

// ------------------------------------------------------------------ the phases

const info = await runInfo();
const removeSignalHandlers = DaemonProcess.stopAllOnSignal("load");
const started = performance.now();
log(
  `${config.sessions} sessions on ${workspaceText}, think ${config.think.min}-${config.think.max} ms; load average ${info.loadStart}`,
);

/** The main comparison: memory, load, N sessions on both paths. */
interface MainResult {
  loaded: Loaded[];
  rssBefore: number;
  rssAfterLoad: number;
  sharing: { one: number; ten: number; twoRepos?: number };
  statsLoaded: DaemonStats;
  statsRunning: DaemonStats;
  daemon: RunResult;
  subprocess: RunResult;
  openMs: number[];
  answers: ReturnType<typeof compareAnswers>;
  /** In-process search times of the run's distinct greps, by kind. */
  engine: Map<string, number[]>;
  sessionCurve: { daemon: RunResult; subprocess: RunResult }[];
}

/**
 * The engine's share of a grep: each distinct grep of the sessions run twice
 * more in this process on a sketched `Workspace`, as the daemon's worker
 * holds it, without socket, queue or other load.
 * @returns Times in ms of the second runs by kind of search (and "all"), and
 * of the first runs under "first:" and the kind.
 */
async function engineTimes(sessions: Session[]): Promise<Map<string, number[]>> {
  const byKind = new Map<string, number[]>();
  const perWorkspace = new Map<WorkspaceSpec, Map<string, AgentSearch>>();
  for (const s of sessions) {
    for (const { call } of s.steps) {
      if (call.tool !== "grep") continue;
      const searches = perWorkspace.get(s.ws) ?? new Map<string, AgentSearch>();
      searches.set(qwenArgs(call.search).join("\0"), call.search);
      perWorkspace.set(s.ws, searches);
    }
  }
  for (const [spec, searches] of perWorkspace) {
    log(`engine: ${searches.size} distinct greps in-process on ${spec.name}`);
    const ws = await Workspace.open(spec.root);
    try {
      ws.buildSketches();
      const push = (kind: string, took: number) =>
        byKind.set(kind, [...byKind.get(kind) ?? [], took]);
      for (const search of searches.values()) {
        const args = qwenArgs(search);
        // The first run pays what a new search pays in the daemon (parsing,
        // compiling, choosing files); the second shows what is left.
        const t0 = performance.now();
        ws.run(args);
        const t1 = performance.now();
        ws.run(args);
        const t2 = performance.now();
        for (const kind of ["all", search.label]) {
          push(`first:${kind}`, t1 - t0);
          push(kind, t2 - t1);
        }
      }
    } finally {
      ws.close();
    }
  }
  return byKind;
}

/** One point of the size curve. */
interface SizePoint {
  mb: number;
  loaded: Loaded[];
  rss: number;
  daemon: RunResult;
  subprocess: RunResult;
}

let main: MainResult | undefined;
/** Temporary workspaces of {@link warmWorkers}, removed at the end. */
const warmupDirs: string[] = [];
const sizeCurve: SizePoint[] = [];

try {
  if (config.runMain || config.runScale) {
    const wss = await workspaces(config.mb, config.repos, trees);
    const daemon = await startDaemon();
    try {
      main = await mainPhase(daemon, wss);
    } finally {
      await daemon.stop();
    }
  }
  if (config.runScale) {
    for (const mb of config.scaleMb) sizeCurve.push(await sizePoint(mb));
  }
} finally {
  removeSignalHandlers();
  for (const dir of warmupDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/**
 * Opens one tiny workspace per search worker and keeps it, so that the
 * memory measured for the first real workspace is its own and not also the
 * worker's first use (code, WebAssembly instance): a new workspace goes to
 * the worker holding the fewest.
 */
async function warmWorkers(admin: DaemonClient): Promise<void> {
  const count = config.workers ?? navigator.hardwareConcurrency;
  for (let i = 0; i < count; i++) {
    const dir = await Deno.makeTempDir({ prefix: "curserve-load-warmup-" });
    warmupDirs.push(dir);
    await generateCorpus(dir, 20_000, i);
    await admin.request<OpenAnswer>("open", { root: dir });
  }
  await waitForSketches(admin);
}

async function mainPhase(daemon: DaemonProcess, wss: WorkspaceSpec[]): Promise<MainResult> {
  const admin = await DaemonClient.connect(daemon.socket);
  await warmWorkers(admin);
  await sleep(500);
  const rssBefore = daemon.rss();
  // Memory of sharing: the first repo, then nine more users opening it.
  const [first] = await loadAll(daemon, admin, wss.slice(0, 1));
  const users: DaemonClient[] = [];
  for (let i = 0; i < 9; i++) {
    const c = await DaemonClient.connect(daemon.socket);
    await c.request<OpenAnswer>("open", { root: wss[0].root });
    users.push(c);
  }
  await sleep(300);
  const ten = daemon.rss() - rssBefore;
  for (const c of users) c.close();
  const rest = await loadAll(daemon, admin, wss.slice(1));
  const loaded = [first, ...rest];
  const sharing = {
    one: first.rssGrowth,
    ten,
    twoRepos: rest.length ? first.rssGrowth + rest[0].rssGrowth : undefined,
  };
  const statsLoaded = await admin.request<DaemonStats>("stats");
  const rssAfterLoad = daemon.rss();
  log(
    `10 users on ${wss[0].name}: RSS +${mib(ten)} vs +${mib(first.rssGrowth)} for one ` +
      `(${(ten / first.rssGrowth).toFixed(2)}×)`,
  );

  const sessionCurve: MainResult["sessionCurve"] = [];
  let d: RunResult | undefined, s: RunResult | undefined;
  let openMs: number[] = [];
  let statsRunning = statsLoaded;
  let answers = compareAnswers({} as RunResult, {} as RunResult, []);
  let engine = new Map<string, number[]>();
  if (config.runMain) {
    const sessions = sessionScripts(config.sessions, config.requests, wss);
    const dp = new DaemonPath(daemon);
    d = await runSessions(
      `daemon, ${config.sessions} sessions`,
      dp,
      sessions,
      true,
      daemon,
      // Stats while every session is connected and has opened its workspace.
      async () => void (statsRunning = await admin.request<DaemonStats>("stats")),
    );
    openMs = dp.openMs;
    s = await runSessions(
      `subprocess, ${config.sessions} sessions`,
      new SubprocessPath(),
      sessions,
      true,
    );
    answers = compareAnswers(d, s, sessions);
    d.answers = s.answers = undefined; // let them go
    log(
      `answers: grep ${answers.grepSame}/${answers.grep} the same (${answers.truncated} cut at 1 MiB), ` +
        `glob ${answers.globSame}/${answers.glob}`,
    );
    engine = await engineTimes(sessions);
  }
  if (config.runScale) {
    for (const n of config.scaleSessions) {
      if (d && s && n === config.sessions) {
        sessionCurve.push({ daemon: d, subprocess: s });
        continue;
      }
      // Few sessions make few calls: more calls each, so that percentiles rest on
      // at least 100 calls where that costs at most 20 calls a session.
      const calls = Math.max(config.scaleRequests, Math.min(20, Math.ceil(100 / n)));
      const sessions = sessionScripts(n, calls, wss);
      sessionCurve.push({
        daemon: await runSessions(
          `scale: daemon, ${n} sessions`,
          new DaemonPath(daemon),
          sessions,
          false,
          daemon,
        ),
        subprocess: await runSessions(
          `scale: subprocess, ${n} sessions`,
          new SubprocessPath(),
          sessions,
          false,
        ),
      });
    }
  }
  admin.close();
  return {
    loaded,
    rssBefore,
    rssAfterLoad,
    sharing,
    statsLoaded,
    statsRunning,
    daemon: d!,
    subprocess: s!,
    openMs,
    answers,
    engine,
    sessionCurve,
  };
}

async function sizePoint(mb: number): Promise<SizePoint> {
  // Trees have their own size: the size curve uses generated repos only.
  const repos = Math.max(1, config.repos);
  log(`scale: ${repos} repos of ${mb} MB`);
  const wss = await workspaces(mb, repos, []);
  const daemon = await startDaemon();
  try {
    const admin = await DaemonClient.connect(daemon.socket);
    await warmWorkers(admin);
    const loaded = await loadAll(daemon, admin, wss);
    const rss = daemon.rss();
    admin.close();
    const sessions = sessionScripts(sizeCurveSessions, config.scaleRequests, wss);
    const tag = `scale: ${mb} MB, ${sizeCurveSessions} sessions`;
    return {
      mb,
      loaded,
      rss,
      daemon: await runSessions(`${tag}, daemon`, new DaemonPath(daemon), sessions, false, daemon),
      subprocess: await runSessions(`${tag}, subprocess`, new SubprocessPath(), sessions, false),
    };
  } finally {
    await daemon.stop();
  }
}

// ------------------------------------------------------------------ the report

const yesNo = (b: boolean) => (b ? "yes" : "**no**");
const ratio = (a: number, b: number) =>
  b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(a / b < 1 ? 2 : 1)}×` : "–";
const rate = (r: RunResult) => (r.all.length / (r.wallMs / 1000)).toFixed(1);
const thinkText = `${config.think.min}–${config.think.max} ms`;
const mixText = TOOLS.filter((t) => config.mix[t] > 0).map((t) => `${t} ${config.mix[t]}`).join(
  ", ",
);

function latencyRows(d: RunResult, s: RunResult): string {
  const rows: string[] = [];
  const row = (name: string, path: string, x: Summary, errors: number | string, vs: string) =>
    `| ${name} | ${path} | ${x.n} | ${errors} | ${ms(x.p50)} | ${ms(x.p95)} | ${ms(x.p99)} | ${
      ms(x.max)
    } | ${vs} |`;
  for (const t of [...TOOLS, "all"] as const) {
    const dx = summarize(t === "all" ? d.all : d.byTool[t]);
    const sx = summarize(t === "all" ? s.all : s.byTool[t]);
    const name = t === "all" ? "**all**" : `\`${t}\``;
    rows.push(row(name, "daemon", dx, t === "all" ? d.errors : "", ratio(sx.p50, dx.p50)));
    rows.push(row(name, "subprocess / fs", sx, t === "all" ? s.errors : "", ""));
  }
  return rows.join("\n");
}

function kindRows(d: RunResult, s: RunResult, engine: Map<string, number[]>): string {
  const row = (k: string, dxs: number[], sxs: number[]) => {
    const [dx, sx] = [summarize(dxs), summarize(sxs)];
    return `| ${k} | ${dx.n} | ${ms(summarize(engine.get(`first:${k}`) ?? []).p50)} / ${
      ms(summarize(engine.get(k) ?? []).p50)
    } | ${ms(dx.p50)} | ${ms(dx.p99)} | ${ms(sx.p50)} | ${ms(sx.p99)} | ${ratio(sx.p50, dx.p50)} |`;
  };
  return [
    ...[...d.byKind.keys()].sort().map((k) => row(k, d.byKind.get(k)!, s.byKind.get(k) ?? [])),
    row("all", d.byTool.grep, s.byTool.grep).replace("| all |", "| **all** |"),
  ].join("\n");
}

/** Machine CPU busy during a run, as a share of all cores. */
const busy = (r: RunResult) =>
  `${
    (100 * r.cpu.machineBusy / r.cpu.machineTotal).toFixed(0)
  }% of ${navigator.hardwareConcurrency} cores`;
const cpuText = (seconds: number, r: RunResult) =>
  `${seconds.toFixed(1)} s (${(100 * seconds / (r.wallMs / 1000)).toFixed(0)}% of one core)`;
const lagText = (r: RunResult) => `${ms(r.lag.p50)} / ${ms(r.lag.p99)} / ${ms(r.lag.max)}`;

function insideRows(r: RunResult): string {
  return TOOLS.map((t) => {
    const [i, c] = [summarize(r.inside?.[t] ?? []), summarize(r.byTool[t])];
    return `| \`${t}\` | ${ms(i.p50)} / ${ms(i.p99)} | ${ms(c.p50)} / ${ms(c.p99)} |`;
  }).join("\n");
}

/** The slowest calls of a run, as a markdown list. */
function slowestList(r: RunResult): string {
  return r.slowest.map((c) => `- ${ms(c.ms)} ms: ${c.call.replaceAll("|", "\\|")}`).join("\n");
}

function curveRow(head: string, d: RunResult, s: RunResult, extra = ""): string {
  const [da, dg, sa, sg] = [
    summarize(d.all),
    summarize(d.byTool.grep),
    summarize(s.all),
    summarize(s.byTool.grep),
  ];
  return `| ${head} | ${d.all.length} | ${ms(da.p50)} | ${ms(da.p99)} | ${ms(dg.p50)} | ${
    ms(dg.p99)
  } | ${rate(d)} | ` +
    `${ms(sa.p50)} | ${ms(sa.p99)} | ${ms(sg.p50)} | ${ms(sg.p99)} | ${rate(s)} | ${
      ratio(sg.p50, dg.p50)
    } | ${(100 * d.cpu.machineBusy / d.cpu.machineTotal).toFixed(0)}% / ${
      (100 * s.cpu.machineBusy / s.cpu.machineTotal).toFixed(0)
    }% |${extra}`;
}

function report(): string {
  const parts: string[] = [];
  const wsCount = config.repos + trees.length;
  parts.push(`## curserve load: ${config.sessions} agent sessions, daemon vs rg subprocesses

${runHeader(info)}
- Daemon: \`deno run -A daemon.ts --verbose --socket <tmp>${
    config.workers === undefined ? "" : ` --workers ${config.workers}`
  }${config.daemonFlags.map((f) => ` ${f}`).join("")}\` (${
    config.workers ?? `${2 * navigator.hardwareConcurrency}, two per core,`
  } workers; the daemon's defaults otherwise, e.g. how it splits big workspaces into shards across
  workers); clients: \`DaemonClient\` (mod.ts), one connection per session, in the bench process
- Workspaces: ${
    config.repos
      ? `${config.repos} generated repos of ${config.mb} MB (\`cachedCorpus\`, seeds ${config.seed}–${
        config.seed + config.repos - 1
      })`
      : ""
  }${config.repos && trees.length ? " + " : ""}${
    trees.map((t) => `\`${t}\``).join(", ")
  }; session i on workspace i mod ${wsCount} (~${
    Math.round(config.sessions / wsCount)
  } users per repo)
- Mix: ${mixText}; think time before each call uniform ${thinkText}; seed ${config.seed}
- Whole run: ${
    ((performance.now() - started) / 1000).toFixed(0)
  } s. Method: see the module doc of \`bench/load.ts\`; times are client round trips in ms`);

  if (main?.daemon) {
    const m = main;
    const dg = summarize(m.daemon.byTool.grep);
    const sg = summarize(m.subprocess.byTool.grep);
    const shareRatio = m.sharing.ten / m.sharing.one;
    parts.push(`### Targets (issue 5)

| target | measured | met |
|---|---|:-:|
| grep p50 under 2 ms (this run: ${config.sessions} sessions on ${workspaceText}) | ${
      ms(dg.p50)
    } ms | ${yesNo(dg.p50 < 2)} |
| grep p99 under 20 ms | ${ms(dg.p99)} ms | ${yesNo(dg.p99 < 20)} |
| grep p50 at least 10× below the subprocess path's | ${ms(sg.p50)} / ${ms(dg.p50)} = ${
      ratio(sg.p50, dg.p50)
    } | ${yesNo(sg.p50 / dg.p50 >= 10)} |
| 10 users on one repo under 1.5× the memory of one copy | ${shareRatio.toFixed(2)}× (RSS +${
      mib(m.sharing.ten)
    } vs +${mib(m.sharing.one)}) | ${yesNo(shareRatio < 1.5)} |

The machine's CPU was ${busy(m.daemon)} busy during the daemon run (the daemon's own share: ${
      cpuText(m.daemon.cpu.daemon, m.daemon)
    }) and ${
      busy(m.subprocess)
    } during the subprocess run; the rest is the bench's clients (with, in the subprocess run, its rg
processes) and whatever else the machine was doing.
${
      config.sessions === 100 && config.repos > 0 && config.mb >= 40 && config.mb <= 60
        ? ""
        : "\n(The targets are set for 100 sessions on ~50 MB repos; this run's setup differs.)\n"
    }
### Latency: ${config.sessions} sessions × ${config.requests} calls

![latency CDF, daemon vs subprocess](${plotName})

| tool | path | calls | errors | p50 ms | p95 ms | p99 ms | max ms | subprocess p50 / daemon p50 |
|---|---|--:|--:|--:|--:|--:|--:|--:|
${latencyRows(m.daemon, m.subprocess)}

| run | daemon | subprocess / fs |
|---|--:|--:|
| wall time | ${(m.daemon.wallMs / 1000).toFixed(1)} s | ${
      (m.subprocess.wallMs / 1000).toFixed(1)
    } s |
| calls per second | ${rate(m.daemon)} | ${rate(m.subprocess)} |
| grep calls per second | ${
      (m.daemon.byTool.grep.length / (m.daemon.wallMs / 1000)).toFixed(1)
    } | ${(m.subprocess.byTool.grep.length / (m.subprocess.wallMs / 1000)).toFixed(1)} |
| machine CPU busy (all processes, anyone's) | ${busy(m.daemon)} | ${busy(m.subprocess)} |
| daemon CPU | ${cpuText(m.daemon.cpu.daemon, m.daemon)} | – |
| bench process CPU (the sessions' clients; with its rg children) | ${
      cpuText(m.daemon.cpu.bench, m.daemon)
    } | ${cpuText(m.subprocess.cpu.bench, m.subprocess)} |
| bench event loop late by, p50 / p99 / max ms | ${lagText(m.daemon)} | ${lagText(m.subprocess)} |

The bench's event loop runs every session's client: when it is late, answers that have arrived
wait to be timed, so its lateness is part of both paths' latencies (real agents are separate
processes).

Where a daemon call's time goes: inside the daemon (its \`--verbose\` log: from reading the request
to the answer being ready, so waiting for a worker plus the work) against the client's round trip
(plus JSON, the socket and the bench's event loop):

| tool | inside the daemon p50 / p99 ms | client round trip p50 / p99 ms |
|---|--:|--:|
${insideRows(m.daemon)}

The slowest daemon calls:

${slowestList(m.daemon)}

grep by kind of search (identifiers drawn from each repo's own files):

| search | calls | engine alone, first / second run, p50 of distinct greps | daemon p50 | daemon p99 | subprocess p50 | subprocess p99 | ratio of p50s |
|---|--:|--:|--:|--:|--:|--:|--:|
${kindRows(m.daemon, m.subprocess, m.engine)}

"Engine alone": each distinct grep of the run twice more in the bench process on a sketched
\`Workspace\` (mod.ts): the search's own cost, without socket, queue or load; the first run pays
what a search new to the daemon pays (most of the run's greps are new), the second what is left.

- Same answers on both paths (as sets of lines): grep ${m.answers.grepSame} of ${m.answers.grep}${
      m.answers.truncated
        ? ` (another ${m.answers.truncated} cut by the daemon at 1 MiB, not compared)`
        : ""
    }, glob ${m.answers.globSame} of ${m.answers.glob}${
      m.answers.globTruncated
        ? ` (another ${m.answers.globTruncated} cut by the daemon's default limit of 10,000 files)`
        : ""
    }${
      m.answers.examples.length
        ? `. Calls answered differently (first ${m.answers.examples.length}):\n${
          m.answers.examples.map((e) => `  - ${e.replaceAll("|", "\\|")}`).join("\n")
        }`
        : ""
    }.
- Each session's \`open\` of its already-loaded, shared workspace: p50 ${
      ms(summarize(m.openMs).p50)
    } ms, max ${ms(summarize(m.openMs).max)} ms.${
      m.daemon.errorExamples.length || m.subprocess.errorExamples.length
        ? `\n- First errors: ${
          [...m.daemon.errorExamples, ...m.subprocess.errorExamples].join("; ").replaceAll(
            "|",
            "\\|",
          )
        }`
        : ""
    }`);
  }

  if (main) {
    const m = main;
    const held = m.loaded.reduce((a, l) => a + l.open.bytes, 0);
    const disk = m.loaded.reduce((a, l) => a + l.ws.diskBytes, 0);
    const perSessionDisk = Array.from(
      { length: config.sessions },
      (_, i) => m.loaded[i % m.loaded.length].ws.diskBytes,
    )
      .reduce((a, b) => a + b, 0);
    const heldBy = (l: Loaded) => m.statsRunning.workspaces.find((w) => w.root === l.open.root);
    parts.push(`### Memory and load per workspace

| workspace | clients holding it during the run (its sessions + the bench's) | shards | files held | bytes of every file under it | bytes held | daemon load_ms | open round trip ms | sketches done after ms | daemon RSS growth |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${
      m.loaded.map((l) =>
        `| ${l.ws.name} | ${heldBy(l)?.clients ?? "–"} | ${
          heldBy(l)?.shards ?? "–"
        } | ${l.open.files} | ${mib(l.ws.diskBytes)} | ${mib(l.open.bytes)} | ${l.open.load_ms} | ${
          l.openMs.toFixed(0)
        } | ${l.sketchMs.toFixed(0)} | ${mib(l.rssGrowth)} |`
      ).join("\n")
    }

| memory | |
|---|---|
| daemon RSS before any open | ${mib(m.rssBefore)} |
| daemon RSS with every workspace loaded | ${mib(m.rssAfterLoad)} (\`stats\`: ${
      mib(m.statsLoaded.rss_bytes)
    }) |
| bytes held, all workspaces / bytes on disk of the distinct repos | ${mib(held)} / ${mib(disk)} (${
      (held / disk).toFixed(2)
    }) |
| RSS growth for all workspaces / bytes held | ${mib(m.rssAfterLoad - m.rssBefore)} / ${
      mib(held)
    } (${((m.rssAfterLoad - m.rssBefore) / held).toFixed(2)}×) |
| 1 user on ${m.loaded[0].ws.name}: RSS growth | ${mib(m.sharing.one)} |
| 10 users on ${m.loaded[0].ws.name}: RSS growth | ${mib(m.sharing.ten)} (**${
      (m.sharing.ten / m.sharing.one).toFixed(2)
    }×** one copy) |
${
      m.sharing.twoRepos
        ? `| for contrast, 2 different repos: RSS growth | ${mib(m.sharing.twoRepos)} (${
          (m.sharing.twoRepos / m.sharing.one).toFixed(2)
        }×) |\n`
        : ""
    }${
      m.daemon
        ? `| daemon peak RSS during the ${config.sessions}-session run (VmHWM) | ${
          mib(m.daemon.peakRss ?? NaN)
        } |
| daemon memory per session in that run: (peak RSS − RSS before any open) / sessions | ${
          mib(((m.daemon.peakRss ?? NaN) - m.rssBefore) / config.sessions)
        } (a private copy per session would be ${
          mib(perSessionDisk / config.sessions)
        } of files each, ${mib(perSessionDisk)} in all) |
| clients the daemon counted during the run | ${m.statsRunning.clients} |
`
        : ""
    }
The subprocess path holds nothing between calls; it relies on the kernel's page cache keeping the
same files (${mib(disk)}) warm, and pays a process start and a directory walk per search.`);
  }

  if (config.runScale && main) {
    parts.push(
      `### Scaling with sessions (${
        config.repos + trees.length
      } workspaces of the main run, ${config.scaleRequests} calls per session, more for few sessions: up to 20, for at least 100 calls${
        config.scaleSessions.includes(config.sessions) && config.runMain
          ? `; ${config.sessions}: the main run, ${config.requests} calls`
          : ""
      })

| sessions | calls | daemon p50 | daemon p99 | daemon grep p50 | daemon grep p99 | daemon calls/s | subprocess p50 | subprocess p99 | subprocess grep p50 | subprocess grep p99 | subprocess calls/s | grep p50 ratio | machine CPU busy, daemon / subprocess run |
|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${
        main.sessionCurve.map((p) => curveRow(String(p.daemon.sessions), p.daemon, p.subprocess))
          .join("\n")
      }

With think time, calls/s grows with sessions until something saturates. Nearest rank: over fewer
than 100 calls, p99 is the slowest call.${
        main.daemon || !plotted
          ? ""
          : `\n\n![latency CDF at ${plotted.daemon.sessions} sessions, daemon vs subprocess](${plotName})`
      }`,
    );
  }
  if (sizeCurve.length) {
    parts.push(
      `### Scaling with workspace size (${
        Math.max(1, config.repos)
      } generated repos per size, ${sizeCurveSessions} sessions × ${config.scaleRequests} calls, a fresh daemon each)

| repo size | calls | daemon p50 | daemon p99 | daemon grep p50 | daemon grep p99 | daemon calls/s | subprocess p50 | subprocess p99 | subprocess grep p50 | subprocess grep p99 | subprocess calls/s | grep p50 ratio | machine CPU busy, daemon / subprocess run | load_ms per repo | daemon RSS loaded |
|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${
        sizeCurve.map((p) =>
          curveRow(
            `${p.mb} MB`,
            p.daemon,
            p.subprocess,
            ` ${p.loaded.map((l) => l.open.load_ms).join(", ")} | ${mib(p.rss)} |`,
          )
        ).join("\n")
      }`,
    );
  }
  return parts.join("\n\n");
}

// ------------------------------------------------------------------ output

const day = info.started.toISOString().slice(0, 10);
const suffix = quick
  ? "-quick"
  : values.scale
  ? "-scale"
  : trees.length
  ? `-${trees.map((t) => basename(t)).join("-")}`
  : "";
const outDir = values.out ??
  (quick
    ? await Deno.makeTempDir({ prefix: "curserve-load-" })
    : new URL("./results/", import.meta.url).pathname);
const base = `${day}-load${suffix}`;
const plotName = `${base}-cdf.png`;
/** The run the plot shows: the main one, else (with --scale) the most sessions of the curve. */
const plotted: { daemon: RunResult; subprocess: RunResult } | undefined = main?.daemon
  ? { daemon: main.daemon, subprocess: main.subprocess }
  : main?.sessionCurve.reduce(
    (a: { daemon: RunResult; subprocess: RunResult } | undefined, p) =>
      !a || p.daemon.sessions > a.daemon.sessions ? p : a,
    undefined,
  );
await Deno.mkdir(outDir, { recursive: true });
const text = report();
const mdPath = join(outDir, `${base}.md`);
await Deno.writeTextFile(mdPath, text + "\n");
log(`wrote ${mdPath}`);

if (plotted) {
  const m = plotted;
  const dAll = summarize(m.daemon.all);
  const sAll = summarize(m.subprocess.all);
  const dg = summarize(m.daemon.byTool.grep);
  const sg = summarize(m.subprocess.byTool.grep);
  const t = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${ms(v)} ms`);
  const label = (name: string, x: Summary) => `${name} (p50 ${t(x.p50)}, p99 ${t(x.p99)})`;
  const series: Series[] = [
    { label: label("daemon, all tools", dAll), samples: m.daemon.all, color: "#1f77b4" },
    {
      label: label("daemon, grep", dg),
      samples: m.daemon.byTool.grep,
      color: "#1f77b4",
      dashed: true,
    },
    {
      label: label("subprocesses + fs, all tools", sAll),
      samples: m.subprocess.all,
      color: "#d62728",
    },
    {
      label: label("rg subprocess, grep", sg),
      samples: m.subprocess.byTool.grep,
      color: "#d62728",
      dashed: true,
    },
  ];
  const svg = cdfSvg(series, {
    title: `Tool-call latency: ${m.daemon.sessions} agent sessions, daemon vs rg subprocesses`,
    subtitle:
      `${workspaceText}; think ${thinkText}; ${navigator.hardwareConcurrency} cores; ${day}; curserve ${info.gitHead}`,
  });
  const pngPath = join(outDir, plotName);
  await Deno.writeFile(pngPath, await svgToPng(svg));
  log(`wrote ${pngPath}`);
}
console.log(text);
