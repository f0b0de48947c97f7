/**
 * A careless or hostile client costs only itself: each case here ended,
 * stalled or bloated the daemon before. Malformed lines of every kind get
 * an error and the connection goes on; out of file descriptors, the daemon
 * keeps accepting once some are free; a client that never reads its
 * replies is no longer read from (its memory is bounded) while others are
 * served; a client that leaves during an open leaves no reference behind.
 * Last, a seeded fuzz run of random and mutated messages of both
 * protocols over several connections, after which the daemon answers a
 * sentinel grep exactly as rg does, with its file descriptors and memory
 * back within bounds.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { type Json, LineSocket, pollUntil, rg, sleep, TEST_OPTS, withDaemon } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function makeTree(lines = 0): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-hostile-" }));
  await Deno.writeTextFile(join(dir, "a.txt"), "sentinel_word here\nother\n");
  if (lines) await Deno.writeTextFile(join(dir, "big.txt"), "xline\n".repeat(lines));
  return dir;
}

function fdCount(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The daemon answers a grep on `root` as rg does, on a new connection. */
async function answersLikeRg(socket: string, root: string): Promise<void> {
  const s = await LineSocket.connect(socket);
  try {
    const { workspace } = await s.result("open", { root });
    const r = await s.result("grep", { workspace, args: ["-n", "sentinel_word"] });
    const expected = await rg(["--sort", "path", "-n", "sentinel_word"], root);
    strictEqual(r.stdout, dec.decode(expected.stdout));
    strictEqual(r.code, expected.code);
  } finally {
    s.close();
  }
}

Deno.test({
  name: "hostile: malformed lines of every kind get errors; the connection and daemon live on",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree();
    try {
      await withDaemon([], async (d) => {
        const s = await LineSocket.connect(d.socket);
        try {
          const cases: [string | Uint8Array, RegExp][] = [
            ["null", /must be a JSON object, not null/],
            ["42", /not a number/],
            ['"text"', /not a string/],
            ["true", /not a boolean/],
            ["[1,2]", /batch requests are not supported/],
            ["[]", /batch requests are not supported/],
            ["{", /parse error/],
            ['{"jsonrpc":"2.0","id":1}', /needs "jsonrpc": "2.0" and a "method"/],
            ['{"jsonrpc":"2.0","id":1,"method":7}', /needs "jsonrpc"/],
            ['{"jsonrpc":"2.0","id":1,"method":"grep","params":[]}', /params must be an object/],
            [
              '{"jsonrpc":"2.0","id":1,"method":"grep","params":{"workspace":{}}}',
              /must be a string/,
            ],
            [
              '{"jsonrpc":"2.0","id":1,"method":"grep","params":{"workspace":"x"}}',
              /unknown workspace/,
            ],
            ['{"jsonrpc":"2.0","id":1e999,"method":"stats"}', /id must be a string or a finite/],
            ['{"jsonrpc":"2.0","id":{},"method":"stats"}', /id must be a string or a finite/],
            ['{"jsonrpc":"2.0","id":1,"method":"nope"}', /unknown method/],
            ['{"type":"alloc_pid","pid":-5,"repo_dir_path":"/"}', /positive integer pid/],
            ['{"type":"alloc_pid","pid":1e300,"repo_dir_path":7}', /positive integer pid/],
            ['{"type":"request_ripgrep","pid":"x"}', /has no allocated codebase/],
            ['{"type":"no_such"}', /unknown message type/],
            [Uint8Array.of(0xff, 0xfe, 0x7b, 0x00, 0x0a), /parse error/],
            ["[".repeat(100_000) + "]".repeat(100_000), /batch|parse error/],
            ['{"a":' + "[".repeat(50_000) + "]".repeat(50_000) + "}", /needs "jsonrpc"/],
            ["x".repeat(2 << 20), /exceeds 1048576 bytes/],
          ];
          for (const [line, expected] of cases) {
            const bytes = typeof line === "string" ? enc.encode(line + "\n") : line;
            await s.writeAll(bytes);
            const reply = await s.readJson();
            const message = String(reply.error?.message ?? reply.error ?? JSON.stringify(reply));
            ok(
              expected.test(message),
              `${dec.decode(bytes).slice(0, 60)} -> ${message.slice(0, 200)}`,
            );
          }
          // The same connection still works, and so does the daemon.
          const stats = await s.result("stats", {});
          ok(Array.isArray(stats.workspaces));
          await answersLikeRg(d.socket, root);
          strictEqual(d.process.child.pid > 0, true);
        } finally {
          s.close();
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: read_file of a FIFO, a socket or a directory is refused without blocking",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree();
    try {
      const mk = await new Deno.Command("mkfifo", { args: [join(root, "pipe")] }).output();
      strictEqual(mk.code, 0);
      await Deno.mkdir(join(root, "dir"));
      await withDaemon([], async (d) => {
        const s = await LineSocket.connect(d.socket);
        try {
          const { workspace } = await s.result("open", { root });
          for (const [path, why] of [["pipe", /not a regular file/], ["dir", /is a directory/]]) {
            const r = await s.call("read_file", { workspace, path });
            ok(r.error && (why as RegExp).test(r.error.message), JSON.stringify(r));
          }
          // The socket thread was never blocked: others are served.
          await answersLikeRg(d.socket, root);
        } finally {
          s.close();
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: an open past --memory-limit or the per-user quota fails naming limit and size",
  ...TEST_OPTS,
  async fn(t) {
    const root = await makeTree(500_000); // 3 MB
    try {
      for (
        const [flags, expected] of [
          [["--memory-limit", "1M"], /exceed the daemon's --memory-limit of 1048576 bytes/],
          [["--memory-limit", "1M", "--shard-bytes", "0"], /byte budget of 1048576 bytes/],
          [["--max-bytes-per-user", "1M"], /past the per-user limit of 1048576 bytes/],
        ] as [string[], RegExp][]
      ) {
        await t.step(flags.join(" "), async () => {
          await withDaemon(flags, async (d) => {
            const s = await LineSocket.connect(d.socket);
            try {
              const r = await s.call("open", { root });
              ok(r.error && expected.test(r.error.message), JSON.stringify(r));
              // Nothing is left held, and a tree that fits still opens.
              deepStrictEqual((await s.result("stats", {})).workspaces, []);
              const small = await makeTree();
              try {
                await answersLikeRg(d.socket, small);
              } finally {
                await Deno.remove(small, { recursive: true });
              }
            } finally {
              s.close();
            }
          });
        });
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: out of file descriptors, the daemon goes on accepting once some are free",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree();
    try {
      await withDaemon([], async (d) => {
        const pid = d.process.child.pid;
        await answersLikeRg(d.socket, root);
        // Leave room for only a few more connections.
        const limit = fdCount(pid) + 20;
        const lim = await new Deno.Command("prlimit", {
          args: ["--pid", String(pid), `--nofile=${limit}:${limit}`],
        }).output();
        strictEqual(lim.code, 0, dec.decode(lim.stderr));
        const idle: Deno.UnixConn[] = [];
        for (let i = 0; i < 60; i++) {
          idle.push(await Deno.connect({ transport: "unix", path: d.socket }));
        }
        // The daemon has run out: later connections wait in the backlog.
        await pollUntil(
          "the daemon to reach its descriptor limit",
          () => fdCount(pid),
          (n) => n >= limit - 1,
        );
        for (const c of idle) c.close();
        await answersLikeRg(d.socket, root);
        ok(/cannot accept a connection/.test(d.process.output), "the refusal is logged");
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: a client that never reads is no longer read from; others are served",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree(400_000); // big.txt: 2.4 MB of matching lines
    try {
      await withDaemon([], async (d) => {
        const pid = d.process.child.pid;
        const setup = await LineSocket.connect(d.socket);
        const { workspace } = await setup.result("open", { root });
        const before = rssBytes(pid);
        // 1000 requests whose replies are 1 MiB each (1 GB if all were
        // built), sent by a client that reads nothing.
        const greedy = await Deno.connect({ transport: "unix", path: d.socket });
        const line = JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "grep",
          params: { workspace, args: ["xline"] },
        }) + "\n";
        const flood = greedy.write(enc.encode(line.repeat(1000))).catch(() => 0);
        await sleep(500);
        for (let i = 0; i < 3; i++) await answersLikeRg(d.socket, root);
        const grown = rssBytes(pid) - before;
        ok(grown < 400 << 20, `the daemon grew by ${grown >> 20} MiB for one greedy client`);
        greedy.close();
        await flood;
        await answersLikeRg(d.socket, root);
        setup.close();
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: clients that leave during an open leave no reference behind",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree(50_000);
    try {
      await withDaemon(["--linger", "0"], async (d) => {
        for (let i = 0; i < 30; i++) {
          const c = await Deno.connect({ transport: "unix", path: d.socket });
          await c.write(enc.encode(
            JSON.stringify({ jsonrpc: "2.0", id: 1, method: "open", params: { root } }) + "\n",
          ));
          if (i % 3) await sleep(i % 7);
          c.close();
        }
        const s = await LineSocket.connect(d.socket);
        try {
          const left = await pollUntil(
            "every workspace to be freed",
            async () => (await s.result("stats", {})).workspaces as Json[],
            (ws) => ws.length === 0,
          );
          deepStrictEqual(left, []);
        } finally {
          s.close();
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test({
  name: "hostile: fuzz (seeded) of both protocols over several connections",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree();
    const seed = Number(Deno.env.get("CURSERVE_FUZZ_SEED") ?? 20261202);
    const rand = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    try {
      await withDaemon(["--timeout-ms", "5000"], async (d) => {
        const pid = d.process.child.pid;
        const setup = await LineSocket.connect(d.socket);
        const { workspace } = await setup.result("open", { root });
        await answersLikeRg(d.socket, root);
        const fdsBefore = fdCount(pid);
        const rssBefore = rssBytes(pid);
        const values: unknown[] = [
          null,
          true,
          0,
          -1,
          1e308,
          -0,
          "",
          "x".repeat(1000),
          [],
          {},
          [null],
          { a: { b: { c: [] } } },
          "\u0000",
          "../../etc/passwd",
          "/etc/shadow",
          "--files",
          "(?:\\w|\\s){3}Q",
          workspace,
          ["-n", "sentinel_word"],
          ["--json", "x"],
          ["-e"],
          ["--pre", "sh"],
          [1, 2],
        ];
        const methods = [
          "open",
          "grep",
          "matches",
          "glob",
          "list_directory",
          "read_file",
          "notify_changed",
          "close",
          "stats",
          "grep_cli",
          "bogus",
        ];
        const keys = [
          "root",
          "workspace",
          "args",
          "max_bytes",
          "limit",
          "pattern",
          "path",
          "paths",
          "offset",
          "cwd",
          "argv",
          "ignore",
          "hidden",
        ];
        const message = (): string => {
          const r = rand();
          if (r < 0.45) {
            const params: Record<string, unknown> = {};
            for (let i = Math.floor(rand() * 4); i > 0; i--) params[pick(keys)] = pick(values);
            if (rand() < 0.6) params.workspace = workspace;
            return JSON.stringify({
              jsonrpc: rand() < 0.9 ? "2.0" : pick(values),
              id: rand() < 0.8 ? Math.floor(rand() * 1000) : pick(values),
              method: rand() < 0.9 ? pick(methods) : pick(values),
              params: rand() < 0.9 ? params : pick(values),
            });
          }
          if (r < 0.7) {
            return JSON.stringify({
              type: pick(["alloc_pid", "request_ripgrep", "request_grep", pick(values)]),
              pid: rand() < 0.5 ? Math.floor(rand() * 5_000_000) : pick(values),
              repo_dir_path: rand() < 0.5 ? root : pick(values),
              pattern: pick(values),
              paths: pick(values),
              options: rand() < 0.5
                ? { ignore_case: pick(values), glob: pick(values) }
                : pick(values),
            });
          }
          if (r < 0.85) {
            // A valid request, mutated byte by byte.
            const base = enc.encode(JSON.stringify({
              jsonrpc: "2.0",
              id: 5,
              method: "grep",
              params: { workspace, args: ["sentinel_word"] },
            }));
            for (let i = Math.floor(rand() * 4) + 1; i > 0; i--) {
              base[Math.floor(rand() * base.length)] = Math.floor(rand() * 256);
            }
            return dec.decode(base).replaceAll("\n", " ");
          }
          return JSON.stringify(pick(values));
        };
        const conns = await Promise.all(
          Array.from({ length: 4 }, () => Deno.connect({ transport: "unix", path: d.socket })),
        );
        // Replies are read and thrown away, so no connection backs up.
        const drains = conns.map(async (c) => {
          const buf = new Uint8Array(1 << 16);
          try {
            while ((await c.read(buf)) !== null) { /* discard */ }
          } catch {
            // closed
          }
        });
        for (let i = 0; i < 3000; i++) {
          const c = conns[i % conns.length];
          const raw = rand() < 0.03
            ? Uint8Array.from({ length: 64 }, () => Math.floor(rand() * 256))
            : enc.encode(message() + "\n");
          await c.write(raw).catch(() => {});
        }
        await sleep(1000);
        for (const c of conns) c.close();
        await Promise.all(drains);
        await answersLikeRg(d.socket, root);
        setup.close();
        // Each allocation of the original protocol holds a listening
        // socket until its process connects (or 60 s pass): counted.
        const admin = await LineSocket.connect(d.socket);
        const allocations = (await admin.result("stats", {})).legacy_allocations as number;
        admin.close();
        ok(allocations <= 64, `${allocations} allocations: more than the per-user limit`);
        const fds = await pollUntil(
          "descriptors back near where they were",
          () => fdCount(pid),
          (n) => n <= fdsBefore + 4 + allocations,
        );
        ok(
          fds <= fdsBefore + 4 + allocations,
          `${fds} descriptors, ${fdsBefore} before, ${allocations} allocations (seed ${seed})`,
        );
        const grown = rssBytes(pid) - rssBefore;
        ok(grown < 300 << 20, `memory grew by ${grown >> 20} MiB (seed ${seed})`);
        strictEqual(d.process.child.pid, pid);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
