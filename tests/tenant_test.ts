/**
 * The tenant boundary with real Unix users: one daemon run as root, as on a
 * shared server, and clients run as two ordinary users (`setpriv`, a small
 * Python client: tests/clients/line_client.py). Each user must get exactly
 * what the kernel lets them read — their own files, and in a shared tree
 * the files `rg --files` lists when run as them — and a clear error, never
 * content, for everything else: other users' directories, another user's
 * workspace handle, `grep_cli` outside their rights, pids and response
 * sockets of the original protocol, symbolic links swapped in a loop.
 * Skipped with a message where users cannot be created (not root).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { type Json, REPO, RG, TEST_OPTS, type TestDaemon, withDaemon } from "./harness.ts";

const dec = new TextDecoder();
const CLIENT = Deno.readTextFileSync(join(REPO, "tests/clients/line_client.py"));
const USERS = ["curserve-alice", "curserve-bob"] as const;
const GROUP = "curserve-team";

interface User {
  name: string;
  uid: number;
  gid: number;
}

async function cmd(args: string[], opts: Deno.CommandOptions = {}): Promise<Deno.CommandOutput> {
  return await new Deno.Command(args[0], { args: args.slice(1), stdin: "null", ...opts }).output();
}

async function id(flag: string, name: string): Promise<number> {
  return Number(dec.decode((await cmd(["id", flag, name])).stdout).trim());
}

/** Creates the test users and their group once (kept for later runs). */
async function makeUsers(): Promise<User[] | string> {
  if (Deno.uid() !== 0) return "tests are not running as root";
  if ((await cmd(["getent", "group", GROUP])).code !== 0) {
    const r = await cmd(["groupadd", GROUP]);
    if (r.code !== 0) return `groupadd failed: ${dec.decode(r.stderr)}`;
  }
  const users: User[] = [];
  for (const name of USERS) {
    if ((await cmd(["id", name])).code !== 0) {
      const r = await cmd(["useradd", "-M", "-s", "/usr/sbin/nologin", "-G", GROUP, name]);
      if (r.code !== 0) return `useradd failed: ${dec.decode(r.stderr)}`;
    }
    users.push({ name, uid: await id("-u", name), gid: await id("-g", name) });
  }
  return users;
}

/** Runs a command as `u` (their uid, gid and groups). */
function asUser(u: User, args: string[], cwd = "/"): Promise<Deno.CommandOutput> {
  return cmd(["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", ...args], {
    cwd,
    env: { PATH: "/usr/bin:/bin", HOME: "/" },
  });
}

/** Sends `steps` from a client running as `u`; one reply per step. */
async function client(u: User, socket: string, steps: unknown[]): Promise<Json[]> {
  const out = await asUser(u, ["python3", "-c", CLIENT, socket, JSON.stringify(steps)]);
  strictEqual(out.code, 0, `client as ${u.name} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
}

const rpc = (id: number, method: string, params: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id,
  method,
  params,
});

/** What rg prints (stdout lines, sorted) for `args` run as `u` in `dir`. */
async function rgAs(u: User, dir: string, args: string[]): Promise<string[]> {
  const out = await asUser(u, [RG, "--sort", "path", ...args], dir);
  return dec.decode(out.stdout).split("\n").filter(Boolean).sort();
}

/** The text of no reply may contain a secret. */
function noSecret(replies: unknown[], secrets: string[]): void {
  const text = JSON.stringify(replies);
  for (const s of secrets) ok(!text.includes(s), `a reply leaked ${s}: ${text.slice(0, 400)}`);
}

const users = await makeUsers();
const skip = typeof users === "string";
if (skip) console.error(`tenant tests skipped: ${users}`);

/** The daemon's socket directory, opened so the test users can reach it. */
async function shared(d: TestDaemon): Promise<void> {
  await Deno.chmod(d.dir, 0o711);
}

Deno.test({
  name: "tenant: each user reads only what the kernel lets them, by every route",
  ignore: skip,
  ...TEST_OPTS,
  async fn(t) {
    const [alice, bob] = users as User[];
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-tenant-" }));
    await Deno.chmod(base, 0o755);
    const home = (u: User) => join(base, u.name);
    for (const u of [alice, bob]) {
      await Deno.mkdir(home(u), { mode: 0o700 });
      await Deno.writeTextFile(join(home(u), "notes.txt"), `private_${u.name}_marker\n`);
      await Deno.chown(home(u), u.uid, u.gid);
      await Deno.chown(join(home(u), "notes.txt"), u.uid, u.gid);
    }
    // A shared tree: readable by all, by the team, by alice alone.
    const team = await id("-g", alice.name).then(async () =>
      Number(dec.decode((await cmd(["getent", "group", GROUP])).stdout).split(":")[2])
    );
    const tree = join(base, "shared");
    await Deno.mkdir(join(tree, "sub"), { recursive: true, mode: 0o755 });
    await Deno.chmod(tree, 0o755);
    await Deno.writeTextFile(join(tree, "public.txt"), "shared_marker public\n", { mode: 0o644 });
    await Deno.writeTextFile(join(tree, "team.txt"), "shared_marker team\n", { mode: 0o640 });
    await Deno.chown(join(tree, "team.txt"), 0, team);
    await Deno.writeTextFile(join(tree, "alice.txt"), "shared_marker alice_only_secret\n");
    await Deno.chown(join(tree, "alice.txt"), alice.uid, alice.gid);
    await Deno.chmod(join(tree, "alice.txt"), 0o600);
    await Deno.writeTextFile(join(tree, "sub", "root.txt"), "shared_marker root_only_secret\n");
    await Deno.chmod(join(tree, "sub", "root.txt"), 0o600);
    const secrets = ["private_curserve-alice_marker", "alice_only_secret", "root_only_secret"];
    try {
      await withDaemon(["--socket-mode", "666"], async (d) => {
        await shared(d);
        await t.step("another user's 0700 directory, /root and /etc: no workspace", async () => {
          const replies = await client(bob, d.socket, [
            rpc(1, "open", { root: home(alice) }),
            rpc(2, "open", { root: "/root" }),
            rpc(3, "grep_cli", { cwd: home(alice), argv: ["marker"] }),
            rpc(4, "grep_cli", { cwd: "/", argv: ["root", "/etc/shadow"] }),
            { type: "request_ripgrep", pid: 1, pattern: "root", paths: ["/etc/shadow"] },
          ]);
          for (const r of replies.slice(0, 2)) {
            ok(r.error && /denied|Permission/i.test(r.error.message), JSON.stringify(r));
          }
          // rg's own message for what it may not read, exit 2, no content.
          for (const r of replies.slice(2, 4)) {
            strictEqual(r.result?.code, 2, JSON.stringify(r));
            ok(/Permission denied/.test(r.result.stderr), r.result.stderr);
            strictEqual(r.result.stdout, "");
          }
          strictEqual(
            replies[4].error,
            "PID 1 has no allocated codebase. Call alloc_pid first.",
          );
          noSecret(replies, [...secrets, Deno.readTextFileSync("/etc/shadow").split("\n")[0]]);
        });
        await t.step("a shared tree: each user sees exactly rg's files as that user", async () => {
          for (const u of [alice, bob]) {
            // The handle is known only after the open, so two client runs;
            // the second one's open shares the same workspace.
            const [opened] = await client(u, d.socket, [rpc(1, "open", { root: tree })]);
            const ws = opened.result?.workspace;
            const [, files, hits, stats] = await client(u, d.socket, [
              rpc(1, "open", { root: tree }),
              rpc(2, "glob", { workspace: ws, pattern: "*" }),
              rpc(3, "grep", { workspace: ws, args: ["-l", "shared_marker"] }),
              rpc(4, "stats"),
            ]);
            ok(opened.result, JSON.stringify(opened));
            // rg lists names it may not open, and a search that reaches
            // one reports it and exits 2: the same here.
            deepStrictEqual(
              files.result.files.slice().sort(),
              await rgAs(u, tree, ["--files"]),
              `glob as ${u.name}`,
            );
            const expected = await asUser(u, [RG, "--sort", "path", "-l", "shared_marker"], tree);
            deepStrictEqual(
              [hits.result.stdout, hits.result.stderr, hits.result.code],
              [dec.decode(expected.stdout), dec.decode(expected.stderr), expected.code],
              `grep -l as ${u.name}`,
            );
            // Only their own workspaces, with sizes of what they may read.
            ok(
              stats.result.workspaces.every((w: Json) => w.uid === u.uid),
              JSON.stringify(stats.result.workspaces),
            );
            if (u === bob) noSecret([files, hits, stats], secrets);
          }
        });
        await t.step(
          "another user's workspace handle is unknown; read_file is refused",
          async () => {
            const [a] = await client(alice, d.socket, [rpc(1, "open", { root: home(alice) })]);
            const ws = a.result.workspace;
            ok(typeof ws === "string" && ws.length > 20, `a handle that cannot be guessed: ${ws}`);
            const replies = await client(bob, d.socket, [
              rpc(1, "grep", { workspace: ws, args: ["marker"] }),
              rpc(2, "read_file", { workspace: ws, path: "notes.txt" }),
              rpc(3, "list_directory", { workspace: ws, path: "." }),
              rpc(4, "stats"),
            ]);
            for (const r of replies.slice(0, 3)) {
              strictEqual(r.error?.message, `unknown workspace: ${ws}`, JSON.stringify(r));
            }
            ok(!JSON.stringify(replies[3]).includes(home(alice)), "stats names alice's root");
            noSecret(replies, secrets);
            // In her own shared-tree workspace, bob cannot read alice's file.
            const [o] = await client(bob, d.socket, [rpc(1, "open", { root: tree })]);
            const [read] = await client(bob, d.socket, [
              rpc(1, "open", { root: tree }),
              rpc(2, "read_file", { workspace: o.result.workspace, path: "alice.txt" }),
            ]).then((r) => r.slice(1));
            ok(read.error && /denied/i.test(read.error.message), JSON.stringify(read));
            // Root sees every user's workspaces.
            const [all] = await client({ name: "root", uid: 0, gid: 0 }, d.socket, [
              rpc(1, "stats"),
            ]);
            const uids = new Set(all.result.workspaces.map((w: Json) => w.uid));
            ok(uids.has(alice.uid) && uids.has(bob.uid), JSON.stringify([...uids]));
          },
        );
        await t.step(
          "the original protocol: no borrowed pids, no foreign response socket",
          async () => {
            // A process of alice's, whose pid bob tries to allocate.
            const sleeper = new Deno.Command("setpriv", {
              args: [
                `--reuid=${alice.uid}`,
                `--regid=${alice.gid}`,
                "--init-groups",
                "sleep",
                "60",
              ],
              stdin: "null",
            }).spawn();
            try {
              const pid = sleeper.pid;
              const [stolen] = await client(bob, d.socket, [
                { type: "alloc_pid", pid, repo_dir_path: home(bob) },
              ]);
              strictEqual(stolen.response_status, 0, JSON.stringify(stolen));
              ok(/not a process of yours/.test(stolen.error), stolen.error);
              // Alice allocates her own pid (root could too); bob can neither
              // search through it nor connect to its response socket.
              const [mine] = await client(alice, d.socket, [
                { type: "alloc_pid", pid, repo_dir_path: home(alice) },
              ]);
              strictEqual(mine.response_status, 1, JSON.stringify(mine));
              const sock = `/tmp/qwen_code_response_${pid}.sock`;
              const info = await Deno.lstat(sock);
              deepStrictEqual([info.uid, (info.mode ?? 0) & 0o777], [alice.uid, 0o600]);
              const replies = await client(bob, d.socket, [
                { type: "request_ripgrep", pid, pattern: "marker", paths: [] },
                { type: "alloc_pid", pid, repo_dir_path: home(bob) },
                { via: sock, send: { type: "request_ripgrep", pid, pattern: "x", paths: [] } },
              ]);
              strictEqual(
                replies[0].error,
                `PID ${pid} has no allocated codebase. Call alloc_pid first.`,
              );
              strictEqual(replies[1].response_status, 0);
              ok(
                /PermissionError|denied/i.test(replies[2].client_error ?? ""),
                JSON.stringify(replies[2]),
              );
              noSecret(replies, secrets);
            } finally {
              sleeper.kill();
              await sleeper.status;
            }
          },
        );
        await t.step("symbolic links swapped in a loop for 3 s leak nothing", async () => {
          const own = join(base, "bobtree");
          await Deno.mkdir(own, { mode: 0o755 });
          await Deno.writeTextFile(join(own, "a.txt"), "harmless\n");
          await cmd(["chown", "-R", `${bob.uid}:${bob.gid}`, own]);
          const link = join(own, "x.txt");
          const stop = Date.now() + 3000;
          const swapper = (async () => {
            for (let i = 0; Date.now() < stop; i++) {
              await Deno.remove(link).catch(() => {});
              if (i % 2) await Deno.symlink(join(tree, "alice.txt"), link).catch(() => {});
              else await Deno.writeTextFile(link, "harmless\n").catch(() => {});
            }
          })();
          const [o] = await client(bob, d.socket, [rpc(1, "open", { root: own })]);
          const ws = o.result.workspace;
          const replies: Json[] = [];
          while (Date.now() < stop) {
            replies.push(
              ...await client(bob, d.socket, [
                rpc(1, "open", { root: own }),
                rpc(2, "read_file", { workspace: ws, path: "x.txt" }),
                rpc(3, "grep", { workspace: ws, args: ["-L", "secret", "x.txt"] }),
                rpc(4, "grep", { workspace: ws, args: ["--hidden", "-uu", "secret"] }),
                rpc(5, "grep_cli", { cwd: own, argv: ["-L", "secret", "x.txt"] }),
              ]),
            );
          }
          await swapper;
          ok(replies.length >= 5);
          noSecret(replies, secrets);
        });
      });
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test({
  name: "tenant: a daemon run by an ordinary user serves only that user; sockets stay private",
  ignore: skip,
  ...TEST_OPTS,
  async fn(t) {
    const [alice, bob] = users as User[];
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-own-" }));
    await Deno.chmod(dir, 0o755);
    const sock = join(dir, "alice.sock");
    await Deno.chown(dir, alice.uid, alice.gid);
    await Deno.chmod(dir, 0o755);
    try {
      await t.step("refuses a socket in a directory others can write", async () => {
        const out = await cmd([
          Deno.execPath(),
          "task",
          "-q",
          "daemon",
          "--socket",
          `/tmp/curserve-test-${Date.now()}.sock`,
        ], { cwd: REPO });
        strictEqual(out.code, 2, dec.decode(out.stderr));
        ok(/writable by every user/.test(dec.decode(out.stderr)), dec.decode(out.stderr));
      });
      await t.step("as alice: alice is served, bob is refused with a reason", async () => {
        const daemon = new Deno.Command("setpriv", {
          args: [
            `--reuid=${alice.uid}`,
            `--regid=${alice.gid}`,
            "--init-groups",
            Deno.execPath(),
            "run",
            "--allow-read",
            "--allow-write",
            "--allow-env",
            "--allow-sys",
            "--allow-net",
            "--allow-ffi",
            join(REPO, "daemon.ts"),
            "--socket",
            sock,
            "--socket-mode",
            "666",
          ],
          env: { DENO_DIR: join(dir, ".deno"), HOME: dir },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        try {
          for (let i = 0; i < 300; i++) {
            try {
              (await Deno.connect({ transport: "unix", path: sock })).close();
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          const [mine] = await client(alice, sock, [rpc(1, "stats")]);
          ok(mine.result, JSON.stringify(mine));
          const [theirs] = await client(bob, sock, [rpc(1, "stats")]);
          ok(
            theirs.error?.message.includes(`serves only that user`),
            JSON.stringify(theirs),
          );
        } finally {
          daemon.kill();
          await daemon.output();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
