/**
 * What read-your-writes costs: grep latency (p50/p99) of one paced client
 * on a generated corpus, with no writes and with a writer changing a file
 * every 10 ms, plus how many answers after the client's own write were
 * stale. Run it against this checkout's daemon and another's to compare:
 *
 *   deno run -A bench/freshness_bench.ts [--mb 50] [--rounds 300] [--daemon DIR]...
 *
 * Each `--daemon DIR` is a checkout whose daemon.ts is measured (default:
 * this one); they run one after the other, twice, alternating.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DaemonClient } from "../src/client.ts";
import { cachedCorpus } from "./corpus.ts";
import { DaemonProcess, waitForSketches } from "./daemon_process.ts";
import { percentile, sleep } from "./stats.ts";

const flags = parseArgs({
  options: {
    mb: { type: "string", default: "50" },
    rounds: { type: "string", default: "300" },
    daemon: { type: "string", multiple: true },
  },
}).values;
const rounds = Number(flags.rounds);
const checkouts = flags.daemon?.length ? flags.daemon : [new URL("..", import.meta.url).pathname];
const corpus = await cachedCorpus(Number(flags.mb));
const scratch = join(corpus, "curserve_freshness_scratch.txt");

interface Phase {
  p50: number;
  p99: number;
  stale: number;
}

async function measure(checkout: string): Promise<{ idle: Phase; own: Phase; writes: Phase }> {
  await Deno.writeTextFile(scratch, "nothing yet\n");
  const daemon = await DaemonProcess.start(undefined, {
    script: join(checkout, "daemon.ts"),
    flags: [],
  });
  const socket = daemon.socket;
  const client = await DaemonClient.connect(socket);
  try {
    const { workspace } = await client.request<{ workspace: string }>("open", { root: corpus });
    await waitForSketches(client);
    /** Greps for a fresh marker; `own`: the client writes it first;
     * `writer`: a loop writes another file every 10 ms meanwhile. */
    const phase = async (own: boolean, writer: boolean): Promise<Phase> => {
      let writing = writer;
      const background = (async () => {
        for (let i = 0; writing; i++) {
          await Deno.writeTextFile(join(corpus, "curserve_freshness_other.txt"), `other ${i}\n`);
          await sleep(10);
        }
      })();
      const times: number[] = [];
      let stale = 0;
      for (let k = 0; k < rounds; k++) {
        const marker = `fresh_marker_${own}_${writer}_${k}_${Date.now()}`;
        // The client's own write, then at once a search for it.
        if (own) await Deno.writeTextFile(scratch, `${marker}\n`);
        const t0 = performance.now();
        const r = await client.request<{ stdout: string }>("grep", {
          workspace,
          args: ["-n", marker],
        });
        times.push(performance.now() - t0);
        if (own && !r.stdout.includes(marker)) stale++;
        await sleep(5);
      }
      writing = false;
      await background;
      times.sort((a, b) => a - b);
      return { p50: percentile(times, 50), p99: percentile(times, 99), stale };
    };
    return {
      idle: await phase(false, false),
      own: await phase(true, false),
      writes: await phase(false, true),
    };
  } finally {
    client.close();
    await daemon.stop();
    await Deno.remove(scratch).catch(() => {});
    await Deno.remove(join(corpus, "curserve_freshness_other.txt")).catch(() => {});
  }
}

console.log(`corpus: ${corpus} (${flags.mb} MB), ${rounds} greps per phase, paced 5 ms\n`);
console.log(
  "| daemon | run | grep p50 / p99, no writes | own write, then grep: p50 / p99 | stale | " +
    "another writer every 10 ms: p50 / p99 |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (let run = 1; run <= 2; run++) {
  for (const checkout of checkouts) {
    const { idle, own, writes } = await measure(checkout);
    const f = (p: Phase) => `${p.p50.toFixed(2)} / ${p.p99.toFixed(2)} ms`;
    console.log(
      `| ${checkout} | ${run} | ${f(idle)} | ${f(own)} | ${own.stale}/${rounds} | ${f(writes)} |`,
    );
  }
}
