/**
 * Read-your-writes through a real daemon, as agents other than ours use it:
 * a client changes files (in place, by rename, by deleting, with `sed -i`,
 * `git checkout`, a shell command) and greps at once — no delay, no
 * `notify_changed` — and must see the change every time. Also the changes
 * that must never empty or break a workspace: a touched or chmod-ed root,
 * `notify_changed` of the root, a directory replaced by a file or a link,
 * the root deleted and re-created. Through JSON-RPC and through the
 * original curserve protocol. Zero stale answers are allowed; with the old
 * 100 ms debounce nearly every round was stale.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import {
  type Json,
  LineSocket,
  pollUntil,
  rg,
  TEST_OPTS,
  type TestDaemon,
  withDaemon,
} from "./harness.ts";

const ROUNDS = 25;
const dec = new TextDecoder();

/** A fresh workspace directory with a few files. */
async function makeTree(): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-fresh-" }));
  await Deno.mkdir(join(dir, "src"));
  for (let i = 0; i < 8; i++) {
    await Deno.writeTextFile(join(dir, "src", `f${i}.txt`), `line ${i}\nplain text\n`);
  }
  return dir;
}

/** A JSON-RPC client holding one open workspace. */
class Rpc {
  private constructor(readonly sock: LineSocket, readonly workspace: string) {}

  static async open(d: TestDaemon, root: string): Promise<Rpc> {
    const sock = await LineSocket.connect(d.socket);
    const r = await sock.result("open", { root });
    return new Rpc(sock, r.workspace);
  }

  /** rg's stdout for `args`, run from the root (throws on an error reply). */
  async grep(...args: string[]): Promise<string> {
    const r = await this.sock.result("grep", { workspace: this.workspace, args });
    ok(r.code !== 2, `grep ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  call(method: string, params: Record<string, unknown>): Promise<Json> {
    return this.sock.call(method, { workspace: this.workspace, ...params });
  }

  close(): void {
    this.sock.close();
  }
}

/** Runs `change(k)` then greps for `marker(k)` at once, `ROUNDS` times;
 * returns how many answers did not show what `expect` says. */
async function staleRounds(
  rpc: Rpc,
  change: (k: number) => Promise<void>,
  pattern: (k: number) => string,
  expect: (k: number, stdout: string) => boolean,
): Promise<string[]> {
  const stale: string[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    await change(k);
    const out = await rpc.grep("-n", pattern(k));
    if (!expect(k, out)) stale.push(`round ${k}: ${JSON.stringify(out.slice(0, 200))}`);
  }
  return stale;
}

async function sh(cwd: string, script: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", script], cwd, stdin: "null" }).output();
  strictEqual(out.code, 0, `sh -c ${script}: ${dec.decode(out.stderr)}`);
}

/** The grep answer equals rg's on the same tree (a final parity check). */
async function sameAsRg(rpc: Rpc, root: string, args: string[]): Promise<void> {
  const expected = await rg(["--sort", "path", ...args], root);
  strictEqual(await rpc.grep(...args), dec.decode(expected.stdout), `grep ${args.join(" ")}`);
}

Deno.test({
  name: "freshness: every kind of change is seen by the very next grep, without notify_changed",
  ...TEST_OPTS,
  async fn(t) {
    const root = await makeTree();
    try {
      await withDaemon([], async (d) => {
        const rpc = await Rpc.open(d, root);
        try {
          const file = (k: number) => join(root, "src", `f${k % 8}.txt`);
          // Each kind writes its own marker, marker_<tag><round>.
          const kinds: [string, string, (k: number) => Promise<void>][] = [
            ["in-place write", "a", (k) => Deno.writeTextFile(file(k), `x marker_a${k}\n`)],
            ["write to a temporary file, then rename over", "b", async (k) => {
              await Deno.writeTextFile(join(root, "src", ".tmp"), `x marker_b${k}\n`);
              await Deno.rename(join(root, "src", ".tmp"), file(k));
            }],
            ["sed -i", "c", (k) => sh(root, `sed -i 's/.*/marker_c${k}/' src/f${k % 8}.txt`)],
            [
              "a shell command's redirect",
              "d",
              (k) => sh(root, `echo marker_d${k} >> src/f${k % 8}.txt`),
            ],
            ["a new file in a new directory", "e", async (k) => {
              await Deno.mkdir(join(root, `new${k}`, "deep"), { recursive: true });
              await Deno.writeTextFile(join(root, `new${k}`, "deep", "n.txt"), `marker_e${k}\n`);
            }],
          ];
          for (const [kind, tag, change] of kinds) {
            await t.step(kind, async () => {
              const stale = await staleRounds(
                rpc,
                change,
                (k) => `marker_${tag}${k}\\b`,
                (_k, out) => out.trim() !== "",
              );
              deepStrictEqual(stale, [], `${stale.length} of ${ROUNDS} answers were stale`);
            });
          }
          await t.step("delete: the deleted file's text is gone at once", async () => {
            const stale = await staleRounds(
              rpc,
              async (k) => {
                const f = join(root, `gone${k}.txt`);
                await Deno.writeTextFile(f, `marker_f${k}\n`);
                strictEqual((await rpc.grep("-l", `marker_f${k}\\b`)).trim(), `gone${k}.txt`);
                await Deno.remove(f);
              },
              (k) => `marker_f${k}\\b`,
              (_k, out) => out === "",
            );
            deepStrictEqual(stale, [], `${stale.length} of ${ROUNDS} answers were stale`);
          });
          await t.step("git checkout switches what every file says", async () => {
            await sh(
              root,
              "git init -q -b one . && git add -A && git -c user.email=t@t -c user.name=t " +
                "commit -qm one && echo branch_two_marker > src/f0.txt && git checkout -qb two && " +
                "git -c user.email=t@t -c user.name=t commit -qam two && git checkout -q one",
            );
            const stale: string[] = [];
            for (let k = 0; k < 10; k++) {
              const branch = k % 2 ? "one" : "two";
              await sh(root, `git checkout -q ${branch}`);
              const out = await rpc.grep("-l", "branch_two_marker");
              if ((out !== "") !== (branch === "two")) stale.push(`${branch}: ${out}`);
            }
            deepStrictEqual(stale, []);
            await sameAsRg(rpc, root, ["-n", "marker"]);
          });
        } finally {
          rpc.close();
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "freshness: the root touched, chmod-ed, notified, replaced parts, deleted and re-created",
  ...TEST_OPTS,
  async fn(t) {
    const root = await makeTree();
    try {
      await withDaemon([], async (d) => {
        const rpc = await Rpc.open(d, root);
        const all = async () => await rpc.grep("-c", "plain text");
        try {
          const before = await all();
          ok(before.split("\n").filter(Boolean).length === 8, before);
          await t.step("touch and chmod of the root change nothing", async () => {
            for (let k = 0; k < 10; k++) {
              await Deno.utime(root, new Date(), new Date());
              strictEqual(await all(), before, `after touch ${k}`);
              await Deno.chmod(root, k % 2 ? 0o755 : 0o700);
              strictEqual(await all(), before, `after chmod ${k}`);
            }
          });
          await t.step(
            'notify_changed with "", "." or the root reloads, never empties',
            async () => {
              for (const path of ["", ".", root]) {
                const r = await rpc.call("notify_changed", { paths: [path] });
                ok(!r.error, JSON.stringify(r.error));
                strictEqual(await all(), before, `after notify_changed ${JSON.stringify(path)}`);
              }
            },
          );
          await t.step("a directory replaced by a file, then by a symbolic link", async () => {
            await Deno.mkdir(join(root, "d"));
            await Deno.writeTextFile(join(root, "d", "in.txt"), "marker_dir\n");
            strictEqual(await rpc.grep("-l", "marker_dir"), "d/in.txt\n");
            await Deno.remove(join(root, "d"), { recursive: true });
            await Deno.writeTextFile(join(root, "d"), "marker_file\n");
            strictEqual(await rpc.grep("-l", "marker_dir|marker_file"), "d\n");
            await Deno.remove(join(root, "d"));
            await Deno.symlink(join(root, "src"), join(root, "d"));
            // rg does not follow links it finds: nothing under d.
            await sameAsRg(rpc, root, ["-l", "plain text"]);
          });
          await t.step("the root deleted: a clear error; re-created: served again", async () => {
            const moved = `${root}.away`;
            await Deno.rename(root, moved);
            const r = await rpc.call("grep", { args: ["plain"] });
            ok(r.error, `expected an error while the root is gone, got ${JSON.stringify(r)}`);
            ok(/gone/.test(r.error.message) && r.error.message.includes(root), r.error.message);
            await Deno.rename(moved, root);
            await Deno.writeTextFile(join(root, "src", "f0.txt"), "came_back_marker\n");
            strictEqual(await rpc.grep("-l", "came_back_marker"), "src/f0.txt\n");
            await sameAsRg(rpc, root, ["-c", "plain text"]);
          });
        } finally {
          rpc.close();
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(`${root}.away`, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "freshness: the original protocol sees a write at once (alloc_pid, request_ripgrep)",
  ...TEST_OPTS,
  async fn() {
    const root = await makeTree();
    const pid = 3_000_000 + Math.floor(Math.random() * 900_000);
    try {
      await withDaemon([], async (d) => {
        const request = await LineSocket.connect(d.socket);
        let response: LineSocket | undefined;
        try {
          await request.send({ type: "alloc_pid", pid, repo_dir_path: root });
          strictEqual((await request.readJson()).response_status, 1);
          await pollUntil("the response socket", async () => {
            try {
              response = await LineSocket.connect(`/tmp/qwen_code_response_${pid}.sock`);
              return true;
            } catch {
              return false;
            }
          }, (x) => x);
          const stale: string[] = [];
          for (let k = 0; k < ROUNDS; k++) {
            const f = join(root, "src", `f${k % 8}.txt`);
            if (k % 2) await Deno.writeTextFile(f, `def greet_${k}():\n`);
            else {
              await Deno.writeTextFile(`${f}.tmp`, `def greet_${k}():\n`);
              await Deno.rename(`${f}.tmp`, f);
            }
            await request.send({
              type: "request_ripgrep",
              pid,
              pattern: `greet_${k}\\b`,
              paths: [],
              options: { line_number: true, with_filename: true, ignore_case: true },
            });
            const r = await response!.readJson();
            if (r.response_status !== 1 || !String(r.text).includes(`greet_${k}`)) {
              stale.push(`round ${k}: ${JSON.stringify(r).slice(0, 200)}`);
            }
          }
          deepStrictEqual(stale, [], `${stale.length} of ${ROUNDS} answers were stale`);
        } finally {
          request.close();
          response?.close();
        }
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
