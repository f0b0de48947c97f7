/**
 * The simulated agent of the benchmarks (`bench/agent_mix.ts`): option
 * parsing, the tool mix's proportions, think time, and searches that are
 * valid for rg, replayable from a seed, and find what their kind promises
 * (a rare identifier is there, a made-up name is not) in a generated repo.
 * @module
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  parseMix,
  parseThink,
  pickTool,
  qwenArgs,
  SearchVocabulary,
  thinkMs,
  type Tool,
  TOOLS,
  workspaceShape,
} from "../bench/agent_mix.ts";
import { generateCorpus, mulberry32 } from "../bench/corpus.ts";
import { runRg } from "../bench/stats.ts";

Deno.test("parseMix reads weights and refuses unknown tools, negatives and all zero", () => {
  deepStrictEqual(parseMix("grep=40,read_file=30,glob=15,list_directory=15"), {
    grep: 40,
    read_file: 30,
    glob: 15,
    list_directory: 15,
  });
  deepStrictEqual(parseMix("grep=1"), { grep: 1, read_file: 0, glob: 0, list_directory: 0 });
  throws(() => parseMix("grep=1,edit=2"), RangeError);
  throws(() => parseMix("grep=-1,glob=1"), RangeError);
  throws(() => parseMix("grep=0"), RangeError);
});

Deno.test("parseThink reads T and LO-HI", () => {
  deepStrictEqual(parseThink("20"), { min: 0, max: 20 });
  deepStrictEqual(parseThink("500-3000"), { min: 500, max: 3000 });
  throws(() => parseThink("3000-500"), RangeError);
  throws(() => parseThink("fast"), RangeError);
});

Deno.test("pickTool follows the weights; daemon_bench's 50/20/15/15 keeps its boundaries", () => {
  const mix = { grep: 50, read_file: 20, glob: 15, list_directory: 15 };
  // One draw per pick, compared with the cumulative shares.
  for (
    const [r, tool] of [
      [0, "grep"],
      [0.49, "grep"],
      [0.5, "read_file"],
      [0.69, "read_file"],
      [
        0.7,
        "glob",
      ],
      [0.84, "glob"],
      [0.85, "list_directory"],
      [0.999, "list_directory"],
    ] as [number, Tool][]
  ) {
    strictEqual(pickTool(() => r, mix), tool, `draw ${r}`);
  }
  const rand = mulberry32(7);
  const counts = Object.fromEntries(TOOLS.map((t) => [t, 0])) as Record<Tool, number>;
  for (let i = 0; i < 20_000; i++) counts[pickTool(rand, mix)]++;
  for (const t of TOOLS) {
    ok(Math.abs(counts[t] / 20_000 - mix[t] / 100) < 0.02, `${t}: ${counts[t]}`);
  }
  strictEqual(pickTool(() => 0.99, { grep: 1, read_file: 0, glob: 0, list_directory: 0 }), "grep");
});

Deno.test("thinkMs stays in its range and draws nothing when there is no think time", () => {
  let draws = 0;
  const rand = () => (draws++, 0.5);
  strictEqual(thinkMs(rand, { min: 0, max: 0 }), 0);
  strictEqual(draws, 0);
  strictEqual(thinkMs(rand, { min: 500, max: 3000 }), 1750);
  strictEqual(draws, 1);
});

Deno.test("searches are valid for rg, replay from a seed, and find what their kind says", async () => {
  const root = await Deno.makeTempDir({ prefix: "curserve-agent-mix-" });
  try {
    await generateCorpus(root, 600_000, 3);
    const files = new TextDecoder().decode(
      (await runRg(root, ["--files", "--sort", "path"])).stdout,
    )
      .split("\n").filter((f) => f !== "");
    const shape = workspaceShape(files);
    ok(shape.dirs.includes("."));
    ok(shape.globs.some((g) => g.startsWith("**/*.")));

    const a = await SearchVocabulary.harvest(root, files, mulberry32(11));
    const b = await SearchVocabulary.harvest(root, files, mulberry32(11));
    const [ra, rb] = [mulberry32(5), mulberry32(5)];
    const searches = Array.from({ length: 60 }, () => a.search(ra));
    deepStrictEqual(searches, Array.from({ length: 60 }, () => b.search(rb)), "replayable");

    const kinds = new Set(searches.map((s) => s.label));
    for (const kind of ["rare identifier", "definition", "no match", "alternation"]) {
      ok(kinds.has(kind), `60 searches include a ${kind}`);
    }
    for (const s of searches) {
      const args = qwenArgs(s);
      deepStrictEqual(args.slice(0, 4), ["-i", "-n", "-H", "--no-heading"]);
      const out = await runRg(root, args);
      const stderr = new TextDecoder().decode(out.stderr);
      ok(out.code !== 2, `rg ${args.join(" ")} failed: ${stderr}`);
      // Made-up names are not there; names taken from the files are (unless
      // narrowed to another directory or extension than where they were seen).
      if (s.label === "no match") strictEqual(out.code, 1, `no match: ${s.pattern}`);
      if (s.label === "rare identifier" && !s.glob && !s.path) {
        strictEqual(out.code, 0, `rare identifier found: ${s.pattern}`);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
