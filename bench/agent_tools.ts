/**
 * Per-tool latency as the agent itself reports it: the agent (`agent.ts`)
 * runs one scripted conversation of typical tool calls against the fake
 * chat-completions server of the tests, once per backend (`daemon`,
 * `local` in-process WASM, `rg` subprocesses), and this reads the
 * `latency_ms` of each `tool_result` from its `--json` events.
 *
 * The calls are drawn with a seeded PRNG from what the workspace holds
 * (`agent_mix.ts`: the tool mix and searches made of names that occur in
 * it), so every backend answers the same calls. The daemon is started
 * first and has loaded and sketched the workspace before the agent runs:
 * the steady state of a shared daemon. The in-process backend loads the
 * workspace when the agent starts; that cost is in the agent's wall time,
 * not in any tool's latency.
 *
 * The fake model answers at once, so the in-process backend's background
 * sketching competes with the first tool calls; `--first-reply-ms` holds
 * the model's first reply that long (a first turn's prefill), for every
 * backend, to measure its steady state instead.
 *
 * `deno run -A bench/agent_tools.ts [--tree DIR] [--calls N] [--seed N] [--per-turn N]
 * [--first-reply-ms MS] [--out FILE]`
 * (default tree: the generated 50 MB corpus). Writes a markdown report
 * under bench/results/ and prints it.
 * @module
 */
import { basename, dirname } from "node:path";
import { parseArgs } from "node:util";
import { DaemonClient } from "../mod.ts";
import { FakeOpenAI, type ScriptedCall } from "../tests/fake_openai.ts";
import {
  type AgentSearch,
  pickRead,
  pickTool,
  SearchVocabulary,
  type ToolMix,
  workspaceShape,
} from "./agent_mix.ts";
import { cachedCorpus, mulberry32 } from "./corpus.ts";
import { DaemonProcess, waitForSketches } from "./daemon_process.ts";
import { intOption, median, ms, percentile, runHeader, runInfo, runRg, sleep } from "./stats.ts";

/** What agents call, mostly searches and reads. */
const MIX: ToolMix = { grep: 40, read_file: 30, glob: 15, list_directory: 15 };
const BACKENDS = ["daemon", "local", "rg"] as const;
const AGENT_TS = new URL("../agent.ts", import.meta.url).pathname;
/** The lockfile of the npm packages (deno.json has none: see the README). */
const NPM_LOCK = new URL("../npm.lock", import.meta.url).pathname;

/** The calls of the conversation, drawn from the workspace's own names and shape. */
async function drawCalls(
  root: string,
  files: string[],
  n: number,
  seed: number,
): Promise<ScriptedCall[]> {
  const rand = mulberry32(seed);
  const vocab = await SearchVocabulary.harvest(root, files, rand);
  const { dirs, globs } = workspaceShape(files);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const grep = (s: AgentSearch) => ({
    pattern: s.pattern,
    ...(s.glob ? { glob: s.glob } : {}),
    ...(s.path ? { path: s.path } : {}),
  });
  return Array.from({ length: n }, (): ScriptedCall => {
    switch (pickTool(rand, MIX)) {
      case "grep":
        return { name: "grep_search", arguments: grep(vocab.search(rand)) };
      case "read_file": {
        const r = pickRead(rand, files);
        return {
          name: "read_file",
          arguments: { file_path: r.path, offset: r.offset, limit: r.limit },
        };
      }
      case "glob":
        return { name: "glob", arguments: { pattern: pick(globs) } };
      default:
        return { name: "list_directory", arguments: { path: pick(dirs) } };
    }
  });
}

/** One agent run's tool latencies by tool, and its wall time. */
interface Measured {
  latencies: Map<string, number[]>;
  wallMs: number;
  toolMs: number;
  /** Tool errors by kind (the start of the message, paths left out). */
  errors: Map<string, number>;
}

/** Runs the agent over the scripted conversation with `backend` and collects its events. */
async function measure(
  root: string,
  calls: ScriptedCall[],
  perTurn: number,
  firstReplyMs: number,
  backend: string,
  socket?: string,
): Promise<Measured> {
  const turns = Math.ceil(calls.length / perTurn);
  const fake = new FakeOpenAI(async (_req, i) => {
    if (i === 0) await sleep(firstReplyMs);
    return i < turns
      ? { toolCalls: calls.slice(i * perTurn, (i + 1) * perTurn) }
      : { text: "Done." };
  });
  try {
    const args = [
      "run",
      "-A",
      `--lock=${NPM_LOCK}`,
      AGENT_TS,
      root,
      "benchmark",
      "--json",
      "--backend",
      backend,
    ];
    args.push("--base-url", fake.baseURL, "--max-turns", String(turns + 1));
    if (socket) args.push("--daemon", socket);
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const wallMs = performance.now() - t0;
    if (out.code !== 0) {
      throw new Error(
        `agent (${backend}) exited ${out.code}:\n${new TextDecoder().decode(out.stderr)}`,
      );
    }
    const events = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const latencies = new Map<string, number[]>();
    const errors = new Map<string, number>();
    for (const e of events.filter((e) => e.type === "tool_result")) {
      if (!e.ok) {
        const kind = `${e.name}: ${
          e.content.replace(/^Error: /, "").replace(/ \S*\/\S*/g, " …").replace(/\d+/g, "N").slice(
            0,
            60,
          )
        }`;
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
      }
      latencies.set(e.name, [...latencies.get(e.name) ?? [], e.latency_ms]);
    }
    return { latencies, wallMs, toolMs: events.at(-1).tool_ms, errors };
  } finally {
    await fake.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tree: { type: "string" },
      calls: { type: "string" },
      seed: { type: "string" },
      "per-turn": { type: "string" },
      "first-reply-ms": { type: "string" },
      out: { type: "string" },
    },
  });
  const info = await runInfo();
  const root = await Deno.realPath(values.tree ?? await cachedCorpus(50));
  const n = intOption("calls", values.calls, 200);
  const perTurn = intOption("per-turn", values["per-turn"], 4);
  const firstReplyMs = intOption("first-reply-ms", values["first-reply-ms"], 0, 0);
  const seed = intOption("seed", values.seed, 7, 0);
  const files = new TextDecoder().decode((await runRg(root, ["--files", "--sort", "path"])).stdout)
    .split("\n").filter(Boolean);
  const calls = await drawCalls(root, files, n, seed);
  console.error(`agent_tools: ${root}: ${files.length} files; ${n} calls, ${perTurn} per turn`);

  const stopOnSignal = DaemonProcess.stopAllOnSignal("agent_tools");
  const daemon = await DaemonProcess.start();
  const results = new Map<string, Measured>();
  try {
    const client = await DaemonClient.connect(daemon.socket);
    const opened = await client.request<{ load_ms: number }>("open", { root });
    await waitForSketches(client);
    console.error(`agent_tools: daemon loaded the tree in ${opened.load_ms} ms and sketched it`);
    for (const backend of BACKENDS) {
      const m = await measure(
        root,
        calls,
        perTurn,
        firstReplyMs,
        backend,
        backend === "daemon" ? daemon.socket : undefined,
      );
      console.error(
        `agent_tools: ${backend}: agent wall ${ms(m.wallMs)} ms, tools ${ms(m.toolMs)} ms`,
      );
      results.set(backend, m);
    }
    client.close();
  } finally {
    await daemon.stop();
    stopOnSignal();
  }

  const tools = ["grep_search", "read_file", "glob", "list_directory"];
  const cell = (b: string, t: string) => {
    const xs = [...results.get(b)!.latencies.get(t) ?? []].sort((a, b) => a - b);
    return `${ms(median(xs))} / ${ms(percentile(xs, 90))}`;
  };
  const rows = tools.map((t) =>
    `| \`${t}\` | ${results.get("daemon")!.latencies.get(t)?.length ?? 0} | ${
      BACKENDS.map((b) => cell(b, t)).join(" | ")
    } |`
  );
  const total = (f: (m: Measured) => number) =>
    BACKENDS.map((b) => ms(f(results.get(b)!))).join(" | ");
  const report = `# Agent tool latency: daemon vs in-process vs rg (${basename(root)})

${runHeader(info)}
- Tree: ${root}, ${files.length} files; ${n} tool calls (seed ${seed}), ${perTurn} per model turn,
  from \`bench/agent_tools.ts\`; latencies are the agent's own \`tool_result.latency_ms\` (\`--json\`)
- Daemon: started first; the tree loaded and sketched before the agent ran. The in-process
  backend loads the tree when the agent starts (in its wall time, not in any tool's latency) and
  sketches it in the background; the fake model's first reply took ${firstReplyMs} ms, the others
  none${firstReplyMs ? "" : " (so in-process sketching competed with the tool calls)"}

Median / p90 latency per call, ms:

| tool | calls | daemon | in-process (local) | rg subprocess |
| --- | --: | --: | --: | --: |
${rows.join("\n")}
| all tools, total | ${n} | ${total((m) => m.toolMs)} |
| agent wall time (start to exit) | | ${total((m) => m.wallMs)} |

Tool errors the model would have read (a search matching nothing is not one):
${
    BACKENDS.map((b) =>
      `- ${b}: ${[...results.get(b)!.errors].map(([k, c]) => `${c} × ${k}`).join("; ") || "none"}`
    ).join("\n")
  }
`;
  const out = values.out ??
    new URL(
      `./results/${info.started.toISOString().slice(0, 10)}-agent-tools-${basename(root)}${
        firstReplyMs ? `-first-reply-${firstReplyMs}ms` : ""
      }.md`,
      import.meta.url,
    ).pathname;
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeTextFile(out, report);
  console.log(report);
  console.error(`agent_tools: wrote ${out}`);
}
