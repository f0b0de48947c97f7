/**
 * The MCP server (`deno task mcp`) as a subprocess, driven by the official
 * SDK's own client over stdio. Every answer is checked against the
 * reference: grep_search against `rg` on the same files with the same flags,
 * glob against `rg --files -g`, list_directory and read_file against the
 * file system. Then the refusals (`..`, absolute paths outside, symbolic
 * links out), a bad regex (rg's own message), edits seen by the next
 * search, progress while a first call loads, with and without a daemon.
 *
 * Nothing here depends on timing: an edit made behind the server's back is
 * awaited by polling up to a generous bound.
 *
 * @module
 */
import { deepStrictEqual, match, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { makeFixtureTree } from "./fixtures.ts";
import {
  cleanEnv,
  fixtureRoot,
  type Json,
  pollUntil,
  REPO,
  rg,
  rgFiles,
  taskRunArgs,
  TEST_OPTS,
  withDaemon,
  within,
} from "./harness.ts";
import { MAX_LINE_CHARS, READ_TOOL_NAMES, TOOL_SCHEMAS } from "../src/agent/schemas.ts";

/** The SDK's own client, loaded when a test first needs it. A static
 * import would put the SDK in the graph of every `deno test tests/`, which
 * must type-check and run its core tests with no npm registry
 * (tests/offline_test.ts); the specifier is built so it stays out. */
const SDK = "npm:@modelcontextprotocol/sdk@1.32.2";
let sdk: Promise<{ Client: ClientClass; StdioClientTransport: TransportClass }> | undefined;
function loadSdk(): Promise<{ Client: ClientClass; StdioClientTransport: TransportClass }> {
  return sdk ??= Promise.all([import(`${SDK}/client`), import(`${SDK}/client/stdio.js`)])
    .then(([c, t]) => ({ Client: c.Client, StdioClientTransport: t.StdioClientTransport }));
}

/** The parts of the SDK's types these tests use. */
interface Progress {
  progress: number;
  total?: number;
  message?: string;
}
interface Client {
  onerror?: (err: Error) => void;
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
  listTools(): Promise<{ tools: Json[] }>;
  callTool(
    req: { name: string; arguments: Record<string, unknown> },
    schema?: unknown,
    options?: { onprogress?: (p: Progress) => void },
  ): Promise<Json>;
  getServerVersion(): { name: string; version: string } | undefined;
  getInstructions(): string | undefined;
}
type ClientClass = new (info: { name: string; version: string }) => Client;
interface Transport {
  stderr?: { on(event: "data", fn: (chunk: Uint8Array) => void): void } | null;
  close(): Promise<void>;
}
type TransportClass = new (
  options: {
    command: string;
    args: string[];
    cwd: string;
    env: Record<string, string>;
    stderr: "pipe";
  },
) => Transport;

/** Bound on one answer from the server: a guard against hangs only. */
const CALL_MS = 60_000;

/** A running server and the SDK client connected to it. */
interface Session {
  client: Client;
  /** What the server printed on stderr so far. */
  stderr(): string;
  /** Errors the client saw on the connection (e.g. stdout that is not protocol). */
  errors: Error[];
  close(): Promise<void>;
}

/** The environment for the server: none of the variables that change its defaults. */
function serverEnv(): Record<string, string> {
  const env = cleanEnv();
  delete env.CURSERVE_SOCKET;
  env.NO_COLOR = "1";
  return env;
}

/** A socket path nobody listens on, so `auto` never finds a stray daemon. */
const NO_DAEMON = "/nonexistent/curserve-mcp-test.sock";

/**
 * Starts the server and connects the SDK client to it over stdio.
 * @param args The server's flags.
 * @param how `task`: `deno task --config REPO/deno.json mcp` from `cwd`, as an
 *   agent registers it; otherwise the task's `deno run` flags, run directly.
 */
async function connect(
  args: string[],
  how: { task?: boolean; cwd?: string } = {},
): Promise<Session> {
  const command = how.task
    ? ["task", "--quiet", "--config", `${REPO}/deno.json`, "mcp", ...args]
    : [...taskRunArgs("mcp"), ...args];
  const { Client, StdioClientTransport } = await loadSdk();
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: command,
    cwd: how.cwd ?? REPO,
    env: serverEnv(),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "curserve-mcp-test", version: "1.0.0" });
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  try {
    await within(client.connect(transport), CALL_MS, "MCP initialization");
  } catch (err) {
    await transport.close().catch(() => {});
    throw new Error(`${(err as Error).message}\nserver stderr:\n${stderr}`);
  }
  return {
    client,
    stderr: () => stderr,
    errors,
    close: () => client.close(),
  };
}

/** Runs `fn` with a server, closed however `fn` ends (its stderr added to a failure). */
async function withServer<T>(
  args: string[],
  fn: (s: Session) => Promise<T>,
  how: { task?: boolean; cwd?: string } = {},
): Promise<T> {
  const s = await connect(args, how);
  try {
    const result = await fn(s);
    deepStrictEqual(s.errors.map(String), [], "errors on the connection");
    return result;
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- server stderr ---\n${s.stderr().slice(-3000)}`;
    throw err;
  } finally {
    await s.close();
  }
}

/** One tool call's text and whether it is a tool error. */
interface Answer {
  text: string;
  isError: boolean;
}

/** Calls a tool and returns its (one) text block. */
async function call(
  s: Session,
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: Progress) => void,
): Promise<Answer> {
  const r = await within(
    s.client.callTool({ name, arguments: args }, undefined, { onprogress }),
    CALL_MS,
    `answer to ${name}`,
  );
  const content = r.content as { type: string; text: string }[];
  strictEqual(content.length, 1, `one content block: ${JSON.stringify(r)}`);
  strictEqual(content[0].type, "text");
  return { text: content[0].text, isError: r.isError === true };
}

/** Calls a tool that must succeed and returns its text. */
async function ok_(s: Session, name: string, args: Record<string, unknown>): Promise<string> {
  const a = await call(s, name, args);
  strictEqual(a.isError, false, `${name} ${JSON.stringify(args)} failed: ${a.text}`);
  return a.text;
}

const includes = (text: string, part: string) =>
  ok(text.includes(part), `expected ${JSON.stringify(part)} in:\n${text}`);

// --- what rg and the file system say ------------------------------------------------------

/** A line as the tools show it: cut past MAX_LINE_CHARS characters. */
const shown = (line: string) =>
  line.length > MAX_LINE_CHARS
    ? `${line.slice(0, MAX_LINE_CHARS)}… [line cut at ${MAX_LINE_CHARS} characters]`
    : line;

/**
 * grep_search's answer back as rg's `path:line:text` lines (sorted): its
 * `File:` headers and `L<n>: ` prefixes undone; lines rg printed that are
 * not matches (binary file warnings) come under "Other output:".
 */
function grepLines(text: string): string[] {
  const out: string[] = [];
  let file: string | undefined;
  for (const line of text.split("\n").slice(2)) { // past "Found ..." and "---"
    if (line.startsWith("[Showing ")) break;
    if (line === "---") continue;
    if (line.startsWith("File: ")) file = line.slice(6);
    else if (line === "Other output:") file = undefined;
    else if (file === undefined) out.push(line);
    else {
      const m = /^L(\d+): (.*)$/s.exec(line);
      ok(m, `a numbered line under File: ${file}: ${line}`);
      out.push(`${file}:${m[1]}:${m[2]}`);
    }
  }
  return out.sort();
}

/** What grep_search runs, run by rg itself: its lines as the tool shows them (sorted). */
async function rgGrepLines(root: string, pattern: string, path?: string, glob?: string) {
  const args = ["-i", "-n", "-H", "--no-heading", ...(glob ? ["-g", glob] : []), "-e", pattern];
  const r = await rg([...args, ...(path ? [path] : [])], root);
  ok(r.code === 0 || r.code === 1, `rg ${args.join(" ")}: ${r.stderr}`);
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l !== "").map((l) => {
    const m = /^(.*?):(\d+):(.*)$/s.exec(l);
    return m ? `${m[1]}:${m[2]}:${shown(m[3])}` : shown(l);
  }).sort();
}

/** Searches checked against rg: [pattern, path?, glob?]. */
const SEARCHES: [string, string?, string?][] = [
  ["needle"],
  ["foo", "repo/src"],
  ["TODO", undefined, "*.md"],
  ["fo+_?bar", "repo"],
  ["σίγμα"],
  ["needle", "repo/text/long_line.txt"],
  ["^\\s+let\\b", "repo", "*.rs"],
  ["needle", "plain"],
];

/** Checks every tool's answers on the fixture tree against rg and the file system. */
async function checkAgainstReference(s: Session, root: string): Promise<void> {
  for (const [pattern, path, glob] of SEARCHES) {
    const text = await ok_(s, "grep_search", { pattern, path, glob, limit: 2000 });
    const expected = await rgGrepLines(root, pattern, path, glob);
    ok(expected.length > 0, `the search ${pattern} finds something`);
    deepStrictEqual(grepLines(text), expected, `grep_search ${pattern} ${path} ${glob}:\n${text}`);
    includes(text, `Found ${expected.length} matching line`);
  }

  for (const [pattern, path] of [["*.rs"], ["**/*.txt", "repo/sort"], ["*.json", "plain"]]) {
    const text = await ok_(s, "glob", { pattern, path });
    // in rg's --sort path order (by path components), as the tool lists them
    const expected = await rgFiles(["-g", pattern, ...(path ? [path] : [])], root);
    const lines = text.split("\n");
    includes(lines[0], `Found ${expected.length} file`);
    deepStrictEqual(lines.slice(1), expected, `glob ${pattern} ${path}`);
  }

  for (const dir of [".", "repo", "repo/sort"]) {
    const text = await ok_(s, "list_directory", { path: dir });
    const entries = [...Deno.readDirSync(join(root, dir))];
    const names = (pick: (e: Deno.DirEntry) => boolean) =>
      entries.filter(pick).map((e) => e.name).sort();
    const expected = [
      ...names((e) => e.isDirectory).map((n) => `[DIR] ${n}`),
      ...names((e) => !e.isDirectory),
    ];
    deepStrictEqual(text.split("\n").slice(1), expected, `list_directory ${dir}`);
  }

  const readme = await Deno.readTextFile(join(root, "repo/README.md"));
  const lines = readme.split("\n").slice(0, -1);
  const whole = await ok_(s, "read_file", { file_path: "repo/README.md" });
  deepStrictEqual(whole.split("\n"), lines.map((l, i) => `${String(i + 1).padStart(6)}\t${l}`));
  const part = await ok_(s, "read_file", {
    file_path: join(root, "repo/README.md"),
    offset: 1,
    limit: 1,
  });
  deepStrictEqual(part.split("\n"), [
    `[repo/README.md: lines 2-2 of ${lines.length}; read more with offset 2]`,
    `     2\t${lines[1]}`,
  ]);
}

// --- the tests ------------------------------------------------------------------------------

Deno.test(
  "mcp: tools/list shows the agent's schemas; --allow-write adds edit and write_file",
  TEST_OPTS,
  async () => {
    const root = await fixtureRoot();
    const schema = (name: string) => TOOL_SCHEMAS.find((t) => t.function.name === name)!.function;
    await withServer(["--root", root, "--daemon", NO_DAEMON], async (s) => {
      const { tools } = await s.client.listTools();
      deepStrictEqual(tools.map((t) => t.name), READ_TOOL_NAMES);
      for (const t of tools) {
        deepStrictEqual(t.inputSchema, schema(t.name).parameters, `${t.name}'s schema`);
        ok(t.description!.startsWith(schema(t.name).description), `${t.name}'s description`);
        includes(t.description!, root);
        strictEqual(t.annotations?.readOnlyHint, true);
      }
      deepStrictEqual(s.client.getServerVersion()?.name, "curserve");
      includes(s.client.getInstructions() ?? "", "grep_search");
      // tools/list loads nothing: the workspace opens on the first call
      ok(!s.stderr().includes("opened"), s.stderr());
    });
    await withServer(["--root", root, "--daemon", NO_DAEMON, "--allow-write"], async (s) => {
      const { tools } = await s.client.listTools();
      deepStrictEqual(tools.map((t) => t.name), [...READ_TOOL_NAMES, "edit", "write_file"]);
      deepStrictEqual(tools.find((t) => t.name === "edit")!.inputSchema, schema("edit").parameters);
      strictEqual(tools.find((t) => t.name === "write_file")!.annotations?.readOnlyHint, false);
    });
  },
);

Deno.test(
  "mcp: every tool answers as rg and the file system do (in-process)",
  TEST_OPTS,
  async () => {
    const root = await fixtureRoot();
    await withServer(["--root", root, "--daemon", NO_DAEMON], async (s) => {
      await checkAgainstReference(s, root);
      includes(s.stderr(), `no curserve daemon on ${NO_DAEMON}: searching in-process`);
      includes(s.stderr(), "(local backend)");
    });
  },
);

Deno.test(
  "mcp: every tool answers as rg and the file system do (through a daemon)",
  TEST_OPTS,
  async () => {
    const root = await fixtureRoot();
    await withDaemon([], async (d) => {
      for (const backend of ["auto", "daemon"]) {
        await withServer(
          ["--root", root, "--daemon", d.socket, "--backend", backend],
          async (s) => {
            await checkAgainstReference(s, root);
            includes(s.stderr(), "(daemon backend)");
          },
        );
      }
    });
  },
);

Deno.test("mcp: paths outside the root are refused as tool errors", TEST_OPTS, async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-mcp-" }));
  try {
    const ws = join(tmp, "ws");
    await Deno.mkdir(join(tmp, "outside"), { recursive: true });
    await Deno.mkdir(ws);
    await Deno.writeTextFile(join(tmp, "outside/secret.txt"), "top secret needle\n");
    await Deno.writeTextFile(join(ws, "a.txt"), "a needle\n");
    await Deno.symlink(join(tmp, "outside"), join(ws, "link"));
    await withServer(["--root", ws, "--daemon", NO_DAEMON, "--allow-write"], async (s) => {
      const calls: [string, Record<string, unknown>, string][] = [
        ["read_file", { file_path: "../outside/secret.txt" }, "../outside/secret.txt"],
        ["read_file", { file_path: join(tmp, "outside/secret.txt") }, join(tmp, "outside")],
        ["read_file", { file_path: "link/secret.txt" }, "link/secret.txt"],
        ["grep_search", { pattern: "needle", path: ".." }, ".."],
        ["grep_search", { pattern: "needle", path: "link" }, "link"],
        ["glob", { pattern: "*.txt", path: "/etc" }, "/etc"],
        ["list_directory", { path: "link" }, "link"],
        ["write_file", { file_path: "link/new.txt", content: "x" }, "link/new.txt"],
        ["edit", { file_path: "../outside/secret.txt", old_string: "top", new_string: "x" }, ".."],
      ];
      for (const [name, args, named] of calls) {
        const a = await call(s, name, args);
        strictEqual(a.isError, true, `${name} ${JSON.stringify(args)}: ${a.text}`);
        match(a.text, /^Error: refused: .* resolves outside the workspace /);
        includes(a.text, named);
        includes(a.text, ws);
      }
      strictEqual(await Deno.readTextFile(join(tmp, "outside/secret.txt")), "top secret needle\n");
      ok(!(await Deno.stat(join(tmp, "outside/new.txt")).catch(() => null)), "nothing written");
      // the workspace itself still answers, and a bad argument is a tool error too
      includes(await ok_(s, "grep_search", { pattern: "needle" }), "a.txt");
      const bad = await call(s, "grep_search", { pattern: 42 });
      deepStrictEqual(bad, {
        text: "Error: argument 'pattern' must be a string, got 42",
        isError: true,
      });
      const missing = await call(s, "read_file", {});
      deepStrictEqual(missing, {
        text: "Error: missing required argument 'file_path'",
        isError: true,
      });
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("mcp: a bad regex is a tool error with rg's message", TEST_OPTS, async () => {
  const root = await fixtureRoot();
  const check = async (s: Session) => {
    for (const pattern of ["foo(", "[z-a]", "a{2,1}", "\\p{NoSuchClass}"]) {
      const reference = await rg(["-i", "-n", "-H", "--no-heading", "-e", pattern], root);
      strictEqual(reference.code, 2, `rg rejects ${pattern}`);
      const a = await call(s, "grep_search", { pattern });
      deepStrictEqual(a, { text: `Error: ${reference.stderr.trim()}`, isError: true }, pattern);
    }
  };
  await withServer(["--root", root, "--daemon", NO_DAEMON], check);
  await withDaemon([], (d) => withServer(["--root", root, "--daemon", d.socket], check));
});

Deno.test(
  "mcp: unknown tools are protocol errors; read-only servers have no edit",
  TEST_OPTS,
  async () => {
    const root = await fixtureRoot();
    await withServer(["--root", root, "--daemon", NO_DAEMON], async (s) => {
      for (const name of ["edit", "run_shell_command", "nope"]) {
        await rejects(
          s.client.callTool({ name, arguments: {} }),
          (err: Error) => err.message.includes(`Unknown tool '${name}'`),
        );
      }
    });
  },
);

Deno.test("mcp: results state their truncation", TEST_OPTS, async () => {
  const root = await fixtureRoot();
  await withServer(["--root", root, "--daemon", NO_DAEMON], async (s) => {
    const total = (await rgGrepLines(root, "foo")).length;
    ok(total > 3);
    const text = await ok_(s, "grep_search", { pattern: "foo", limit: 3 });
    includes(text, `Found ${total} matching lines`);
    includes(text, `[Showing 3 of ${total} matching lines (limit 3).`);
    strictEqual(grepLines(text).length, 3);
    const long = await ok_(s, "grep_search", { pattern: "needle at the end" });
    includes(long, `… [line cut at ${MAX_LINE_CHARS} characters]`);
    const late = await Deno.readTextFile(join(root, "repo/text/words.txt"));
    const n = late.split("\n").length - 1;
    const window = await ok_(s, "read_file", { file_path: "repo/text/words.txt", limit: 1 });
    includes(window, `[repo/text/words.txt: lines 1-1 of ${n}; read more with offset 1]`);
  });
});

/** A tree of `n` small files (more than the 1000 a progress report is made for). */
async function manyFiles(dir: string, n: number): Promise<void> {
  for (let d = 0; d < n / 100; d++) {
    await Deno.mkdir(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < 100 && d * 100 + f < n; f++) {
      await Deno.writeTextFile(join(dir, `d${d}`, `f${f}.txt`), `file ${d}/${f} needle\n`);
    }
  }
}

Deno.test("mcp: the first call reports progress while the workspace loads", TEST_OPTS, async () => {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-mcp-many-" }));
  try {
    await manyFiles(tmp, 2500);
    const check = async (s: Session) => {
      const seen: Progress[] = [];
      const a = await call(s, "grep_search", { pattern: "file 24/99 needle" }, (p) => seen.push(p));
      strictEqual(a.isError, false, a.text);
      includes(a.text, "File: d24/f99.txt");
      ok(seen.length >= 2, `progress notifications: ${JSON.stringify(seen)}`);
      for (let i = 1; i < seen.length; i++) ok(seen[i].progress > seen[i - 1].progress);
      strictEqual(seen.at(-1)!.progress, 2500);
      match(seen[0].message ?? "", /^loading .*: \d+ files, [\d.]+ MB read$/);
      // loaded once: the next call reports nothing
      const again: Progress[] = [];
      await call(s, "glob", { pattern: "d1/*.txt" }, (p) => again.push(p));
      deepStrictEqual(again, []);
    };
    await withServer(["--root", tmp, "--daemon", NO_DAEMON, "--backend", "local"], check);
    await withDaemon([], (d) => withServer(["--root", tmp, "--daemon", d.socket], check));
    // calls that arrive together wait for one load
    await withServer(["--root", tmp, "--daemon", NO_DAEMON], async (s) => {
      const answers = await Promise.all(
        ["d1/f1.txt", "d2/f2.txt", "d3/f3.txt"].map((file) =>
          ok_(s, "read_file", { file_path: file })
        ),
      );
      deepStrictEqual(answers, [
        "     1\tfile 1/1 needle",
        "     1\tfile 2/2 needle",
        "     1\tfile 3/3 needle",
      ]);
      strictEqual(s.stderr().split(" opened (local backend)").length - 1, 1, s.stderr());
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** An edit made on disk behind the server's back, awaited by polling (the watcher may lag). */
async function editOnDisk(s: Session, root: string): Promise<void> {
  const before = await ok_(s, "grep_search", { pattern: "freshly_added_word" });
  includes(before, "No matches");
  await Deno.writeTextFile(join(root, "repo/src/lib.rs"), "// freshly_added_word\n", {
    append: true,
  });
  await Deno.writeTextFile(join(root, "plain/new_file.txt"), "freshly_added_word too\n");
  const text = await pollUntil(
    "the edit seen by grep_search",
    () => ok_(s, "grep_search", { pattern: "freshly_added_word" }),
    (t) => t.includes("repo/src/lib.rs") && t.includes("plain/new_file.txt"),
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  deepStrictEqual(grepLines(text), await rgGrepLines(root, "freshly_added_word"));
}

/** Edits through the tools (--allow-write), seen by the very next search. */
async function editThroughTools(s: Session, root: string): Promise<void> {
  const edited = await ok_(s, "edit", {
    file_path: "repo/src/main.rs",
    old_string: "const FOO_BAR: u32 = 42;",
    new_string: "const FOO_BAR: u32 = 43; // changed_by_mcp",
  });
  includes(edited, "Edited repo/src/main.rs: replaced 1 occurrence (first at line 4)");
  const created = await ok_(s, "write_file", {
    file_path: "repo/new/made.rs",
    content: "fn made() {} // changed_by_mcp\n",
  });
  includes(created, "Created repo/new/made.rs (1 line)");
  const text = await ok_(s, "grep_search", { pattern: "changed_by_mcp" });
  deepStrictEqual(grepLines(text), [
    "repo/new/made.rs:1:fn made() {} // changed_by_mcp",
    "repo/src/main.rs:4:const FOO_BAR: u32 = 43; // changed_by_mcp",
  ]);
  deepStrictEqual(grepLines(text), await rgGrepLines(root, "changed_by_mcp"));
  const failed = await call(s, "edit", {
    file_path: "repo/src/main.rs",
    old_string: "not in the file",
    new_string: "x",
  });
  strictEqual(failed.isError, true);
  match(failed.text, /^Error: old_string was not found in repo\/src\/main.rs/);
}

/** A fresh copy of the fixture tree to change. */
async function withFixtureCopy(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-mcp-edit-" }));
  try {
    await makeFixtureTree(root);
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test(
  "mcp: in-process, edits on disk and through the tools are seen by the next grep",
  TEST_OPTS,
  async () => {
    await withFixtureCopy(async (root) => {
      await withServer(["--root", root, "--daemon", NO_DAEMON, "--allow-write"], async (s) => {
        await editOnDisk(s, root);
        await editThroughTools(s, root);
      });
    });
  },
);

Deno.test(
  "mcp: through a daemon, edits on disk and through the tools are seen by the next grep",
  TEST_OPTS,
  async () => {
    await withFixtureCopy(async (root) => {
      await withDaemon([], async (d) => {
        await withServer(["--root", root, "--daemon", d.socket, "--allow-write"], async (s) => {
          await editOnDisk(s, root);
          await editThroughTools(s, root);
          includes(s.stderr(), "(daemon backend)");
        });
      });
    });
  },
);

Deno.test(
  "mcp: `deno task mcp` serves the directory it is started in, stdout only protocol",
  TEST_OPTS,
  async () => {
    const root = await fixtureRoot();
    const cwd = join(root, "plain");
    await withServer(["--daemon", NO_DAEMON], async (s) => {
      const text = await ok_(s, "grep_search", { pattern: "needle" });
      deepStrictEqual(grepLines(text), await rgGrepLines(cwd, "needle"));
      includes(s.stderr(), `serving ${cwd}`);
    }, { task: true, cwd });
  },
);

Deno.test("mcp: bad flags and an unreachable daemon say what is wrong", TEST_OPTS, async () => {
  const run = async (args: string[]) => {
    const out = await within(
      new Deno.Command(Deno.execPath(), {
        args: [...taskRunArgs("mcp"), ...args],
        cwd: REPO,
        clearEnv: true,
        env: serverEnv(),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output(),
      CALL_MS,
      "exit of the server",
    );
    return {
      code: out.code,
      stdout: out.stdout.length,
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  for (
    const [args, message] of [
      [["--backend", "rg"], "error: --backend is one of auto, daemon, local, got 'rg'"],
      [["--root", "/nonexistent/dir"], "error: cannot use --root /nonexistent/dir: "],
      [["--root", `${REPO}/README.md`], "not a directory"],
      [["--bogus"], "error: Unknown option '--bogus'"],
    ] as const
  ) {
    const r = await run([...args]);
    strictEqual(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    strictEqual(r.stdout, 0, "nothing on stdout");
    includes(r.stderr, message);
  }
  const root = await fixtureRoot();
  await withServer(["--root", root, "--daemon", NO_DAEMON, "--backend", "daemon"], async (s) => {
    const a = await call(s, "grep_search", { pattern: "needle" });
    strictEqual(a.isError, true);
    includes(a.text, `Error: cannot open ${root} (daemon backend, daemon socket ${NO_DAEMON}): `);
  });
});
