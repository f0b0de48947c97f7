/**
 * Clones share memory: workspaces of identical trees under different roots
 * (and of different users) hold one copy of each distinct file's bytes and
 * sketch in a worker's WebAssembly memory (core-wasm/src/blobs.rs), because
 * shard i of each clone is placed on the same worker (`WorkerPool.assign`).
 * Through a real daemon: the daemon's distinct bytes and WebAssembly memory
 * grow by about one copy, not one per clone, while every clone answers
 * exactly as rg does on its own root, and a file edited in one clone changes
 * only that clone's answers.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { type Json, LineSocket, pollUntil, rg, TEST_OPTS, withDaemon } from "./harness.ts";

const CLONES = 5;
const dec = new TextDecoder();

/** A small repository: distinct files (no two share contents), one ignored. */
async function makeTree(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, ".git"), { recursive: true });
  await Deno.writeTextFile(join(dir, ".gitignore"), "*.log\n");
  await Deno.writeTextFile(join(dir, "build.log"), "ignored needle_1\n");
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let d = 0; d < 4; d++) {
    await Deno.mkdir(join(dir, `dir${d}`), { recursive: true });
    for (let f = 0; f < 10; f++) {
      const lines = [];
      for (let l = 0; l < 3000; l++) {
        const word = ["common", "needle_" + (next() % 50), "Rare_Token", "text"][next() % 4];
        lines.push(`${d}/${f}:${l} ${word} ${next().toString(36)}`);
      }
      await Deno.writeTextFile(join(dir, `dir${d}`, `file${f}.txt`), lines.join("\n") + "\n");
    }
  }
}

/** `cp -a`: a clone with its own inodes (a different root for the daemon). */
async function copyTree(from: string, to: string): Promise<void> {
  const r = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
  strictEqual(r.code, 0, dec.decode(r.stderr));
}

const SEARCHES = [
  ["-n", "needle_7\\b"],
  ["-c", "common"],
  ["-l", "-i", "rare_token"],
  ["-w", "-o", "needle_4[0-9]"],
  ["edited_marker"],
];

/** Each clone answers each search exactly as rg does on its own root. */
async function sameAsRg(sock: LineSocket, clones: { root: string; ws: string }[]): Promise<void> {
  for (const { root, ws } of clones) {
    for (const args of SEARCHES) {
      const ours = await sock.result("grep", { workspace: ws, args });
      const theirs = await rg(args, root);
      strictEqual(ours.code, theirs.code, `exit code of ${args.join(" ")} in ${root}`);
      strictEqual(ours.stdout, dec.decode(theirs.stdout), `${args.join(" ")} in ${root}`);
    }
  }
}

/** Sums of the workers' memory figures (stats, as root). */
async function memory(
  sock: LineSocket,
): Promise<{ wasm: number; blobs: number; bytes: number; sketch: number }> {
  const s = await sock.result("stats", {});
  ok(Array.isArray(s.workers), `root sees the workers' memory: ${JSON.stringify(s)}`);
  const sum = (k: string) => s.workers.reduce((n: number, w: Json) => n + w[k], 0);
  return {
    wasm: sum("wasm_memory_bytes"),
    blobs: sum("blobs"),
    bytes: sum("blob_bytes"),
    sketch: sum("blob_sketch_bytes"),
  };
}

/** Waits until every workspace has all its sketches built. */
function sketched(sock: LineSocket): Promise<unknown> {
  return pollUntil(
    "every file sketched",
    () => sock.result("stats", {}),
    (s: Json) => s.workspaces.every((w: Json) => w.unsketched_files === 0),
    { timeoutMs: 60_000 },
  );
}

Deno.test({
  name: "clones of one tree share one copy of their files, and each answers as rg does",
  ...TEST_OPTS,
  async fn(t) {
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-clones-" }));
    await Deno.chmod(base, 0o755);
    const roots = Array.from({ length: CLONES }, (_, i) => join(base, `clone${i}`));
    await makeTree(roots[0]);
    for (const root of roots.slice(1)) await copyTree(roots[0], root);
    try {
      // Small shards, so that each clone is split across both workers.
      await withDaemon(["--workers", "2", "--shard-bytes", "256K", "--linger", "0"], async (d) => {
        const sock = await LineSocket.connect(d.socket);
        const clones: { root: string; ws: string }[] = [];
        const open = async (root: string) => {
          const r = await sock.result("open", { root });
          clones.push({ root, ws: r.workspace });
          return r;
        };
        const before = await memory(sock);
        const first = await open(roots[0]);
        await sketched(sock);
        const one = await memory(sock);
        strictEqual(one.bytes - before.bytes, first.bytes, "one clone: its bytes, once");
        ok(one.sketch > 0, "its sketches are counted in the store");

        await t.step("more clones add no bytes, no sketches, about no memory", async () => {
          for (const root of roots.slice(1)) {
            const r = await open(root);
            strictEqual(r.bytes, first.bytes, "each clone holds (and counts) all its bytes");
          }
          await sketched(sock);
          const all = await memory(sock);
          const s = await sock.result("stats", {});
          strictEqual(s.workspaces.length, CLONES);
          ok(s.workspaces.every((w: Json) => w.shards > 1), "split across the workers");
          deepStrictEqual(
            { blobs: all.blobs, bytes: all.bytes, sketch: all.sketch },
            { blobs: one.blobs, bytes: one.bytes, sketch: one.sketch },
            `${CLONES} clones hold one copy of the bytes and sketches`,
          );
          // Paths and a few tables are each clone's own, about 300 KiB a
          // shard (mostly its 256 KiB of trigram counts): 4.8 MB here, for
          // 4 clones in 4 shards each. Copies would take 16.9 MB.
          const grown = all.wasm - one.wasm;
          const copies = (CLONES - 1) * (first.bytes + one.sketch);
          ok(
            grown < copies / 2,
            `WebAssembly memory grew ${grown} bytes for ${CLONES - 1} more clones, ` +
              `whose copies would take ${copies}`,
          );
        });

        await t.step(
          "every clone answers exactly as rg on its own root",
          () => sameAsRg(sock, clones),
        );

        await t.step("a file edited in one clone changes only that clone", async () => {
          const edited = join(roots[2], "dir1", "file3.txt");
          const text = "edited_marker needle_7\n" + (await Deno.readTextFile(edited));
          await Deno.writeTextFile(edited, text);
          // Read-your-writes: the next request sees it (no notify_changed).
          const hits = (ws: string) =>
            sock.result("grep", { workspace: ws, args: ["-l", "edited_marker"] });
          strictEqual((await hits(clones[2].ws)).stdout, "dir1/file3.txt\n");
          for (const c of clones.filter((_, i) => i !== 2)) strictEqual((await hits(c.ws)).code, 1);
          await sameAsRg(sock, clones);
          const after = await memory(sock);
          strictEqual(after.blobs, one.blobs + 1, "the edited contents are a blob of their own");
          strictEqual(after.bytes, one.bytes + new TextEncoder().encode(text).length);
        });

        await t.step("closing clones frees only what no other clone holds", async () => {
          const closer = await LineSocket.connect(d.socket);
          // Held by `sock` only: `close` drops its reference; linger 0 frees it.
          for (const c of clones.slice(1)) await sock.result("close", { workspace: c.ws });
          await pollUntil(
            "the closed clones freed",
            () => memory(closer),
            (m) => m.blobs === one.blobs,
          );
          strictEqual((await memory(closer)).bytes, one.bytes, "the first clone's bytes stay");
          await sameAsRg(sock, clones.slice(0, 1));
          closer.close();
        });
        sock.close();
      });
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
