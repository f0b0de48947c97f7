/**
 * Saved sketches (`daemon.ts --cache-dir`, src/daemon/sketch_cache.ts)
 * through real daemons on a Unix socket, checked against real rg: a daemon
 * saves its sketches, is stopped, files change, and the next daemon
 * restores the sketches of unchanged files only. A file changed while no
 * daemon ran (its content alone, with the old mtime put back; its size;
 * its content and mtime) gets no stale sketch, which would hide its new
 * words from searches. A truncated or corrupt cache file is ignored with a
 * log line, and searches still answer as rg does. A restored file is saved
 * again only once more than one file in 20 needed a new sketch. The cache
 * is on by default (in `$XDG_CACHE_HOME`), off with `--no-cache`, and
 * past `--cache-max-bytes` the least recently used files are deleted.
 * A split workspace's shard plan is saved beside its sketches and used by
 * the next daemon instead of a walk; one made before the tree changed much
 * still gives rg's answers, and is then forgotten; a broken one is ignored
 * with a log line.
 */
import { ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { cacheFile, planFile } from "../src/daemon/sketch_cache.ts";
import {
  acceptsConnections,
  LineSocket,
  pollUntil,
  rg,
  taskRunArgs,
  TEST_OPTS,
  testCacheHome,
  type TestDaemon,
  withDaemon,
} from "./harness.ts";

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

/** Runs a daemon with the cache directory (and more flags), holding one connection. */
function withCachedDaemon(
  cache: string,
  fn: (sock: LineSocket, d: TestDaemon) => Promise<void>,
  flags: string[] = ["--cache-dir", cache],
): Promise<void> {
  return withDaemon(flags, async (d) => {
    const sock = await LineSocket.connect(d.socket);
    try {
      await fn(sock, d);
    } finally {
      sock.close();
    }
  });
}

/** The size of a file, 0 when there is none. */
function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** Waits until `root`'s sketches are saved in `cache`. */
function savedIn(cache: string, root: string): Promise<number> {
  return pollUntil("the sketch cache file", () => sizeOf(fileFor(cache, root)), (n) => n > 0, {
    timeoutMs: 30_000,
  });
}

/** A first daemon that opens `roots`, sketches them, and saves the sketches. */
async function saveSketchesOf(
  cache: string,
  roots: string[],
  flags = ["--cache-dir", cache],
): Promise<void> {
  await withCachedDaemon(cache, async (sock) => {
    for (const root of roots) await open(sock, root);
    await sketched(sock);
    for (const root of roots) await savedIn(cache, root);
  }, flags);
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
      // The write goes on after the last slice (it holds up no search).
      await pollUntil(
        "the file saved again",
        () => Deno.readFileSync(fileFor(cache, root)),
        (now) => now.length !== saved.length || now.some((b, i) => b !== saved[i]),
        { timeoutMs: 30_000 },
      );
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
);

Deno.test(
  "sketches are saved by default under $XDG_CACHE_HOME, and not with --no-cache",
  TEST_OPTS,
  async () => {
    const [saved, unsaved] = [await makeTree(), await makeTree()];
    // The harness gives each test file's daemons an XDG_CACHE_HOME of its own.
    const cache = join(testCacheHome(), "curserve", "sketches");
    try {
      await saveSketchesOf(cache, [saved], []);
      strictEqual((Deno.statSync(cache).mode ?? 0) & 0o777, 0o700);
      Deno.writeTextFileSync(join(saved, "keep4.c"), "laterword_theta();\n", { append: true });
      await withCachedDaemon(cache, async (sock, d) => {
        const workspace = await open(sock, saved);
        ok(/sketches of 8 files restored/.test(d.process.output), d.process.output);
        await sameAsRg(sock, workspace, saved, ["laterword_theta", "keepword_4"]);
      }, []);

      await withCachedDaemon(cache, async (sock) => {
        await open(sock, unsaved);
        await sketched(sock);
        strictEqual(sizeOf(fileFor(cache, unsaved)), 0, "saved despite --no-cache");
      }, ["--no-cache"]);
    } finally {
      for (const dir of [saved, unsaved]) await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "past --cache-max-bytes the least recently used saved sketches are deleted",
  TEST_OPTS,
  async () => {
    const [a, b, c] = [await makeTree(), await makeTree(), await makeTree()];
    const cache = await Deno.makeTempDir({ prefix: "curserve-cache-dir-" });
    try {
      await saveSketchesOf(cache, [a]);
      await saveSketchesOf(cache, [b]);
      // Room for two of the three files.
      const one = sizeOf(fileFor(cache, a));
      const flags = ["--cache-dir", cache, "--cache-max-bytes", String(Math.floor(2.5 * one))];
      // Left by daemons stopped mid-save: one long ago, one maybe still writing.
      const partial = (name: string) => join(cache, String(Deno.uid()), `${name}.partial`);
      Deno.writeTextFileSync(partial("old"), "x");
      Deno.utimeSync(partial("old"), new Date(), new Date(Date.now() - 3600_000));
      Deno.writeTextFileSync(partial("new"), "x");
      await withCachedDaemon(cache, async (sock, d) => {
        // a, saved before b, is used again: restoring from it counts.
        await open(sock, a);
        ok(/sketches of 9 files restored/.test(d.process.output), d.process.output);
        await open(sock, c);
        await sketched(sock);
        await savedIn(cache, c);
        // Pruned once c's file is in.
        await pollUntil(
          "a file deleted",
          () => d.process.output,
          (out) => out.split("deleted").length > 2,
        );
        const deleted = d.process.output.split("\n").filter((l) => l.includes("deleted"));
        strictEqual(deleted.length, 2, d.process.output);
        ok(deleted.some((l) => l.includes(fileFor(cache, b))), d.process.output);
        ok(deleted.some((l) => l.includes(partial("old"))), d.process.output);
      }, flags);
      strictEqual(sizeOf(fileFor(cache, b)), 0, "the least recently used file is still there");
      strictEqual(sizeOf(partial("new")), 1, "a partial file that may be in use was deleted");
      ok(sizeOf(fileFor(cache, a)) > 0 && sizeOf(fileFor(cache, c)) > 0, "a used file was deleted");
    } finally {
      for (const dir of [a, b, c, cache]) await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "the daemon's cache flags: bad ones fail naming the flag, an unusable default is logged",
  TEST_OPTS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "curserve-cache-flags-" });
    try {
      const daemon = (args: string[], env: Record<string, string> = { XDG_CACHE_HOME: dir }) =>
        new Deno.Command(Deno.execPath(), {
          args: [...taskRunArgs("daemon"), "--socket", join(dir, "d.sock"), ...args],
          env,
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        });
      for (
        const [args, message] of [
          [["--no-cache", "--cache-dir", dir], "--no-cache and --cache-dir contradict each other"],
          [
            ["--cache-max-bytes", "lots"],
            "--cache-max-bytes needs a size like 512M or 8G, got 'lots'",
          ],
        ]
      ) {
        const out = await daemon(args as string[]).output();
        strictEqual(out.code, 2, (args as string[]).join(" "));
        ok(dec.decode(out.stderr).includes(message as string), dec.decode(out.stderr));
      }
      // XDG_CACHE_HOME is a file: no cache, said once, and the daemon serves.
      const file = join(dir, "not-a-dir");
      Deno.writeTextFileSync(file, "");
      const child = daemon([], { XDG_CACHE_HOME: file }).spawn();
      const stderr = new Response(child.stderr).text();
      try {
        await pollUntil(
          "the daemon listening",
          () => acceptsConnections(join(dir, "d.sock")),
          Boolean,
        );
      } finally {
        child.kill("SIGTERM");
        await child.status;
      }
      ok(
        /curserve: no sketch cache \(.*not-a-dir.*\); pass --cache-dir DIR or --no-cache/.test(
          await stderr,
        ),
        await stderr,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "a saved shard plan is used on re-open; a stale one still answers as rg, then is forgotten",
  TEST_OPTS,
  async () => {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-plan-" }));
    const cache = await Deno.makeTempDir({ prefix: "curserve-cache-dir-" });
    // Two workers on two CPUs, every tree split: two shards.
    const flags = ["--cache-dir", cache, "--workers", "2", "--shard-bytes", "1"];
    const plan = planFile({ dir: cache, uid: Deno.uid()!, root, hidden: false, noIgnore: false });
    const mtime = () => Deno.statSync(plan).mtime!.getTime();
    const patterns = ["planword_\\d+", "holds plain", "lateword"];
    try {
      for (const dir of ["a", "b", "c", "d"]) {
        Deno.mkdirSync(join(root, dir));
        for (let i = 0; i < 5; i++) {
          Deno.writeTextFileSync(join(root, dir, `f${i}.c`), filler(dir) + `planword_${i}\n`);
        }
      }
      await withCachedDaemon(cache, async (sock) => {
        await sameAsRg(sock, await open(sock, root), root, patterns);
        await pollUntil("the shard plan saved", () => sizeOf(plan), (n) => n > 0);
      }, flags);
      const saved = JSON.parse(Deno.readTextFileSync(plan));
      strictEqual(saved.bounds.length, 1, Deno.readTextFileSync(plan));

      // Unchanged: the next daemon reads the plan (which marks it used) and keeps it.
      Deno.utimeSync(plan, new Date(0), new Date(0));
      await withCachedDaemon(cache, async (sock) => {
        await sameAsRg(sock, await open(sock, root), root, patterns);
      }, flags);
      ok(mtime() > 0, "the saved plan was not used");
      strictEqual(Deno.readTextFileSync(plan), JSON.stringify(saved));

      // Most bytes now sit before the first shard's end: the old plan gives
      // rg's answers from uneven shards, and is deleted after the load.
      for (let i = 0; i < 40; i++) {
        Deno.writeTextFileSync(join(root, "a", `late${i}.c`), filler("late") + `lateword ${i}\n`);
      }
      await withCachedDaemon(cache, async (sock) => {
        await sameAsRg(sock, await open(sock, root), root, patterns);
        await pollUntil("the stale plan forgotten", () => sizeOf(plan), (n) => n === 0);
      }, flags);
      // The next daemon plans afresh, and saves that plan.
      await withCachedDaemon(cache, async (sock) => {
        await sameAsRg(sock, await open(sock, root), root, patterns);
        await pollUntil("a new shard plan saved", () => sizeOf(plan), (n) => n > 0);
      }, flags);
      ok(Deno.readTextFileSync(plan) !== JSON.stringify(saved), "the plan did not change");

      // A broken plan file: said so, and the tree is planned by a walk.
      Deno.writeTextFileSync(plan, "{not json");
      await withCachedDaemon(cache, async (sock, d) => {
        await sameAsRg(sock, await open(sock, root), root, patterns);
        const line = d.process.output.split("\n").find((l) => l.includes("ignoring shard plan"));
        ok(line?.includes(plan), d.process.output);
      }, flags);
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
);
