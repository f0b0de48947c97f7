/**
 * What reading with each user's own rights costs: one daemon (run as
 * root), a client as root and a client as an ordinary user (created with
 * useradd if missing; root only), each opening the same tree and running
 * 200 paced greps, alternated three times. Prints load time and grep
 * p50/p99 per user.
 *
 *   deno run -A bench/users_bench.ts [--mb 50] [--user curserve-bob]
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { cachedCorpus } from "./corpus.ts";
import { DaemonProcess } from "./daemon_process.ts";

const flags = parseArgs({
  options: {
    mb: { type: "string", default: "50" },
    user: { type: "string", default: "curserve-bob" },
  },
}).values;
if (Deno.uid() !== 0) throw new Error("run as root: it starts clients as another user");
const run = (cmd: string[]) => new Deno.Command(cmd[0], { args: cmd.slice(1) }).outputSync();
if (run(["id", flags.user]).code !== 0) {
  run(["useradd", "-M", "-s", "/usr/sbin/nologin", flags.user]);
}
const uid = Number(new TextDecoder().decode(run(["id", "-u", flags.user]).stdout).trim());
const gid = Number(new TextDecoder().decode(run(["id", "-g", flags.user]).stdout).trim());

// A copy every user may read (the corpus cache lives in root's home).
const tree = await Deno.makeTempDir({ prefix: "curserve-users-bench-" });
run(["cp", "-r", `${await cachedCorpus(Number(flags.mb))}/.`, tree]);
run(["chmod", "-R", "a+rX", tree]);

/** A client in Python (as any user, no Deno cache needed). */
const CLIENT = `
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); buf = b""
def call(i, m, p):
    global buf
    s.sendall((json.dumps({"jsonrpc":"2.0","id":i,"method":m,"params":p})+"\\n").encode())
    while True:
        while b"\\n" not in buf: buf += s.recv(1<<20)
        line, buf = buf.split(b"\\n", 1); o = json.loads(line)
        if o.get("id") == i: return o
t = time.perf_counter(); ws = call(1, "open", {"root": sys.argv[2]})["result"]; load = time.perf_counter() - t
while any(w["unsketched_files"] for w in call(2, "stats", {})["result"]["workspaces"]): time.sleep(0.2)
xs = []
for k in range(200):
    t = time.perf_counter(); call(3 + k, "grep", {"workspace": ws["workspace"], "args": ["-n", "zzq_rare_tok"]}); xs.append(time.perf_counter() - t); time.sleep(0.005)
xs.sort(); print(json.dumps({"load_ms": load * 1000, "p50": xs[100] * 1000, "p99": xs[198] * 1000}))
`;

const daemon = await DaemonProcess.start(undefined, {
  flags: ["--socket-mode", "666", "--linger", "0"],
});
await Deno.chmod(join(daemon.socket, ".."), 0o711);
try {
  console.log(
    `tree: ${flags.mb} MB generated corpus; 200 greps of a rare token per client, paced 5 ms\n`,
  );
  console.log("| client | load | grep p50 | grep p99 |\n| --- | --- | --- | --- |");
  for (let round = 0; round < 3; round++) {
    for (
      const [who, prefix] of [
        ["root", []],
        [flags.user, ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--init-groups"]],
      ] as [string, string[]][]
    ) {
      const out = run([...prefix, "/usr/bin/python3", "-c", CLIENT, daemon.socket, tree]);
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      console.log(
        `| ${who} | ${r.load_ms.toFixed(0)} ms | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms |`,
      );
    }
  }
} finally {
  await daemon.stop();
  await Deno.remove(tree, { recursive: true });
}
