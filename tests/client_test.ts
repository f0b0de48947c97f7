/**
 * DaemonClient's line framing against a real Unix socket whose peer writes
 * replies in awkward pieces: split inside a multi-byte character, several
 * lines in one write, one line over many writes.
 */
import { deepStrictEqual } from "node:assert/strict";
import { join } from "node:path";
import { DaemonClient } from "../mod.ts";

Deno.test("DaemonClient reassembles replies split anywhere", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "s.sock");
  const listener = Deno.listen({ transport: "unix", path });
  const big = 'é—😀\t"x"\n'.repeat(20000);
  const served = (async () => {
    const conn = await listener.accept();
    const reader = conn.readable.getReader();
    const decoder = new TextDecoder();
    let got = "";
    while (got.split("\n").length <= 3) {
      const { value, done } = await reader.read();
      if (done) break;
      got += decoder.decode(value);
    }
    const ids = got.trim().split("\n").map((l) => JSON.parse(l).id);
    const lines = ids.map((id, k) =>
      new TextEncoder().encode(
        JSON.stringify({ jsonrpc: "2.0", id, result: k === 1 ? big : `r${k}é` }) + "\n",
      )
    );
    const all = new Uint8Array(lines.reduce((n, l) => n + l.length, 0));
    lines.reduce((at, l) => (all.set(l, at), at + l.length), 0);
    // Pieces of 1 to 7000 bytes: cuts fall inside characters and lines,
    // and one write may end a line and start the next.
    for (let at = 0, k = 0; at < all.length; k++) {
      const n = [1, 3, 7000, 2, 5000, 1][k % 6];
      await conn.write(all.subarray(at, at + n));
      at += n;
    }
    reader.releaseLock();
    conn.close();
  })();
  const client = await DaemonClient.connect(path);
  const answers = await Promise.all([
    client.request("a"),
    client.request("b"),
    client.request("c"),
  ]);
  deepStrictEqual(answers, ["r0é", big, "r2é"]);
  await served;
  client.close();
  listener.close();
  await Deno.remove(dir, { recursive: true });
});
