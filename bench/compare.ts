/**
 * Prints a markdown table comparing `rg` (a subprocess per search, as agents
 * run it) with curserve (one in-process workspace) on one tree.
 *
 * ```sh
 * deno run -A bench/compare.ts                       # generated 100 MB corpus
 * deno run -A bench/compare.ts --mb 10               # generated 10 MB corpus
 * deno run -A bench/compare.ts --tree ~/.cache/curserve/linux-6.1 --runs 7
 * ```
 *
 * Method, so the numbers can be quoted honestly:
 * - Same flags on both sides: `-n` plus the search's own flags. rg runs in
 *   its default mode (parallel, unsorted output), as agents run it, from a
 *   fresh process with stdout piped and fully read; its time includes process
 *   start. curserve's time is one synchronous `ws.run(argv)` call returning
 *   the output bytes, on a workspace loaded once beforehand (load time is
 *   reported separately).
 * - Same run: for each search, one untimed warmup of each, then `--runs`
 *   rounds that each time one rg and one curserve search back to back
 *   (alternating which goes first), so both see the same machine noise.
 * - Medians of those rounds; ratio = rg median / curserve median (above 1:
 *   curserve is faster). p50/p99 are nearest-rank percentiles of curserve's
 *   samples; with fewer than 100 runs p99 is the slowest run.
 * - "identical": curserve's stdout is byte-for-byte `rg --sort path`'s (with
 *   the same exit status). Timings of non-identical searches are still
 *   printed but flagged.
 * @module
 */
import { parseArgs } from "node:util";
import { cpus, totalmem } from "node:os";
import { Workspace } from "../mod.ts";
import { cachedCorpus, QUERIES, type Query } from "./corpus.ts";
import { countLines, median, mib, ms, percentile, runRg, sameBytes, shellWord } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tree: { type: "string" },
    mb: { type: "string", default: "100" },
    runs: { type: "string", default: "11" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("usage: deno run -A bench/compare.ts [--tree PATH | --mb MB] [--runs N]");
  Deno.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  throw new RangeError(`--runs must be a positive integer, got ${values.runs}`);
}
const mb = Number(values.mb);
const root = values.tree ?? await cachedCorpus(mb);
const queries: Query[] = values.tree ? QUERIES.tree : QUERIES.generated;

const rg = (args: string[]) => runRg(root, args);

const rgVersion = new TextDecoder().decode(
  (await new Deno.Command("rg", { args: ["--version"], stdout: "piped" }).output()).stdout,
)
  .split("\n")[0];
const rgFiles = countLines((await rg(["--files"])).stdout);

const ws = await Workspace.open(root);
const st = ws.stats();
const rss = Deno.memoryUsage().rss;

const rows: string[] = [];
let slower = 0;
for (const q of queries) {
  const argv = ["-n", ...q.flags, q.pattern];
  const expected = await rg(["--sort", "path", ...argv]);
  let ours = ws.run(argv);
  const identical = expected.code !== 2 && expected.code === ours.code &&
    sameBytes(expected.stdout, ours.stdout);
  await rg(argv); // warm up rg too (the curserve warmup is the run just above)
  const rgMs: number[] = [];
  const ourMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const timeRg = async () => {
      const t = performance.now();
      const out = await rg(argv);
      rgMs.push(performance.now() - t);
      if (out.code === 2) {
        throw new Error(`rg ${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
      }
    };
    const timeOurs = () => {
      const t = performance.now();
      ours = ws.run(argv);
      ourMs.push(performance.now() - t);
    };
    if (i % 2 === 0) {
      await timeRg();
      timeOurs();
    } else {
      timeOurs();
      await timeRg();
    }
  }
  const sorted = [...ourMs].sort((a, b) => a - b);
  const rgMed = median(rgMs);
  const ourMed = median(ourMs);
  const ratio = rgMed / ourMed;
  if (ratio < 1) slower++;
  const ratioText = ratio >= 1 ? `${ratio.toFixed(2)}×` : `**${ratio.toFixed(2)}× (slower)**`;
  rows.push(
    `| ${q.label} | \`${argv.map(shellWord).join(" ").replaceAll("|", "\\|")}\` | ${
      countLines(expected.stdout)
    } | ${ms(rgMed)} | ${ms(ourMed)} | ` +
      `${ratioText} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ${
        identical ? "yes" : "**NO**"
      } |`,
  );
}
ws.close();

const cpu = cpus();
console.log(`## curserve vs rg: ${root}

- Date: ${new Date().toISOString()}
- Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), ${
  (totalmem() / 2 ** 30).toFixed(0)
} GiB RAM; Deno ${Deno.version.deno}; ${rgVersion}
- Runs: ${runs} per search, rg and curserve interleaved; times are medians in ms

| workspace | |
|---|---|
| load time (ms) | ${st.loadMs.toFixed(0)} |
| files held | ${st.files} (rg --files: ${rgFiles}) |
| bytes held | ${st.bytes} (${mib(st.bytes)}) |
| WASM memory bytes | ${st.wasmMemoryBytes} (${mib(st.wasmMemoryBytes)}) |
| process RSS after load | ${mib(rss)} |

| search | argv (rg and curserve) | lines out | rg ms | curserve ms | rg / curserve | curserve p50 | curserve p99 | identical to rg --sort path |
|---|---|--:|--:|--:|--:|--:|--:|:-:|
${rows.join("\n")}

${
  slower === 0
    ? "curserve was faster than rg on every search."
    : `curserve was SLOWER than rg on ${slower} of ${queries.length} searches (ratio below 1, in bold).`
}`);
