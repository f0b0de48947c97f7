/**
 * The committed WASM matches the sources: the source hash of core-wasm
 * (`scripts/build_wasm.sh --hash`, no Rust toolchain needed) must be the one
 * recorded in the generated glue and in `core-wasm/lib/SOURCE_HASH`.
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { REPO, run } from "./harness.ts";

const LIB = `${REPO}/core-wasm/lib`;
const REBUILD = "core-wasm/lib/ is stale: run `deno task build:wasm` (and commit core-wasm/lib/)";

Deno.test("the committed WASM matches the sources", async () => {
  const out = await run("bash", ["scripts/build_wasm.sh", "--hash"], REPO);
  strictEqual(out.code, 0, `build_wasm.sh --hash failed:\n${out.stderr}`);
  const hash = new TextDecoder().decode(out.stdout).trim();
  strictEqual(hash.length, 64, `not a sha256 hash: ${JSON.stringify(hash)}`);

  const glue = await Deno.readTextFile(`${LIB}/curserve_core.js`);
  const header = glue.slice(0, glue.indexOf("\n")).match(/source-hash: ([0-9a-f]+)$/)?.[1];
  strictEqual(header, hash, `curserve_core.js header: ${REBUILD}`);
  strictEqual(
    (await Deno.readTextFile(`${LIB}/SOURCE_HASH`)).trim(),
    hash,
    `SOURCE_HASH: ${REBUILD}`,
  );
});

Deno.test("the committed .wasm starts with the WebAssembly magic", async () => {
  using file = await Deno.open(`${LIB}/curserve_core_bg.wasm`);
  const head = new Uint8Array(4);
  await file.read(head);
  deepStrictEqual([...head], [0x00, 0x61, 0x73, 0x6d], `not a WebAssembly module: ${REBUILD}`);
});
