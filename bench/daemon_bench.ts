/**
 * The daemon under load: request latency through the Unix socket against an
 * `rg` subprocess for the same search, then many clients at once.
 *
 * ```sh
 * deno run -A bench/daemon_bench.ts                          # generated 50 MB corpus, 100 clients
 * deno run -A bench/daemon_bench.ts --quick                  # a smoke run (prints, writes nothing)
 * deno run -A bench/daemon_bench.ts --tree ~/.cache/curserve/linux-6.1 --runs 11 --clients 20 --requests 10
 * ```
 *
 * Options: `--tree PATH` (else the generated `--mb` corpus, default 50, from
 * `cachedCorpus(mb, --seed)`), `--runs N` sequential rounds per search
 * (default 21), `--clients C` (default 100), `--requests N` per client
 * (default 40), `--think-ms T` (each client waits a seeded uniform 0..T ms
 * before each request, default 20), `--workers N` (passed to the daemon;
 * default: its own, one per core), `--no-pin` (passed to the daemon: workers
 * free to run on any CPU), `--quick` (3 runs, 10 clients × 5
 * requests, nothing written), `--out FILE`.
 *
 * Method, so the numbers can be quoted honestly:
 * - A real daemon subprocess (`deno run -A daemon.ts --socket <tmp>`) is
 *   started, the workspace is opened through the protocol (its load time is
 *   reported separately), and the daemon is killed at the end, always.
 * - Searches use qwen-code's rg options: it always sends `--ignore-case
 *   --line-number --with-filename --no-heading`, here `-i -n -H --no-heading`,
 *   plus `-g GLOB` when the agent gave an include, and `-e PATTERN`. The
 *   patterns are the kind agents send: identifiers, definitions, error
 *   messages, alternations, a search that finds nothing.
 * - Sequential: one client, one request at a time. Per search, one untimed
 *   warmup of each side, then `--runs` rounds that each time one rg
 *   subprocess (default parallel mode, unsorted, as agents run it, stdout
 *   piped and fully read, process start included) and one daemon `grep`
 *   request (the full client round trip: JSON encode, socket, queueing,
 *   search, JSON decode) back to back, alternating which goes first.
 *   Medians of those rounds; ratio = rg median / daemon median (above 1: the
 *   daemon is faster); p50/p99 are nearest-rank (with fewer than 100 runs,
 *   p99 is the slowest run). "identical": the daemon's stdout (no size cap)
 *   is byte-for-byte `rg --sort path`'s, with the same exit status.
 * - Concurrent: C clients, each on its own connection, each opening the same
 *   (already loaded, so shared) workspace, then sending N requests one after
 *   another with a seeded think time before each: 50% `grep` (the same
 *   searches, default 1 MiB result cap, as an agent would get), 20%
 *   `read_file` (a random held file, first 2000 lines or a window further
 *   in), 15% `glob` (`**\/*.ext`, `dir/**\/*.ext`), 15% `list_directory`. All
 *   clients start together; latency is each request's client round trip;
 *   requests/second is completed requests over the wall time of the whole
 *   run. Every grep answer is checked against the sequential phase's answer
 *   for the same search (a prefix of it when truncated).
 * - The bench process (all clients) shares the machine with the daemon, as
 *   agents on one server would; the load average is recorded at start and
 *   end because these machines are shared.
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join } from "node:path";
import { DaemonClient, Workspace } from "../mod.ts";
import {
  type AgentSearch,
  pickRead,
  pickTool,
  qwenArgs,
  thinkMs as drawThink,
  type Tool,
  type ToolMix,
  workspaceShape,
} from "./agent_mix.ts";
import { cachedCorpus, mulberry32 } from "./corpus.ts";
import {
  DaemonProcess,
  type DaemonStats as Stats,
  type GrepAnswer,
  stdoutBytes,
  waitForSketches,
} from "./daemon_process.ts";
import {
  countLines,
  intOption as int,
  loadavg,
  median,
  mib,
  ms,
  percentile,
  runHeader,
  runInfo,
  runRg,
  sameBytes,
  shellWord,
  sleep,
} from "./stats.ts";

// ------------------------------------------------------------------ options

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tree: { type: "string" },
    mb: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    runs: { type: "string" },
    clients: { type: "string" },
    requests: { type: "string" },
    "think-ms": { type: "string", default: "20" },
    workers: { type: "string" },
    "no-pin": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "usage: deno run -A bench/daemon_bench.ts [--tree PATH | --mb MB [--seed S]] [--runs N]\n" +
      "         [--clients C] [--requests N] [--think-ms T] [--workers N] [--no-pin] [--quick]\n" +
      "         [--out FILE]",
  );
  Deno.exit(0);
}

const quick = values.quick;
const runs = int("runs", values.runs, quick ? 3 : 21);
const clientCount = int("clients", values.clients, quick ? 10 : 100);
const requestsPerClient = int("requests", values.requests, quick ? 5 : 40);
const thinkMs = int("think-ms", values["think-ms"], 20, 0);
const workers = values.workers === undefined ? undefined : int("workers", values.workers, 0);
const seed = int("seed", values.seed, 1, 0);
const mb = Number(values.mb);
if (!values.tree && !(mb > 0)) throw new RangeError(`--mb must be positive, got ${values.mb}`);

const root = values.tree ? await Deno.realPath(values.tree) : await cachedCorpus(mb, seed);
const corpusName = values.tree ? basename(root) : `gen-${mb}mb`;

// ------------------------------------------------------------------ searches

/** Searches for the Linux tree and other C trees. */
const TREE_SEARCHES: AgentSearch[] = [
  { label: "identifier", pattern: "kmalloc_array" },
  { label: "definition, *.c", pattern: "struct file_operations .* = \\{", glob: "*.c" },
  { label: "regex, inner literal", pattern: "EXPORT_SYMBOL_GPL\\(\\w+_register" },
  { label: "function defs, *.c", pattern: "static int \\w+_probe\\(", glob: "*.c" },
  { label: "identifier, *.h", pattern: "spin_lock_irqsave", glob: "*.h" },
  { label: "alternation", pattern: "TODO|FIXME" },
  { label: "macro definition", pattern: "#define\\s+PAGE_SHIFT" },
  { label: "call sites, *.c", pattern: "copy_from_user", glob: "*.c" },
  { label: "rare identifier", pattern: "ext4_fill_super" },
  { label: "error message", pattern: "failed to allocate" },
  { label: "escaped literal", pattern: 'MODULE_LICENSE\\("GPL v2"\\)' },
  { label: "no match", pattern: "curserve_no_such_symbol" },
];

/** Searches for {@link cachedCorpus} trees. */
const GENERATED_SEARCHES: AgentSearch[] = [
  { label: "identifier", pattern: "get_buffer" },
  { label: "definitions, *.rs", pattern: "fn parse_\\w+", glob: "*.rs" },
  { label: "methods, *.go", pattern: "func \\(\\w+ \\*\\w+\\) Get", glob: "*.go" },
  { label: "error message", pattern: "failed to probe" },
  { label: "alternation", pattern: "Sherlock|Holmes" },
  { label: "constant", pattern: "PM_SUSPEND" },
  { label: "definitions, *.py", pattern: "def validate_\\w+\\(", glob: "*.py" },
  { label: "classes, *.java", pattern: "class \\w+", glob: "*.java" },
  { label: "interfaces, *.ts", pattern: "interface \\w+", glob: "*.ts" },
  { label: "inner literal", pattern: "\\w+_MAX_\\w+ =" },
  { label: "alternation, none", pattern: "TODO|FIXME" },
  { label: "no match", pattern: "curserve_no_such_symbol" },
];

const searches = values.tree ? TREE_SEARCHES : GENERATED_SEARCHES;

/** The concurrent phase's tool mix: half searches. */
const MIX: ToolMix = { grep: 50, read_file: 20, glob: 15, list_directory: 15 };

const rg = (args: string[]) => runRg(root, args);

// ------------------------------------------------------------------ the run

const info = await runInfo();
const rgFileList = new TextDecoder().decode((await rg(["--files", "--sort", "path"])).stdout)
  .split("\n").filter((f) => f !== "");

console.error(
  `daemon_bench: ${root} (${rgFileList.length} files), load average ${info.loadStart}`,
);

const removeSignalHandlers = DaemonProcess.stopAllOnSignal("daemon_bench");
const daemon = await DaemonProcess.start(workers, {
  flags: values["no-pin"] ? ["--no-pin"] : [],
});
let report = "";
try {
  report = await run();
} finally {
  await daemon.stop();
  removeSignalHandlers();
}
console.log(report);
if (!quick) {
  const out = values.out ??
    new URL(
      `./results/${info.started.toISOString().slice(0, 10)}-daemon-${corpusName}.md`,
      import.meta.url,
    ).pathname;
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeTextFile(out, report + "\n");
  console.error(`daemon_bench: wrote ${out}`);
}

async function run(): Promise<string> {
  const main = await DaemonClient.connect(daemon.socket);
  const t0 = performance.now();
  const opened = await main.request<
    { workspace: string; files: number; bytes: number; load_ms: number }
  >("open", { root });
  const openMs = performance.now() - t0;
  const workspace = opened.workspace;
  console.error(
    `daemon_bench: opened ${opened.files} files, ${mib(opened.bytes)} in ${openMs.toFixed(0)} ms`,
  );
  // Measure the steady state: the daemon sketches files in the background
  // after an open, and searches skip fewer files until it is done.
  const sketchMs = await waitForSketches(main);
  console.error(`daemon_bench: background sketches done ${sketchMs.toFixed(0)} ms after open`);
  const statsAfterOpen = await main.request<Stats>("stats");

  // ---------------------------------------------------------- sequential
  const { dirs, topExts, globs, topDirs } = workspaceShape(rgFileList);

  // The other tools one at a time: what an agent waits for when nobody else
  // is using the daemon (list_directory and a short read_file are the
  // protocol's floor).
  let largest = rgFileList[0];
  let largestSize = -1;
  for (const f of rgFileList) {
    const size = Deno.statSync(join(root, f)).size;
    if (size > largestSize && !/\.(png|json)$/.test(f)) [largest, largestSize] = [f, size];
  }
  const smallFile = rgFileList.find((f) => !/\.(png|json)$/.test(f)) ?? rgFileList[0];
  const toolCases: { label: string; method: string; params: Record<string, unknown> }[] = [
    { label: "`list_directory .`", method: "list_directory", params: { path: "." } },
    {
      label: `\`list_directory ${topDirs[0].dir}\``,
      method: "list_directory",
      params: { path: topDirs[0].dir },
    },
    {
      label: `\`read_file\` 20 lines of ${smallFile}`,
      method: "read_file",
      params: { path: smallFile, limit: 20 },
    },
    {
      label: `\`read_file\` 2000 lines of ${largest} (${(largestSize / 1024).toFixed(0)} KiB)`,
      method: "read_file",
      params: { path: largest },
    },
    { label: `\`glob ${globs[0]}\``, method: "glob", params: { pattern: globs[0] } },
    {
      label: `\`glob ${globs[topExts.length]}\``,
      method: "glob",
      params: { pattern: globs[topExts.length] },
    },
  ];
  const toolRowsSeq: string[] = [];
  for (const c of toolCases) {
    const xs: number[] = [];
    let answer: unknown;
    for (let i = 0; i <= Math.max(runs, 20); i++) {
      const t = performance.now();
      answer = await main.request(c.method, { workspace, ...c.params });
      if (i > 0) xs.push(performance.now() - t); // the first is a warmup
    }
    const a = answer as {
      entries?: unknown[];
      files?: unknown[];
      truncated?: boolean;
      content?: string;
      total_lines?: number;
    };
    const size = a.entries
      ? `${a.entries.length} entries`
      : a.files
      ? `${a.files.length} files${a.truncated ? " (truncated)" : ""}`
      : a.content !== undefined
      ? `${a.content.length} chars of ${a.total_lines} lines`
      : "";
    const sorted = [...xs].sort((a, b) => a - b);
    toolRowsSeq.push(
      `| ${c.label.replaceAll("|", "\\|")} | ${size} | ${ms(median(xs))} | ${
        ms(percentile(sorted, 99))
      } |`,
    );
  }
  // The same searches in this process, without the socket or a worker: the
  // engine's share of the daemon's time; sketched, as the daemon's is.
  const ws = await Workspace.open(root);
  ws.buildSketches();
  const rows: string[] = [];
  const ratios: number[] = [];
  const expected = new Map<AgentSearch, string>(); // the daemon's full stdout, for phase 2
  let notIdentical = 0;
  for (const s of searches) {
    const args = qwenArgs(s);
    const sorted = await rg(["--sort", "path", ...args]);
    const full = await main.request<GrepAnswer>("grep", {
      workspace,
      args,
      max_bytes: 2 ** 31 - 1,
    });
    const identical = sorted.code !== 2 && sorted.code === full.code && !full.truncated &&
      sameBytes(sorted.stdout, stdoutBytes(full));
    if (!identical) notIdentical++;
    expected.set(s, full.stdout);
    await rg(args); // warm up rg too (the daemon's warmup is the request above)
    ws.run(args); // warm up the in-process workspace
    const rgMs: number[] = [];
    const dMs: number[] = [];
    const inMs: number[] = [];
    const timeRg = async () => {
      const t = performance.now();
      const out = await rg(args);
      rgMs.push(performance.now() - t);
      if (out.code === 2) {
        throw new Error(`rg ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
      }
    };
    const timeDaemon = async () => {
      const t = performance.now();
      await main.request<GrepAnswer>("grep", { workspace, args, max_bytes: 2 ** 31 - 1 });
      dMs.push(performance.now() - t);
    };
    const timeInProcess = () => {
      const t = performance.now();
      ws.run(args);
      inMs.push(performance.now() - t);
    };
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        await timeRg();
        await timeDaemon();
      } else {
        await timeDaemon();
        await timeRg();
      }
      timeInProcess();
    }
    const dSorted = [...dMs].sort((a, b) => a - b);
    const rgSorted = [...rgMs].sort((a, b) => a - b);
    const rgMed = median(rgMs);
    const dMed = median(dMs);
    const ratio = rgMed / dMed;
    ratios.push(ratio);
    const ratioText = ratio >= 1 ? `${ratio.toFixed(1)}×` : `**${ratio.toFixed(2)}× (slower)**`;
    const argv = ["rg", ...args].map(shellWord).join(" ").replaceAll("|", "\\|");
    rows.push(
      `| ${s.label} | \`${argv}\` | ${countLines(sorted.stdout)} | ${ms(rgMed)} | ${ms(dMed)} | ` +
        `${ratioText} | ${ms(median(inMs))} | ${ms(percentile(dSorted, 50))} | ${
          ms(percentile(dSorted, 99))
        } | ` +
        `${ms(percentile(rgSorted, 99))} | ${identical ? "yes" : "**NO**"} |`,
    );
    console.error(
      `daemon_bench: ${s.label}: rg ${ms(rgMed)} ms, daemon ${ms(dMed)} ms (${ratio.toFixed(1)}×)` +
        (identical ? "" : " NOT IDENTICAL"),
    );
  }

  ws.close();

  // ---------------------------------------------------------- concurrent
  const samples: Record<Tool | "open", number[]> = {
    grep: [],
    read_file: [],
    glob: [],
    list_directory: [],
    open: [],
  };
  const errors: Record<string, number> = {};
  const errorExamples: string[] = [];
  let wrong = 0;
  let truncatedGreps = 0;
  const note = (tool: string, err: unknown) => {
    errors[tool] = (errors[tool] ?? 0) + 1;
    if (errorExamples.length < 5) errorExamples.push(`${tool}: ${(err as Error).message}`);
  };

  const clients: DaemonClient[] = [];
  for (let i = 0; i < clientCount; i++) clients.push(await DaemonClient.connect(daemon.socket));
  // Each client opens the shared, loaded workspace (as each agent would).
  await Promise.all(clients.map(async (c) => {
    const t = performance.now();
    const r = await c.request<{ workspace: string }>("open", { root });
    samples.open.push(performance.now() - t);
    if (r.workspace !== workspace) throw new Error(`workspace not shared: ${r.workspace}`);
  }));
  const statsShared = await main.request<Stats>("stats");

  let peakPolled = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      peakPolled = Math.max(peakPolled, daemon.peakRss() || 0);
      await sleep(200);
    }
  })();

  const client = async (c: DaemonClient, index: number) => {
    const rand = mulberry32(seed * 100_003 + index);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    for (let n = 0; n < requestsPerClient; n++) {
      const think = drawThink(rand, { min: 0, max: thinkMs });
      if (think > 0) await sleep(think);
      const tool = pickTool(rand, MIX);
      const t = performance.now();
      try {
        if (tool === "grep") {
          const s = pick(searches);
          const a = await c.request<GrepAnswer>("grep", { workspace, args: qwenArgs(s) });
          const want = expected.get(s)!;
          if (a.truncated) truncatedGreps++;
          if (a.truncated ? !want.startsWith(a.stdout) : a.stdout !== want) wrong++;
        } else if (tool === "read_file") {
          const a = await c.request<{ content: string }>("read_file", {
            workspace,
            ...pickRead(rand, rgFileList),
          });
          if (typeof a.content !== "string") wrong++;
        } else if (tool === "glob") {
          const a = await c.request<{ files: string[] }>("glob", {
            workspace,
            pattern: pick(globs),
          });
          if (!Array.isArray(a.files)) wrong++;
        } else {
          const a = await c.request<{ entries: unknown[] }>("list_directory", {
            workspace,
            path: pick(dirs),
          });
          if (!Array.isArray(a.entries)) wrong++;
        }
        samples[tool].push(performance.now() - t);
      } catch (err) {
        note(tool, err);
      }
    }
  };
  console.error(
    `daemon_bench: ${clientCount} clients × ${requestsPerClient} requests, load average ${loadavg()}`,
  );
  const w0 = performance.now();
  await Promise.all(clients.map(client));
  const wallMs = performance.now() - w0;
  polling = false;
  await poller;
  const statsEnd = await main.request<Stats>("stats");
  const peakRss = Math.max(peakPolled, daemon.peakRss() || 0);
  for (const c of clients) c.close();
  main.close();

  const toolRows: string[] = [];
  const all: number[] = [];
  const row = (name: string, xs: number[], errs: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return `| ${name} | ${xs.length} | ${errs} | ${ms(percentile(s, 50))} | ${
      ms(percentile(s, 95))
    } | ${ms(percentile(s, 99))} | ${ms(s.at(-1) ?? NaN)} |`;
  };
  for (const tool of ["grep", "read_file", "glob", "list_directory"] as Tool[]) {
    all.push(...samples[tool]);
    toolRows.push(row(tool, samples[tool], errors[tool] ?? 0));
  }
  const totalErrors = Object.values(errors).reduce((a, b) => a + b, 0);
  const allSorted = [...all].sort((a, b) => a - b);
  const p50 = percentile(allSorted, 50);
  const p99 = percentile(allSorted, 99);
  const grepSorted = [...samples.grep].sort((a, b) => a - b);

  // ---------------------------------------------------------- report
  const minRatio = Math.min(...ratios);
  const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  const tenfold = ratios.filter((r) => r >= 10).length;
  const slower = ratios.filter((r) => r < 1).length;
  const yesNo = (b: boolean) => (b ? "yes" : "**no**");

  return `## curserve daemon vs rg: ${root}

${runHeader(info)}
- Daemon: \`deno run -A daemon.ts --socket <tmp>${
    workers === undefined ? "" : ` --workers ${workers}`
  }${values["no-pin"] ? " --no-pin" : ""}\` (${
    workers ?? `default: ${navigator.hardwareConcurrency} = one per core`
  } workers; workspaces of 16 MiB or more are split into shards across them)
- Requests: \`DaemonClient\` (mod.ts) over the Unix socket; times are full client round trips in ms

| workspace | |
|---|---|
| open through the socket (ms) | ${openMs.toFixed(0)} (daemon's load_ms: ${opened.load_ms}) |
| background sketches done after open (ms) | ${sketchMs.toFixed(0)} (searches below start after) |
| files held | ${opened.files} (rg --files: ${rgFileList.length}) |
| shards (across workers) | ${
    statsAfterOpen.workspaces.find((w) => w.root === root)?.shards ?? "?"
  } |
| bytes held | ${opened.bytes} (${mib(opened.bytes)}) |
| search workers kept on CPUs | ${statsAfterOpen.worker_cpus.join(", ") || "none (not pinned)"} |
| daemon RSS after open | ${mib(statsAfterOpen.rss_bytes)} |

### Sequential: one request at a time, daemon vs an rg subprocess

qwen-code's options (\`-i -n -H --no-heading\`, \`-g\` when the agent gives an include, \`-e PATTERN\`); ${runs} rounds per search, rg and daemon interleaved; rg and daemon columns are medians.

| search | argv (rg and daemon \`grep\`) | lines out | rg ms | daemon ms | rg / daemon | in-process ms | daemon p50 | daemon p99 | rg p99 | identical to rg --sort path |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|
${rows.join("\n")}

- "in-process ms": the same search as one \`Workspace.run\` call in the bench process (median, on a workspace with sketches built, as the daemon's), i.e. the engine's share of the daemon's time.
- rg / daemon: lowest ${minRatio.toFixed(2)}×, geometric mean ${
    geo.toFixed(2)
  }×; at least 10×: ${tenfold} of ${ratios.length}; daemon slower than rg: ${slower} of ${ratios.length}.
- Output identical to \`rg --sort path\`: ${searches.length - notIdentical} of ${searches.length}.
- Target (issue 3, Linux 6.1 with qwen-code's options): median at least 10× below rg's for typical patterns — ${
    yesNo(tenfold === ratios.length)
  }; never above rg's — ${yesNo(slower === 0)}.

Other tools, one request at a time (${Math.max(runs, 20)} runs after a warmup):

| request | answer | median ms | p99 ms |
|---|---|--:|--:|
${toolRowsSeq.join("\n")}

### Concurrent: ${clientCount} clients × ${requestsPerClient} requests

Each client has its own connection and opens the shared workspace; then, after a seeded think time of 0–${thinkMs} ms before each request: 50% \`grep\` (the searches above, 1 MiB result cap), 20% \`read_file\`, 15% \`glob\`, 15% \`list_directory\`. All clients start together.

| tool | requests | errors | p50 ms | p95 ms | p99 ms | max ms |
|---|--:|--:|--:|--:|--:|--:|
${toolRows.join("\n")}
| **all** | ${all.length} | ${totalErrors} | ${ms(p50)} | ${ms(percentile(allSorted, 95))} | ${
    ms(p99)
  } | ${ms(allSorted.at(-1) ?? NaN)} |

| run | |
|---|---|
| wall time | ${(wallMs / 1000).toFixed(1)} s |
| throughput | ${(all.length / (wallMs / 1000)).toFixed(0)} requests/s (grep: ${
    (samples.grep.length / (wallMs / 1000)).toFixed(1)
  }/s) |
| \`open\` of the shared workspace, p50 / max | ${
    ms(percentile([...samples.open].sort((a, b) => a - b), 50))
  } / ${ms(Math.max(...samples.open))} ms |
| clients seen by the daemon | ${statsShared.clients} (workspace shared by ${
    statsShared.workspaces.find((w) => w.workspace === workspace)?.clients ?? "?"
  }) |
| daemon RSS (\`stats\`) after open / with clients / at end | ${mib(statsAfterOpen.rss_bytes)} / ${
    mib(statsShared.rss_bytes)
  } / ${mib(statsEnd.rss_bytes)} |
| daemon peak RSS (VmHWM) | ${mib(peakRss)} |
| grep answers differing from the sequential answer | ${wrong} (truncated at 1 MiB: ${truncatedGreps}) |
${
    errorExamples.length
      ? `| first errors | ${errorExamples.join("; ").replaceAll("|", "\\|")} |\n`
      : ""
  }
- Target (issue 3, ~50 MB repo, 100 clients): p50 under 2 ms — ${yesNo(p50 < 2)} (${
    ms(p50)
  }); p99 under 20 ms — ${yesNo(p99 < 20)} (${ms(p99)}); grep alone p50 ${
    ms(percentile(grepSorted, 50))
  }, p99 ${ms(percentile(grepSorted, 99))}.`;
}
