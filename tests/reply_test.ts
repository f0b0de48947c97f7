/**
 * Replies that carry escaped text: the core's JSON escaping (WebAssembly,
 * SIMD) must write what `JSON.stringify` writes and refuse what
 * `TextDecoder`'s fatal mode refuses; `encodeLine` must splice it in so the
 * line parses back to the same message.
 */
import { deepStrictEqual } from "node:assert/strict";
import { jsonString } from "../src/core.ts";
import { encodeLine, JsonText } from "../src/daemon/reply.ts";
import { mulberry32 } from "../bench/corpus.ts";

const strict = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** What `jsonString` must return, the slow way. */
function expected(bytes: Uint8Array): Uint8Array | undefined {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return undefined;
  }
  return encoder.encode(JSON.stringify(text));
}

Deno.test("jsonString agrees with TextDecoder and JSON.stringify", () => {
  const rand = mulberry32(7);
  // Bytes drawn to hit escapes, continuation and lead bytes often, in
  // strings long enough for several 16-byte SIMD steps and a tail.
  const alphabet = [
    0,
    8,
    9,
    10,
    12,
    13,
    0x1f,
    0x20,
    0x22,
    0x41,
    0x5c,
    0x7f,
    0x80,
    0xbf,
    0xc3,
    0xa9,
  ];
  const leads = [0xe0, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff, 0xc0];
  for (let n = 0; n < 3000; n++) {
    const bytes = new Uint8Array(Math.floor(rand() * 70));
    for (let i = 0; i < bytes.length; i++) {
      const r = rand();
      bytes[i] = r < 0.5
        ? 0x61 + Math.floor(rand() * 26)
        : r < 0.9
        ? alphabet[Math.floor(rand() * alphabet.length)]
        : leads[Math.floor(rand() * leads.length)];
    }
    deepStrictEqual(jsonString(bytes), expected(bytes), `${bytes}`);
  }
  const text = encoder.encode('é 中文 😀 \u2028 tab\t"q" \\ \x01\n'.repeat(100));
  deepStrictEqual(jsonString(text), expected(text));
});

Deno.test("encodeLine splices JsonText values and leaves look-alike strings alone", () => {
  const mark = "\u0000curserve:json-text\u0000";
  const out = 'a:1:"x"\n\tb\\c\n';
  const message = {
    jsonrpc: "2.0",
    id: 3,
    note: `"${mark}"`,
    before: [`x${mark}`, `:${mark}`],
    result: { stdout: new JsonText(jsonString(encoder.encode(out))!), stderr: `[${mark}`, code: 0 },
    list: [new JsonText(encoder.encode('"second"')), 1],
  };
  const line = encodeLine(message);
  deepStrictEqual(line.at(-1), 10);
  deepStrictEqual(JSON.parse(new TextDecoder().decode(line)), {
    jsonrpc: "2.0",
    id: 3,
    note: `"${mark}"`,
    before: [`x${mark}`, `:${mark}`],
    result: { stdout: out, stderr: `[${mark}`, code: 0 },
    list: ["second", 1],
  });
  // A string that is the mark itself still reads back as itself.
  const clash = { a: mark, [mark]: 1, b: new JsonText(encoder.encode('"t"')) };
  deepStrictEqual(JSON.parse(new TextDecoder().decode(encodeLine(clash))), {
    a: mark,
    [mark]: 1,
    b: "t",
  });
  // Without JsonText it is JSON.stringify's line.
  deepStrictEqual(
    encodeLine({ a: [mark, "b"] }),
    encoder.encode(JSON.stringify({ a: [mark, "b"] }) + "\n"),
  );
});
