/**
 * Saved sketches (`daemon.ts --cache-dir`, src/daemon/sketch_cache.ts)
 * through real daemons on a Unix socket, checked against real rg: a daemon
 * saves its sketches, is stopped, files change, and the next daemon
 * restores the sketches of unchanged files only. A file changed while no
 * daemon ran (its content alone, with the old mtime put back; its size;
 * its content and mtime) gets no stale sketch, which would hide its new
 * words from searches. A truncated or corrupt cache file is ignored with a
 * log line, and searches still answer as rg does. A restored file is saved
 * again only once more than one file in 20 needed a new sketch.
 */
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { cacheFile } from "../src/daemon/sketch_cache.ts";
import { LineSocket, pollUntil, rg, TEST_OPTS, type TestDaemon, withDaemon } from "./harness.ts";

const dec = new TextDecoder();

/** Filler lines, so each file's sketch says little beyond its own words. */
const filler = (tag: string) =>
  Array.from({ length: 200 }, (_, i) => `${tag} line ${i} holds plain text only\n`).join("");

/** A tree of unchanged files plus the three that the test changes. */
async function makeTree(): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-sketch-cache-" }));
  for (let i = 0; i < 6; i++) {
    await Deno.writeTextFile(join(dir, `keep${i}.c`), filler(`keep${i}`) + `keepword_${i}\n`);
  }
  for (const name of ["content", "size", "mtime"]) {
    await Deno.writeTextFile(join(dir, `${name}.c`), filler(name) + "oldword_alpha();\n");
  }
  return dir;
}

/** The cache file of a one-shard workspace at `root`. */
const fileFor = (cache: string, root: string) =>
  cacheFile({
    dir: cache,
    uid: Deno.uid()!,
    root,
    hidden: false,
    noIgnore: false,
    shard: 0,
    shards: 1,
  });

/** Opens `root` in the daemon; returns the workspace handle. */
async function open(sock: LineSocket, root: string): Promise<string> {
  return (await sock.result("open", { root })).workspace;
}

/** Waits until the daemon has sketched every file of its workspaces. */
async function sketched(sock: LineSocket): Promise<void> {
  await pollUntil(
    "every file sketched",
    () => sock.result("stats", {}),
    (s) => s.workspaces.every((w: { unsketched_files: number }) => w.unsketched_files === 0),
    { timeoutMs: 30_000 },
  );
}

/** The daemon's grep equals `rg --sort path` for each pattern. */
async function sameAsRg(sock: LineSocket, workspace: string, root: string, patterns: string[]) {
  for (const p of patterns) {
    const want = await rg(["-n", p], root);
    const got = await sock.result("grep", { workspace, args: ["-n", p] });
    strictEqual(got.stdout, dec.decode(want.stdout), `grep -n ${p}`);
    strictEqual(got.code, want.code, `exit code of grep -n ${p}`);
  }
}

/** Runs a daemon with the cache directory, holding one connection. */
function withCachedDaemon(
  cache: string,
  fn: (sock: LineSocket, d: TestDaemon) => Promise<void>,
): Promise<void> {
  return withDaemon(["--cache-dir", cache], async (d) => {
    const sock = await LineSocket.connect(d.socket);
    try {
      await fn(sock, d);
    } finally {
      sock.close();
    }
  });
}

/** A first daemon that opens `roots`, sketches them, and saves the sketches. */
async function saveSketchesOf(cache: string, roots: string[]): Promise<void> {
  await withCachedDaemon(cache, async (sock) => {
    for (const root of roots) await open(sock, root);
    await sketched(sock);
    for (const root of roots) {
      await pollUntil(
        "the sketch cache file",
        () => {
          try {
            return Deno.statSync(fileFor(cache, root)).size;
          } catch {
            return 0;
          }
        },
        (n) => n > 0,
        { timeoutMs: 30_000 },
      );
    }
  });
}

Deno.test(
  "a saved sketch is not used for a file changed while the daemon was down",
  TEST_OPTS,
  async () => {
    const root = await makeTree();
    const cache = await Deno.makeTempDir({ prefix: "curserve-cache-dir-" });
    try {
      await saveSketchesOf(cache, [root]);
      // Content alone: same size, and the old mtime put back.
      const content = join(root, "content.c");
      const before = Deno.statSync(content);
      const text = Deno.readTextFileSync(content);
      Deno.writeTextFileSync(content, text.replace("oldword_alpha", "newword_gamma"));
      Deno.utimeSync(content, before.atime!, before.mtime!);
      strictEqual(Deno.statSync(content).mtime?.getTime(), before.mtime?.getTime());
      strictEqual(Deno.statSync(content).size, before.size);
      // Size.
      Deno.writeTextFileSync(join(root, "size.c"), "sizeword_delta();\n", { append: true });
      // Content and mtime (same size).
      const mtime = join(root, "mtime.c");
      const m = Deno.readTextFileSync(mtime).replace("oldword_alpha", "mtimeword_eps");
      Deno.writeTextFileSync(mtime, m);
      Deno.utimeSync(mtime, new Date(), new Date(Date.now() + 10_000));

      await withCachedDaemon(cache, async (sock, d) => {
        const workspace = await open(sock, root);
        // The unchanged files' sketches were restored, the changed ones' not.
        const line = d.process.output.split("\n").find((l) => l.includes("restored from"));
        ok(line, `no restore logged:\n${d.process.output}`);
        ok(/sketches of 6 files restored .*; 3 saved for bytes changed/.test(line), line);
        await sameAsRg(sock, workspace, root, [
          "newword_gamma",
          "sizeword_delta",
          "mtimeword_eps",
          "oldword_alpha",
          "keepword_3",
          "holds plain",
        ]);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
);

Deno.test(
  "a truncated or corrupt sketch cache file is ignored with a log line",
  TEST_OPTS,
  async () => {
    const [truncated, corrupt] = [await makeTree(), await makeTree()];
    const cache = await Deno.makeTempDir({ prefix: "curserve-cache-dir-" });
    try {
      await saveSketchesOf(cache, [truncated, corrupt]);
      const cut = fileFor(cache, truncated);
      Deno.truncateSync(cut, Math.floor(Deno.statSync(cut).size / 2));
      const bad = Deno.readFileSync(fileFor(cache, corrupt));
      bad[bad.length >> 1] ^= 0x40; // one bit, in some sketch's bitset
      Deno.writeFileSync(fileFor(cache, corrupt), bad);
      // New words in a file of each, so a wrongly trusted sketch would hide them.
      for (const root of [truncated, corrupt]) {
        Deno.writeTextFileSync(join(root, "keep2.c"), "freshword_zeta();\n", { append: true });
      }

      await withCachedDaemon(cache, async (sock, d) => {
        for (const root of [truncated, corrupt]) {
          const workspace = await open(sock, root);
          await sameAsRg(sock, workspace, root, ["freshword_zeta", "keepword_1", "oldword_alpha"]);
        }
        const ignored = d.process.output.split("\n").filter((l) =>
          l.includes("ignoring sketch cache file")
        );
        strictEqual(ignored.length, 2, d.process.output);
        for (const line of ignored) ok(line.includes("truncated or corrupt"), line);
        ok(ignored[0].includes(cut), ignored[0]);
        ok(!d.process.output.includes("restored from"), d.process.output);
      });
    } finally {
      for (const dir of [truncated, corrupt, cache]) await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a restored sketch cache file is saved again only when more than one file in 20 changed",
  TEST_OPTS,
  async () => {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-sketch-cache-" }));
    const cache = await Deno.makeTempDir({ prefix: "curserve-cache-dir-" });
    const file = (i: number) => join(root, `f${i}.c`);
    try {
      for (let i = 0; i < 40; i++) Deno.writeTextFileSync(file(i), filler(`f${i}`));
      await saveSketchesOf(cache, [root]);
      const saved = Deno.readFileSync(fileFor(cache, root));
      const reopen = (words: string[]) =>
        withCachedDaemon(cache, async (sock) => {
          const workspace = await open(sock, root);
          // The last slice saves (or not) before the stats that see it done.
          await sketched(sock);
          await sameAsRg(sock, workspace, root, [...words, "holds plain"]);
        });

      // One file of 40 changed: its sketch is built again, the file kept.
      Deno.writeTextFileSync(file(0), "oneword_eta();\n", { append: true });
      await reopen(["oneword_eta"]);
      ok(
        Deno.readFileSync(fileFor(cache, root)).every((b, i) => b === saved[i]),
        "rewritten for one changed file",
      );

      // Five of 40: saved again.
      for (let i = 1; i <= 5; i++) {
        Deno.writeTextFileSync(file(i), `five_${i}();\n`, { append: true });
      }
      await reopen(["five_3"]);
      const now = Deno.readFileSync(fileFor(cache, root));
      ok(now.length !== saved.length || now.some((b, i) => b !== saved[i]), "not saved again");
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
);
