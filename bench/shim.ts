/**
 * Per-call wall time of the `rg` shims against the real rg, as an agent
 * pays it: one process per search, qwen-code's command line. Columns: rg;
 * the native shim (shim/native, installed by scripts/install_shim.sh
 * --native into a temp dir) and the Deno shim (shim/rg.ts) with a daemon
 * holding the tree (grep_cli), measured in turn within each run; each shim
 * with no daemon (which runs the real rg); a bare `deno run` of an empty
 * script (the start-up floor of any Deno shim) and the native shim's
 * `--version` (its floor: no daemon, no rg).
 *
 * `deno run -A bench/shim.ts [--runs N] [--mb 7,50] [--tree DIR ...]`
 * prints a markdown table of medians and p90s (milliseconds).
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { cachedCorpus } from "./corpus.ts";
import { DaemonClient } from "../src/client.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SHIM = join(REPO, "shim/rg.ts");
const QWEN = (pattern: string) => [
  "--json",
  "--no-messages",
  "--path-separator",
  "/",
  "--ignore-case",
  "--regexp",
  pattern,
  "--threads",
  "4",
  ".",
];
const PATTERNS = ["get_buffer", "Sherlock|Holmes", "[A-Z]+_SUSPEND"];
const PERMS = ["--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-run"];

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    mb: { type: "string", default: "7,50" },
    tree: { type: "string", multiple: true, default: [] },
    "no-local": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);

/** Wall milliseconds of one process run to its end. */
async function timed(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const ms = performance.now() - t0;
  if (out.code > 1) throw new Error(`${cmd} ${args.join(" ")} exited ${out.code}`);
  return { ms, bytes: out.stdout.length };
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `${at(0.5).toFixed(1)} / ${at(0.9).toFixed(1)}`;
}

async function waitForSocket(path: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`no daemon on ${path}`);
}

const trees: { label: string; dir: string }[] = [];
for (const mb of values.mb.split(",").filter(Boolean).map(Number)) {
  trees.push({ label: `generated ${mb} MB`, dir: await cachedCorpus(mb) });
}
for (const dir of values.tree) trees.push({ label: dir, dir });

const tmp = await Deno.makeTempDir({ prefix: "curserve-shim-bench-" });
// The native shim as installed (built by cargo if not built yet).
const install = await new Deno.Command("bash", {
  args: [join(REPO, "scripts/install_shim.sh"), "--native"],
  env: { CURSERVE_SHIM_DIR: tmp },
  stdout: "null",
  stderr: "inherit",
}).output();
if (!install.success) throw new Error("could not install the native shim (is cargo there?)");
const NATIVE = join(tmp, "rg");
const socket = join(tmp, "d.sock");
const empty = join(tmp, "empty.ts");
await Deno.writeTextFile(empty, "");
const daemon = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", join(REPO, "daemon.ts"), "--socket", socket, "--no-cache"],
  stdout: "null",
  stderr: "null",
}).spawn();
const rows: string[] = [];
try {
  await waitForSocket(socket);
  const holder = await DaemonClient.connect(socket);
  const env = { ...Deno.env.toObject(), CURSERVE_SOCKET: socket };
  const noDaemon = { ...env, CURSERVE_SOCKET: join(tmp, "nobody.sock") };
  for (const { label, dir } of trees) {
    await holder.request("open", { root: dir });
    // Steady state, as for an agent's later calls: sketches built.
    for (let i = 0; i < 600; i++) {
      const s = await holder.request<{ workspaces: { unsketched_files?: number }[] }>("stats", {});
      if (s.workspaces.every((w) => !w.unsketched_files)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const cols: Record<string, number[]> = {
      rg: [],
      native: [],
      daemon: [],
      nativeLocal: [],
      local: [],
      deno: [],
      nativeVersion: [],
    };
    for (let i = 0; i < runs; i++) {
      for (const p of PATTERNS) {
        const rg = await timed("rg", QWEN(p), dir, env);
        const viaDaemon = await timed(
          Deno.execPath(),
          ["run", "-q", ...PERMS, SHIM, ...QWEN(p)],
          dir,
          env,
        );
        if (viaDaemon.bytes === 0 && rg.bytes > 0) throw new Error(`shim printed nothing for ${p}`);
        const native = await timed(NATIVE, QWEN(p), dir, env);
        if (native.bytes !== viaDaemon.bytes) {
          throw new Error(`native shim printed ${native.bytes} bytes, not ${viaDaemon.bytes}`);
        }
        cols.rg.push(rg.ms);
        cols.native.push(native.ms);
        cols.daemon.push(viaDaemon.ms);
        if (!values["no-local"] && i < 3) {
          cols.nativeLocal.push((await timed(NATIVE, QWEN(p), dir, noDaemon)).ms);
          cols.local.push(
            (await timed(Deno.execPath(), ["run", "-q", ...PERMS, SHIM, ...QWEN(p)], dir, noDaemon))
              .ms,
          );
        }
        cols.deno.push((await timed(Deno.execPath(), ["run", "-q", empty], dir, env)).ms);
        cols.nativeVersion.push((await timed(NATIVE, ["--version"], dir, env)).ms);
      }
    }
    const local = (ms: number[]) => ms.length ? stats(ms) : "-";
    rows.push(
      `| ${label} | ${stats(cols.rg)} | ${stats(cols.native)} | ${stats(cols.daemon)} | ${
        local(cols.nativeLocal)
      } | ${local(cols.local)} | ${stats(cols.deno)} | ${stats(cols.nativeVersion)} |`,
    );
  }
  holder.close();
} finally {
  daemon.kill("SIGTERM");
  await daemon.status;
  await Deno.remove(tmp, { recursive: true });
}
console.log(
  `Per-call wall time, ms (median / p90), qwen-code's command line (${PATTERNS.length} patterns × ${runs} runs; shims without daemon: 3 runs):\n`,
);
console.log(
  "| tree | rg | native shim → daemon | Deno shim → daemon | native shim, no daemon (→ rg) " +
    "| Deno shim, no daemon (→ rg) | bare `deno run` | native `--version` |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
