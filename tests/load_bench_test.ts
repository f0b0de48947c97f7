/**
 * A smoke test of the load benchmark (`bench/load.ts --quick`): it runs end
 * to end (a daemon, sessions on both paths, the scaling curves) and writes a
 * markdown report with every section and a well-formed PNG plot. It asserts
 * nothing about timings: CI machines are shared and noisy, and the report's
 * figures are for people to read.
 * @module
 */
import { match, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";

const script = new URL("../bench/load.ts", import.meta.url).pathname;

/** CRC-32 (ISO-HDLC, as PNG chunks use it). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Walks a PNG's chunks, checking the signature, every chunk's CRC, that
 * IHDR comes first and IEND last, and that there is image data.
 * @returns The image's width and height.
 */
function checkPng(png: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  ok(signature.every((b, i) => png[i] === b), "PNG signature");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const types: string[] = [];
  let at = 8;
  while (at < png.length) {
    ok(at + 12 <= png.length, `chunk header at ${at} runs past the end`);
    const length = view.getUint32(at);
    const typeAndData = png.subarray(at + 4, at + 8 + length);
    const type = new TextDecoder().decode(typeAndData.subarray(0, 4));
    strictEqual(view.getUint32(at + 8 + length), crc32(typeAndData), `CRC of chunk ${type}`);
    types.push(type);
    at += 12 + length;
  }
  strictEqual(at, png.length, "chunks end at the end of the file");
  strictEqual(types[0], "IHDR");
  strictEqual(types.at(-1), "IEND");
  ok(types.includes("IDAT"), "image data");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

Deno.test("bench/load.ts --quick writes a report and a latency CDF plot", async () => {
  const out = await Deno.makeTempDir({ prefix: "curserve-load-test-" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--lock=${new URL("../npm.lock", import.meta.url).pathname}`,
        script,
        "--quick",
        "--out",
        out,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    strictEqual(run.code, 0, `load.ts --quick failed:\n${stderr}`);
    match(stderr, /load: .*calls/, "progress on stderr");

    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    const md = names.find((n) => n.endsWith("-load-quick.md"));
    const png = names.find((n) => n.endsWith("-load-quick-cdf.png"));
    ok(md && png, `report and plot written, found ${names.join(", ")}`);

    const report = await Deno.readTextFile(join(out, md));
    for (
      const heading of [
        "## curserve load:",
        "### Targets (issue 5)",
        "### Latency:",
        "### Memory and load per workspace",
        "### Scaling with sessions",
        "### Scaling with workspace size",
      ]
    ) ok(report.includes(heading), `report has "${heading}"`);
    match(report, /- Machine: \d+ cores/);
    match(report, /\| `grep` \| daemon \| \d+ \|/);
    match(report, /\| \*\*all\*\* \| subprocess \/ fs \| \d+ \| 0 \|/, "no errors on the baseline");
    match(report, /\| \*\*all\*\* \| daemon \| \d+ \| 0 \|/, "no errors through the daemon");
    ok(report.includes(`](${png})`), "the report links the plot");
    strictEqual(new TextDecoder().decode(run.stdout).trim(), report.trim(), "stdout is the report");

    const { width, height } = checkPng(await Deno.readFile(join(out, png)));
    ok(width >= 400 && height >= 300, `plot size ${width}×${height}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
