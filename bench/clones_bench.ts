/**
 * What clones of one repository cost a daemon: RSS and WebAssembly memory
 * with 1 and with N clones of the generated corpus open (each a `cp -a` in
 * its own temporary directory, so a different root), the load time of the
 * first clone and of the later ones, and grep latency (p50/p99) on one
 * clone with 1 and with N open. Files with identical contents share one copy
 * in a worker (core-wasm/src/blobs.rs); run it against a checkout without
 * that to compare:
 *
 *   deno run -A bench/clones_bench.ts [--mb 50] [--clones 10] [--rounds 40] [--daemon DIR]...
 *
 * Each `--daemon DIR` is a checkout whose daemon.ts is measured (default:
 * this one), one after the other.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DaemonClient } from "../src/client.ts";
import { cachedCorpus, QUERIES } from "./corpus.ts";
import { waitForSketches } from "./daemon_process.ts";
import { loadavg, mib, percentile, sleep } from "./stats.ts";

const flags = parseArgs({
  options: {
    mb: { type: "string", default: "50" },
    clones: { type: "string", default: "10" },
    rounds: { type: "string", default: "40" },
    daemon: { type: "string", multiple: true },
  },
}).values;
const [mb, count, rounds] = [Number(flags.mb), Number(flags.clones), Number(flags.rounds)];
const checkouts = flags.daemon?.length ? flags.daemon : [new URL("..", import.meta.url).pathname];
const corpus = await cachedCorpus(mb);

/** `count` copies of the corpus, each in a directory of its own. */
async function makeClones(): Promise<{ base: string; roots: string[] }> {
  const base = await Deno.makeTempDir({ prefix: "curserve-clones-bench-" });
  const roots = [];
  for (let i = 0; i < count; i++) {
    const root = join(base, `clone${i}`);
    const r = await new Deno.Command("cp", { args: ["-a", corpus, root] }).output();
    if (r.code !== 0) throw new Error(`cp failed: ${new TextDecoder().decode(r.stderr)}`);
    roots.push(root);
  }
  return { base, roots };
}

function vmRss(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : NaN;
}

async function startDaemon(
  checkout: string,
): Promise<{ child: Deno.ChildProcess; socket: string }> {
  const dir = await Deno.makeTempDir({ prefix: "curserve-clones-daemon-" });
  const socket = join(dir, "d.sock");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(checkout, "daemon.ts"), "--socket", socket],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 600; i++) {
    try {
      (await Deno.connect({ transport: "unix", path: socket })).close();
      return { child, socket };
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`daemon of ${checkout} did not start`);
}

interface Stats {
  workspaces: { bytes: number }[];
  workers?: { wasm_memory_bytes: number; blob_bytes: number }[];
}

/** The daemon's memory now: RSS, and (where it reports them) its workers'
 * WebAssembly memory and distinct file bytes. */
async function memory(client: DaemonClient, pid: number) {
  const s = await client.request<Stats>("stats");
  const sum = (k: "wasm_memory_bytes" | "blob_bytes") =>
    s.workers ? s.workers.reduce((n, w) => n + w[k], 0) : NaN;
  return {
    rss: vmRss(pid),
    wasm: sum("wasm_memory_bytes"),
    distinct: sum("blob_bytes"),
    held: s.workspaces.reduce((n, w) => n + w.bytes, 0),
  };
}

/** p50 and p99 of `rounds` rounds of every generated-corpus query on `ws`. */
async function latency(client: DaemonClient, workspace: string): Promise<string> {
  const times: number[] = [];
  // One untimed round first: regexes compile, caches fill.
  for (let k = -1; k < rounds; k++) {
    for (const q of QUERIES.generated) {
      const t0 = performance.now();
      await client.request("grep", { workspace, args: ["-n", ...q.flags, q.pattern] });
      if (k >= 0) times.push(performance.now() - t0);
    }
  }
  times.sort((a, b) => a - b);
  return `${percentile(times, 50).toFixed(2)} / ${percentile(times, 99).toFixed(2)} ms`;
}

async function measure(checkout: string, roots: string[]): Promise<string[]> {
  const { child, socket } = await startDaemon(checkout);
  const client = await DaemonClient.connect(socket);
  try {
    const base = await memory(client, child.pid);
    const open = (root: string) =>
      client.request<{ workspace: string; load_ms: number }>("open", { root });
    const first = await open(roots[0]);
    await waitForSketches(client);
    const one = await memory(client, child.pid);
    const grepOne = await latency(client, first.workspace);
    const later: number[] = [];
    for (const root of roots.slice(1)) {
      later.push((await open(root)).load_ms);
      await waitForSketches(client);
    }
    const all = await memory(client, child.pid);
    const grepAll = await latency(client, first.workspace);
    later.sort((a, b) => a - b);
    const wasm = (m: typeof one) => (Number.isNaN(m.wasm) ? "n/a" : mib(m.wasm - base.wasm));
    return [
      checkout,
      mib(one.rss - base.rss),
      mib(all.rss - base.rss),
      wasm(one),
      wasm(all),
      Number.isNaN(all.distinct) ? "n/a" : `${mib(all.distinct)} of ${mib(all.held)}`,
      `${first.load_ms} ms`,
      `${percentile(later, 50)} ms`,
      grepOne,
      grepAll,
    ];
  } finally {
    client.close();
    child.kill("SIGTERM");
    await child.status;
  }
}

const { base, roots } = await makeClones();
try {
  console.log(
    `corpus: ${corpus} (${mb} MB) in ${count} clones; ${rounds} rounds of ` +
      `${QUERIES.generated.length} queries; load average ${loadavg()}\n`,
  );
  console.log(
    `| daemon | RSS, 1 clone | RSS, ${count} | WASM memory, 1 | WASM memory, ${count} | ` +
      `distinct bytes of held, ${count} | load, first | load, later (p50) | ` +
      `grep p50 / p99, 1 open | grep p50 / p99, ${count} open |`,
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const checkout of checkouts) {
    console.log(`| ${(await measure(checkout, roots)).join(" | ")} |`);
  }
} finally {
  await Deno.remove(base, { recursive: true });
}
