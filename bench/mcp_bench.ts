/**
 * Per-call latency of `grep_search` through the MCP server (`mcp.ts`), as
 * an agent's MCP client sees it: the official SDK's client over stdio times
 * each `tools/call` from send to answer. Three ways answer the same
 * searches, one call of each in turn so a noisy machine slows them alike:
 *
 * - MCP, in-process: `mcp.ts --backend local` (the server holds the tree);
 * - MCP, daemon: `mcp.ts --backend daemon` on a daemon started first;
 * - rg: one `rg -i -n -H --no-heading [-g GLOB] -e PATTERN [PATH]`
 *   subprocess per call (what grep_search runs), as agents without a
 *   server do.
 *
 * The searches are identifiers that occur in the tree (`agent_mix.ts`'s
 * vocabulary, seeded). Both servers are warmed first: the tree loaded by
 * one call, then `--settle-ms` for their background sketches (the daemon's
 * are awaited through its `stats`). Each answer's count of matching lines
 * is checked against rg's.
 *
 * `deno run -A bench/mcp_bench.ts [--tree DIR] [--calls N] [--seed N] [--settle-ms MS] [--out FILE]`
 * (default tree: the generated 50 MB corpus). Writes a markdown report
 * under bench/results/ and prints it.
 * @module
 */
import { basename, dirname } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "npm:@modelcontextprotocol/sdk@1.32.2/client";
// The SDK's export map sends "./*.js" types to "*.js.d.ts", which do not exist: name them.
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/stdio"
import { StdioClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/stdio.js";
import { DaemonClient } from "../mod.ts";
import { type AgentSearch, SearchVocabulary } from "./agent_mix.ts";
import { cachedCorpus, mulberry32 } from "./corpus.ts";
import { DaemonProcess, waitForSketches } from "./daemon_process.ts";
import {
  countLines,
  intOption,
  median,
  ms,
  percentile,
  runHeader,
  runInfo,
  runRg,
  sleep,
} from "./stats.ts";

const MCP_TS = new URL("../mcp.ts", import.meta.url).pathname;
/** The flags of `deno task mcp`. */
const MCP_FLAGS = ["--allow-read", "--allow-write", "--allow-env", "--allow-net"];

/** grep_search's arguments for a search. */
const toolArgs = (s: AgentSearch) => ({
  pattern: s.pattern,
  limit: 2000,
  ...(s.glob ? { glob: s.glob } : {}),
  ...(s.path ? { path: s.path } : {}),
});

/** The rg command line grep_search runs for a search. */
const rgArgs = (s: AgentSearch) => [
  "-i",
  "-n",
  "-H",
  "--no-heading",
  ...(s.glob ? ["-g", s.glob] : []),
  "-e",
  s.pattern,
  ...(s.path ? [s.path] : []),
];

/** An MCP server subprocess with the SDK client connected to it. */
async function startServer(root: string, args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "--quiet", ...MCP_FLAGS, MCP_TS, "--root", root, ...args],
    stderr: "inherit",
  });
  const client = new Client({ name: "mcp_bench", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** One grep_search through `client`: its latency and the matching lines it reports. */
async function mcpGrep(client: Client, s: AgentSearch): Promise<{ ms: number; lines: number }> {
  const t0 = performance.now();
  const r = await client.callTool({ name: "grep_search", arguments: toolArgs(s) });
  const elapsed = performance.now() - t0;
  const text = (r.content as { text: string }[])[0].text;
  if (r.isError) throw new Error(`grep_search ${s.pattern} failed: ${text}`);
  const m = /^Found (?:more than )?(\d+) matching line/.exec(text);
  return { ms: elapsed, lines: m ? Number(m[1]) : 0 };
}

/** One rg subprocess: its latency and the lines it printed. */
async function rgGrep(root: string, s: AgentSearch): Promise<{ ms: number; lines: number }> {
  const t0 = performance.now();
  const out = await runRg(root, rgArgs(s));
  const elapsed = performance.now() - t0;
  if (out.code === 2) throw new Error(`rg ${s.pattern}: ${new TextDecoder().decode(out.stderr)}`);
  return { ms: elapsed, lines: countLines(out.stdout) };
}

const WAYS = ["MCP, in-process", "MCP, daemon", "rg subprocess"] as const;
type Way = typeof WAYS[number];

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tree: { type: "string" },
      calls: { type: "string" },
      seed: { type: "string" },
      "settle-ms": { type: "string" },
      out: { type: "string" },
    },
  });
  const info = await runInfo();
  const root = await Deno.realPath(values.tree ?? await cachedCorpus(50));
  const n = intOption("calls", values.calls, 300);
  const seed = intOption("seed", values.seed, 11, 0);
  const settleMs = intOption("settle-ms", values["settle-ms"], 5000, 0);
  const files = new TextDecoder().decode((await runRg(root, ["--files", "--sort", "path"])).stdout)
    .split("\n").filter(Boolean);
  const rand = mulberry32(seed);
  const vocab = await SearchVocabulary.harvest(root, files, rand);
  const searches = Array.from({ length: n }, () => vocab.search(rand));
  console.error(`mcp_bench: ${root}: ${files.length} files; ${n} searches`);

  const stopOnSignal = DaemonProcess.stopAllOnSignal("mcp_bench");
  const daemon = await DaemonProcess.start();
  const clients: Client[] = [];
  const latencies = new Map<Way, number[]>(WAYS.map((w) => [w, []]));
  const firstCall = new Map<Way, number>();
  let mismatches = 0;
  try {
    const dc = await DaemonClient.connect(daemon.socket);
    const opened = await dc.request<{ load_ms: number }>("open", { root });
    await waitForSketches(dc);
    console.error(`mcp_bench: the daemon loaded the tree in ${opened.load_ms} ms and sketched it`);
    const local = await startServer(root, ["--backend", "local"]);
    const viaDaemon = await startServer(root, ["--backend", "daemon", "--daemon", daemon.socket]);
    clients.push(local, viaDaemon);
    const warm = searches[0];
    firstCall.set("MCP, in-process", (await mcpGrep(local, warm)).ms);
    firstCall.set("MCP, daemon", (await mcpGrep(viaDaemon, warm)).ms);
    firstCall.set("rg subprocess", (await rgGrep(root, warm)).ms);
    await sleep(settleMs); // the in-process server's background sketches
    dc.close();

    for (const [i, s] of searches.entries()) {
      const ref = await rgGrep(root, s);
      latencies.get("rg subprocess")!.push(ref.ms);
      for (
        const [way, client] of [["MCP, in-process", local], ["MCP, daemon", viaDaemon]] as const
      ) {
        const r = await mcpGrep(client, s);
        latencies.get(way)!.push(r.ms);
        if (r.lines !== ref.lines) {
          mismatches++;
          console.error(`mcp_bench: ${way}: ${s.pattern}: ${r.lines} lines, rg ${ref.lines}`);
        }
      }
      if ((i + 1) % 100 === 0) console.error(`mcp_bench: ${i + 1} of ${n} searches`);
    }
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await daemon.stop();
    stopOnSignal();
  }

  const sorted = (w: Way) => [...latencies.get(w)!].sort((a, b) => a - b);
  const rgMedian = median(latencies.get("rg subprocess")!);
  const rows = WAYS.map((w) => {
    const xs = sorted(w);
    return `| ${w} | ${xs.length} | ${ms(median(xs))} | ${ms(percentile(xs, 90))} | ${
      ms(percentile(xs, 99))
    } | ${ms(xs.at(-1)!)} | ${(rgMedian / median(xs)).toFixed(1)}x | ${ms(firstCall.get(w)!)} |`;
  });
  const report = `# grep_search through MCP vs an rg subprocess (${basename(root)})

${runHeader(info)}
- Tree: ${root}, ${files.length} files; ${n} searches (identifiers from the tree, seed ${seed}),
  from \`bench/mcp_bench.ts\`. Latency: the SDK client's \`tools/call\` round trip over stdio
  (request, search, the tool's text formatting, answer) vs one \`rg -i -n -H --no-heading\`
  subprocess per search (spawn to exit); one call of each in turn.
- Warm: the daemon loaded and sketched the tree before its server started; each server's first
  call (which loads or opens the tree) is shown apart, then ${settleMs} ms for background sketches.
- Matching-line counts that differ from rg's: ${mismatches}

Latency per call, ms:

| way | calls | median | p90 | p99 | max | rg median / median | first call |
| --- | --: | --: | --: | --: | --: | --: | --: |
${rows.join("\n")}
`;
  const out = values.out ??
    new URL(
      `./results/${info.started.toISOString().slice(0, 10)}-mcp-grep-${basename(root)}.md`,
      import.meta.url,
    ).pathname;
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeTextFile(out, report);
  console.log(report);
  console.error(`mcp_bench: wrote ${out}`);
}
