/**
 * The WebAssembly SIMD scan for needles, against rg on files built to put
 * needles at every offset around its 16- and 64-byte steps and at file
 * ends, in both cases and with near misses (one probe byte right, the
 * other wrong). Sketches are not built, so every file is scanned; a second
 * test builds them (first only the quick ones, then all), for regexes with
 * several required literals (a line, or a file's sketch, without one of
 * them is ruled out before the regex); a third, for files long enough to
 * be cut into blocks, only some of which are scanned (line numbers,
 * context and offsets must still be rg's).
 */
import { join } from "node:path";
import { mulberry32 } from "../bench/corpus.ts";
import { Workspace } from "../mod.ts";
import { describeDiff, equalBytes, normalize, rg, TEST_OPTS } from "./harness.ts";
import type { ParityCase } from "./parity_cases.ts";

const NEEDLES = ["get_buffer", "Qz9", "xq_zv_w"];

/** Files of `filler` with the needle (or a broken copy) planted at
 * offsets 0..140 and near the end, lines of varied length. */
async function writeFiles(dir: string): Promise<void> {
  const rand = mulberry32(11);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  let n = 0;
  for (const needle of NEEDLES) {
    for (let offset = 0; offset < 140; offset++) {
      const filler = Array.from(
        { length: 100 + Math.floor(rand() * 300) },
        () => pick(["a", "b", " ", "_", "\n", "g", "r", "Q", "z", "x"]),
      ).join("");
      const cased = [...needle].map((c) => rand() < 0.5 ? c.toUpperCase() : c).join("");
      // Near miss: the same length, one byte changed.
      const k = Math.floor(rand() * needle.length);
      const broken = needle.slice(0, k) + "#" + needle.slice(k + 1);
      const planted = pick([needle, cased, broken]);
      const at = Math.min(offset, filler.length);
      const tail = rand() < 0.3 ? "" : filler.slice(at);
      await Deno.writeTextFile(
        join(dir, `f${String(n++).padStart(4, "0")}.txt`),
        filler.slice(0, at) + planted + tail,
      );
    }
  }
}

/** How much of the sketches a test builds before searching: none, every
 * file's quick sketch and a few full ones (the first seconds after a
 * load), or all of them. */
type Sketched = "none" | "quick" | "full";

/** Writes files with `write` into a fresh directory, loads it (sketched
 * as `sketched` says), and checks each command line's output against rg's. */
async function agreeWithRg(
  write: (dir: string) => Promise<void>,
  sketched: Sketched,
  argvs: string[][],
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await write(dir);
    const ws = await Workspace.open(dir);
    if (sketched === "full") ws.buildSketches();
    if (sketched === "quick") {
      // A budget of one byte: each call builds a quick sketch or two, and
      // once all have one, goes on with full ones; stopped at the first.
      const files = ws.stats().files;
      while (ws.buildSketches(1) === files);
    }
    try {
      for (const args of argvs) {
        const theirs = await rg(args, dir);
        const got = ws.run(["--sort", "path", ...args]);
        // --json carries timings: blanked on both sides.
        const want = normalize({ args } as ParityCase, theirs.stdout);
        const ours = normalize({ args } as ParityCase, got.stdout);
        if (!equalBytes(ours, want) || got.code !== theirs.code) {
          throw new Error(`rg ${args.join(" ")}: ${describeDiff(want, ours)}`);
        }
      }
    } finally {
      ws.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SIMD needle scan agrees with rg at every offset", TEST_OPTS, async () => {
  const argvs = NEEDLES.flatMap((needle) => [
    ["-n", "-i", needle],
    ["-n", needle],
    ["-c", "-i", `${needle}|zz_q`],
    ["-n", "-i", "-e", needle, "-e", "bQ_Q"],
  ]);
  await agreeWithRg(writeFiles, "none", argvs);
});

/** Files mixing lines that hold one required literal of a regex but not
 * the others. */
async function writeMixedLines(dir: string): Promise<void> {
  const rand = mulberry32(5);
  const pieces = [
    "BUF_MAX_LEN = 4;",
    "if (BUF_MAX_LEN > 4) {",
    "x_max_y =",
    "func (s *Store) GetAll() {",
    "func (s *Store) Put() {",
    "x.Get(func (y) {})",
    "func (s Store) Get()",
    "EXPORT_SYMBOL_GPL(usb_register);",
    "EXPORT_SYMBOL_GPL(usb_unregister_x);",
    "register(EXPORT_SYMBOL_GPL",
    "plain text",
  ];
  for (let f = 0; f < 60; f++) {
    const lines = Array.from(
      { length: 1 + Math.floor(rand() * 12) },
      () => pieces[Math.floor(rand() * pieces.length)],
    );
    await Deno.writeTextFile(
      join(dir, `g${String(f).padStart(3, "0")}.c`),
      lines.join("\n") + "\n",
    );
  }
}

Deno.test("regexes with several required literals agree with rg", TEST_OPTS, async () => {
  const patterns = [
    "\\w+_MAX_\\w+ =",
    "func \\(\\w+ \\*\\w+\\) Get",
    "EXPORT_SYMBOL_GPL\\(\\w+_register",
    "(max|func).*(=|get)",
  ];
  const argvs = patterns.flatMap((p) => [["-n", "-i", "-e", p], ["-c", "-e", p]]);
  await agreeWithRg(writeMixedLines, "quick", argvs);
  await agreeWithRg(writeMixedLines, "full", argvs);
});

/** Files of many 2 KiB blocks (see BLOCK_BYTES in core-wasm/src/sketch.rs)
 * with needles planted on lines near block ends, on the first and last
 * lines, in lines longer than a block, in CRLF files and with no final
 * line end; lines around them differ, so context lines tell if a number
 * or an offset is off. */
async function writeBlockFiles(dir: string): Promise<void> {
  const rand = mulberry32(23);
  const planted = [
    "x = get_buffer(len);",
    "Get_Buffer",
    "fn parse_header(input: &str)",
    "Sherlock Holmes, said Watson",
    "failed to probe device",
    "get_bufer (a near miss)",
  ];
  const filler = () =>
    Array.from({ length: 3 + Math.floor(rand() * 12) }, () => {
      const w = ["alpha", "beta", "gamma_delta", "buffer", "parse", "get", "probe", "x"];
      return w[Math.floor(rand() * w.length)];
    }).join(" ");
  for (let f = 0; f < 24; f++) {
    const lines: string[] = [];
    const count = 600 + Math.floor(rand() * 1400);
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      let line = `${i}: ${filler()}`;
      // Near where a block may end (every ~2 KiB), or anywhere, or never.
      const nearEnd = bytes % 2048 > 1900 && rand() < 0.3;
      if (i === 0 && f % 3 === 0 || nearEnd || rand() < 0.004) {
        line += " " + planted[Math.floor(rand() * planted.length)];
      }
      if (rand() < 0.003) line += " " + "long ".repeat(600) + "get_buffer";
      lines.push(line);
      bytes += line.length + 1;
    }
    if (f % 4 === 1) lines.push("last line get_buffer");
    const eol = f % 5 === 2 ? "\r\n" : "\n";
    const text = lines.join(eol) + (f % 4 === 1 ? "" : eol);
    await Deno.writeTextFile(join(dir, `b${String(f).padStart(2, "0")}.txt`), text);
  }
}

Deno.test("searches that skip blocks of long files agree with rg", TEST_OPTS, async () => {
  const patterns = [
    "get_buffer",
    "fn parse_\\w+",
    "Sherlock|Holmes",
    "failed to probe",
    "\\w+_buffer\\b",
  ];
  const flagSets = [
    ["-n", "-i"],
    ["-n"],
    ["-c", "-i"],
    ["-l"],
    ["-n", "-o", "-i"],
    ["-n", "-w", "-i"],
    ["-n", "-A", "2", "-i"],
    ["-n", "-B", "3"],
    ["-n", "-C", "1", "-i"],
    ["-n", "-m", "1", "-i"],
    ["--json", "-i"],
  ];
  const argvs = patterns.flatMap((p) => flagSets.map((flags) => [...flags, "-e", p]));
  await agreeWithRg(writeBlockFiles, "quick", argvs);
  await agreeWithRg(writeBlockFiles, "full", argvs);
});
