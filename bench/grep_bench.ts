/**
 * `deno task bench`: ripgrep as a subprocess (what agents run today) against
 * curserve searching a workspace held in memory, on a ladder of generated
 * corpora (1, 10, 100 MB) and, when `CURSERVE_BENCH_TREE` names a directory,
 * that tree too (e.g. the Linux source: `deno task corpus:linux`).
 *
 * One group per (corpus, search), each with two benches on identical flags
 * (`-n` plus the search's own): `rg` (the baseline: a fresh process in its
 * default, parallel mode, output collected through a pipe) and
 * `curserve in-process` (`ws.run(argv)` on a workspace opened once, before
 * any bench). rg's parallel output order varies and ours is always path
 * order, so before benchmarking each search once checks that our stdout equals
 * `rg --sort path`'s byte for byte and the exit codes agree; on a mismatch it
 * prints a warning and skips that group's in-process bench (timing wrong
 * answers would be meaningless).
 *
 * Env: `CURSERVE_BENCH_TREE=<dir>` adds a real tree; `CURSERVE_BENCH_SIZES=1,10`
 * overrides the generated sizes in MB (`0` or empty: none).
 * @module
 */
import { basename } from "node:path";
import { Workspace } from "../mod.ts";
import { cachedCorpus, QUERIES, type Query } from "./corpus.ts";

interface Corpus {
  name: string;
  root: string;
  queries: Query[];
  /** Timed iterations and warmups per bench (kept small for big trees). */
  n: number;
  warmup: number;
}

/** rg's environment without a config file that could add flags. */
function rgEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.RIPGREP_CONFIG_PATH;
  return env;
}
const RG_ENV = rgEnv();

function rg(args: string[], cwd: string): Promise<Deno.CommandOutput> {
  return new Deno.Command("rg", {
    args,
    cwd,
    env: RG_ENV,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
}

/** Shell-style quoting for display. */
function shellWord(w: string): string {
  return /^[\w\-.,/:=+]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Line number of the first difference, for the warning. */
function firstDiff(a: Uint8Array, b: Uint8Array): string {
  const dec = new TextDecoder();
  const x = dec.decode(a).split("\n");
  const y = dec.decode(b).split("\n");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) {
      return `line ${i + 1}: rg ${JSON.stringify(x[i]?.slice(0, 120))} vs curserve ${
        JSON.stringify(y[i]?.slice(0, 120))
      }`;
    }
  }
  return "no line differs";
}

const sizes = (Deno.env.get("CURSERVE_BENCH_SIZES") ?? "1,10,100").split(",").map(Number).filter((
  mb,
) => mb > 0);
const ladder: Record<number, { n: number; warmup: number }> = {
  1: { n: 100, warmup: 10 },
  10: { n: 30, warmup: 3 },
};
const corpora: Corpus[] = [];
for (const mb of sizes) {
  const { n, warmup } = ladder[mb] ?? { n: 10, warmup: 2 };
  corpora.push({
    name: `gen ${mb} MB`,
    root: await cachedCorpus(mb),
    queries: QUERIES.generated,
    n,
    warmup,
  });
}
const tree = Deno.env.get("CURSERVE_BENCH_TREE");
if (tree) {
  corpora.push({ name: basename(tree), root: tree, queries: QUERIES.tree, n: 5, warmup: 1 });
}

for (const corpus of corpora) {
  const ws = await Workspace.open(corpus.root);
  const s = ws.stats();
  console.log(
    `${corpus.name}: ${corpus.root}: ${s.files} files, ${(s.bytes / 1e6).toFixed(1)} MB held, ` +
      `${(s.wasmMemoryBytes / 1e6).toFixed(0)} MB WASM memory (all workspaces), loaded in ${
        s.loadMs.toFixed(0)
      } ms`,
  );
  for (const q of corpus.queries) {
    const argv = ["-n", ...q.flags, q.pattern];
    const group = `${corpus.name}: rg ${argv.map(shellWord).join(" ")}`;
    const expected = await rg(["--sort", "path", ...argv], corpus.root);
    const ours = ws.run(argv);
    let ok = expected.code === ours.code && sameBytes(expected.stdout, ours.stdout);
    if (expected.code === 2) {
      console.warn(
        `!!! ${group}: rg itself failed: ${new TextDecoder().decode(expected.stderr).trim()}`,
      );
      ok = false;
    } else if (!ok) {
      console.warn(
        `!!! WRONG OUTPUT, in-process bench skipped: ${group}: exit ${ours.code} vs rg ${expected.code}, ` +
          `${ours.stdout.length} vs rg ${expected.stdout.length} bytes; first difference at ` +
          firstDiff(expected.stdout, ours.stdout) +
          (ours.stderr ? `; curserve stderr: ${ours.stderr.trim()}` : ""),
      );
    }
    Deno.bench({
      name: "rg",
      group,
      baseline: true,
      n: corpus.n,
      warmup: corpus.warmup,
      async fn() {
        const out = await rg(argv, corpus.root);
        if (out.code === 2) throw new Error(`rg failed: ${new TextDecoder().decode(out.stderr)}`);
      },
    });
    Deno.bench({
      name: "curserve in-process",
      group,
      ignore: !ok,
      n: corpus.n,
      warmup: corpus.warmup,
      fn() {
        const out = ws.run(argv);
        if (out.code === 2) throw new Error(`curserve failed: ${out.stderr}`);
      },
    });
  }
}
