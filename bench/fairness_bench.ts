/**
 * Fairness: one user's small grep, p50/p99, on an idle daemon and while two
 * other clients run pathological searches on workspaces of their own, back
 * to back. The attackers take turns through three kinds, each the worst of
 * its kind that rg 13 accepts or refuses quickly: a pattern rg refuses as too
 * big (`(?:\w|\s){1000}Q`), large patterns that each take a long compile
 * (`(?:\w|\s){N}Q`, N different every time so no cache helps), and a slow
 * scan (`(?:\b\w+\b\s*){10}\d{2}`, where Unicode `\b` keeps the lazy DFA
 * out). Run it against one or more checkouts' daemons to compare:
 *
 *   deno run -A bench/fairness_bench.ts [--rounds 100] [--timeout-ms 5000] [--daemon DIR]...
 *
 * The pathological searches run with the daemon's `--timeout-ms`; the
 * small grep's workspace is a 1 MB generated tree, the attackers' a 14 MB
 * one each (opened with different options, so they are separate workspaces
 * and land on separate workers).
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DaemonClient } from "../src/client.ts";
import { cachedCorpus } from "./corpus.ts";
import { DaemonProcess } from "./daemon_process.ts";
import { percentile, sleep } from "./stats.ts";

const flags = parseArgs({
  options: {
    rounds: { type: "string", default: "100" },
    "timeout-ms": { type: "string", default: "5000" },
    daemon: { type: "string", multiple: true },
    /** Passed to each daemon (default: its own, one per core). */
    workers: { type: "string" },
  },
}).values;
const rounds = Number(flags.rounds);
const checkouts = flags.daemon?.length ? flags.daemon : [new URL("..", import.meta.url).pathname];
const small = await cachedCorpus(1);
const big = await cachedCorpus(14);
/** The attackers' patterns, by turn. */
const ATTACKS = [
  () => String.raw`(?:\w|\s){1000}Q`,
  (k: number) => String.raw`(?:\w|\s){${400 + (k % 400)}}Q`,
  () => String.raw`(?:\b\w+\b\s*){10}\d{2}`,
];
const SLOW = ATTACKS.map((a) => a(0)).join("`, `");

/** The small grep's latencies; one that failed (timed out) counts with
 * the time it took, and is counted. */
async function victimLatencies(
  client: DaemonClient,
  workspace: string,
): Promise<{ times: number[]; failed: number }> {
  const times: number[] = [];
  let failed = 0;
  for (let k = 0; k < rounds; k++) {
    const t0 = performance.now();
    await client.request("grep", { workspace, args: ["-c", "get_buffer"] }).catch(() => failed++);
    times.push(performance.now() - t0);
    await sleep(20);
  }
  return { times: times.sort((a, b) => a - b), failed };
}

async function measure(checkout: string) {
  const daemon = await DaemonProcess.start(undefined, {
    script: join(checkout, "daemon.ts"),
    flags: [
      "--timeout-ms",
      String(flags["timeout-ms"]),
      ...(flags.workers ? ["--workers", flags.workers] : []),
    ],
  });
  const socket = daemon.socket;
  const victim = await DaemonClient.connect(socket);
  const attackers = await Promise.all([0, 1].map(() => DaemonClient.connect(socket)));
  try {
    const { workspace } = await victim.request<{ workspace: string }>("open", { root: small });
    const theirs = await Promise.all(
      attackers.map((a, i) =>
        a.request<{ workspace: string }>("open", { root: big, hidden: i === 1 })
      ),
    );
    await sleep(3000); // background sketches
    const idle = await victimLatencies(victim, workspace);
    let attacking = true;
    let slowDone = 0;
    const loops = attackers.map(async (a, i) => {
      for (let k = i; attacking; k += 2) {
        const pattern = ATTACKS[k % ATTACKS.length](k);
        await a.request("grep", { workspace: theirs[i].workspace, args: ["-c", pattern] })
          .catch(() => {});
        slowDone++;
      }
    });
    await sleep(500);
    const loaded = await victimLatencies(victim, workspace);
    attacking = false;
    for (const a of attackers) a.close(); // in-flight slow searches are dropped
    await Promise.allSettled(loops);
    return { idle, loaded, slowDone };
  } finally {
    victim.close();
    await daemon.stop();
  }
}

console.log(
  `small grep: -c get_buffer on 1 MB, ${rounds} rounds paced 20 ms; two clients looping ` +
    `-c \`${SLOW}\` in turn on 14 MB each; --timeout-ms ${flags["timeout-ms"]}\n`,
);
console.log(
  "| daemon | idle p50 / p99 | under attack p50 / p99 | p50 ratio | slow searches answered |",
);
console.log("| --- | --- | --- | --- | --- |");
for (const checkout of checkouts) {
  const { idle, loaded, slowDone } = await measure(checkout);
  const f = ({ times, failed }: { times: number[]; failed: number }) =>
    `${percentile(times, 50).toFixed(2)} / ${percentile(times, 99).toFixed(1)} ms${
      failed ? ` (${failed} failed)` : ""
    }`;
  console.log(
    `| ${checkout} | ${f(idle)} | ${f(loaded)} | ${
      (percentile(loaded.times, 50) / percentile(idle.times, 50)).toFixed(1)
    }x | ${slowDone} |`,
  );
}
