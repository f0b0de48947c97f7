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
import {
  type Json,
  LineSocket,
  pollUntil,
  REPO,
  RG,
  rg,
  TEST_OPTS,
  withDaemon,
} from "./harness.ts";

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

// --- two users ---------------------------------------------------------------------------

const CLIENT = Deno.readTextFileSync(join(REPO, "tests/clients/line_client.py"));
const ALICE = "curserve-alice";

async function cmd(args: string[], opts: Deno.CommandOptions = {}): Promise<Deno.CommandOutput> {
  return await new Deno.Command(args[0], { args: args.slice(1), stdin: "null", ...opts }).output();
}

/** The test user (as tests/tenant_test.ts makes it), or why there is none. */
async function alice(): Promise<{ uid: number; gid: number } | string> {
  if (Deno.uid() !== 0) return "tests are not running as root";
  if ((await cmd(["id", ALICE])).code !== 0) {
    const r = await cmd(["useradd", "-M", "-s", "/usr/sbin/nologin", ALICE]);
    if (r.code !== 0) return `useradd failed: ${dec.decode(r.stderr)}`;
  }
  const id = async (flag: string) => Number(dec.decode((await cmd(["id", flag, ALICE])).stdout));
  return { uid: await id("-u"), gid: await id("-g") };
}

const user = await alice();
if (typeof user === "string") console.error(`two-user clone test skipped: ${user}`);

/** Runs a command as alice. */
function asAlice(args: string[], cwd = "/"): Promise<Deno.CommandOutput> {
  const u = user as { uid: number; gid: number };
  return cmd(["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", ...args], {
    cwd,
    env: { PATH: "/usr/bin:/bin", HOME: "/" },
  });
}

/** Sends JSON-RPC requests from a client running as alice; one reply each. */
async function aliceClient(socket: string, calls: [string, unknown][]): Promise<Json[]> {
  const steps = calls.map(([method, params], i) => ({ jsonrpc: "2.0", id: i + 1, method, params }));
  const out = await asAlice(["python3", "-c", CLIENT, socket, JSON.stringify(steps)]);
  strictEqual(out.code, 0, `client as alice failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name: "another user's clone shares the files both read, and never one only root may read",
  ignore: typeof user === "string",
  ...TEST_OPTS,
  async fn() {
    const u = user as { uid: number; gid: number };
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-clones2-" }));
    await Deno.chmod(base, 0o755);
    const mine = join(base, "root-clone");
    await makeTree(mine);
    // A file only root may read, in both clones: alice's workspace must
    // not hold it, although root's holds the very same bytes.
    const secret = "root_only_clone_secret\n";
    await Deno.writeTextFile(join(mine, "dir0", "secret.txt"), secret, { mode: 0o600 });
    const home = join(base, "alice");
    await Deno.mkdir(home, { mode: 0o700 });
    const hers = join(home, "clone");
    await copyTree(mine, hers);
    const chown = await cmd(["chown", "-R", `${u.uid}:${u.gid}`, home]);
    strictEqual(chown.code, 0, dec.decode(chown.stderr));
    await Deno.chown(join(hers, "dir0", "secret.txt"), 0, 0);
    try {
      await withDaemon(
        ["--workers", "2", "--shard-bytes", "256K", "--socket-mode", "666"],
        async (d) => {
          await Deno.chmod(d.dir, 0o711);
          const sock = await LineSocket.connect(d.socket);
          const opened = await sock.result("open", { root: mine });
          await sketched(sock);
          const one = await memory(sock);
          const [o] = await aliceClient(d.socket, [["open", { root: hers }]]);
          ok(o.result, JSON.stringify(o));
          strictEqual(o.result.bytes, opened.bytes - secret.length, "all but the secret");
          const ws = o.result.workspace;
          const replies = await aliceClient(d.socket, [
            ["open", { root: hers }],
            ...SEARCHES.map((args) => ["grep", { workspace: ws, args }] as [string, unknown]),
            ["grep", { workspace: ws, args: ["-l", "root_only"] }],
          ]);
          for (const [i, args] of [...SEARCHES, ["-l", "root_only"]].entries()) {
            const r = replies[i + 1].result;
            const theirs = await asAlice([RG, "--sort", "path", ...args], hers);
            strictEqual(r.stdout, dec.decode(theirs.stdout), `${args.join(" ")} as alice`);
          }
          ok(!JSON.stringify(replies).includes("root_only_clone_secret"), "the secret leaked");
          await sketched(sock);
          const both = await memory(sock);
          deepStrictEqual(
            { blobs: both.blobs, bytes: both.bytes, sketch: both.sketch },
            { blobs: one.blobs, bytes: one.bytes, sketch: one.sketch },
            "alice's clone holds no bytes of its own",
          );
          sock.close();
        },
      );
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
