/**
 * The agent (`agent.ts`) run as a subprocess against a real HTTP server
 * speaking the chat-completions wire format (`fake_openai.ts`), streamed
 * and not. One scripted conversation uses every tool, and the server
 * asserts on the results it gets back (line numbers, grouping, the search
 * after an edit seeing it, escapes refused); it runs through a real daemon,
 * in-process, and through rg. Then each failure: unreachable endpoint,
 * 5xx/429 retried, 400 fatal, max turns, malformed arguments, unknown tool,
 * Ctrl-C.
 *
 * Nothing here depends on timing: the only clock is the shell tool's own
 * time limit (300 ms against a 30 s sleep), and Ctrl-C is sent once the
 * server holds the agent's request.
 *
 * @module
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { FakeOpenAI, type Script, sequence, type ToolResult, toolResults } from "./fake_openai.ts";
import {
  cleanEnv,
  DaemonProcess,
  exists,
  REPO,
  startDaemon,
  stopDaemon,
  TEST_OPTS,
  withDaemon,
  within,
} from "./harness.ts";

const AGENT_TS = `${REPO}/agent.ts`;

/** What an agent run printed. */
interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment for the agent: none of the variables its flags default from. */
function agentEnv(): Record<string, string> {
  const env = cleanEnv();
  for (const k of ["OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_API_KEY", "CURSERVE_SOCKET"]) {
    delete env[k];
  }
  env.NO_COLOR = "1";
  return env;
}

/** Starts `deno run -A agent.ts ...args` with its output piped. */
function spawnAgent(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `--lock=${REPO}/npm.lock`, AGENT_TS, ...args],
    cwd: REPO,
    clearEnv: true,
    env: agentEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs the agent to its end (bounded: a hang fails the test). */
async function runAgent(args: string[]): Promise<AgentRun> {
  const out = await within(spawnAgent(args).output(), 60_000, "end of the agent");
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the agent against a fake server playing `script`; the server's assertions must hold. */
async function converse(script: Script, args: string[]): Promise<AgentRun & { fake: FakeOpenAI }> {
  const fake = new FakeOpenAI(script);
  try {
    const run = await runAgent(["--base-url", fake.baseURL, "--retry-base-ms", "1", ...args]);
    deepStrictEqual(
      fake.failures,
      [],
      `the server's assertions failed; agent stderr:\n${run.stderr}`,
    );
    return { ...run, fake };
  } finally {
    await fake.close();
  }
}

const describe = (r: AgentRun) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/**
 * A fresh workspace `<tmp>/ws` next to `<tmp>/outside/secret.txt`, with a
 * symbolic link `ws/link` to the outside directory.
 */
async function makeWorkspace(): Promise<
  { ws: string; outside: string; cleanup: () => Promise<void> }
> {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "curserve-agent-" }));
  const ws = join(tmp, "ws");
  const outside = join(tmp, "outside");
  const files: Record<string, string> = {
    "ws/src/a.ts": "export const needle = 1;\n// another needle here\nfunction foo() {}\n",
    "ws/src/b.py": "NEEDLE = 2\n",
    "ws/README.md": "# demo\nNothing to see.\n",
    "ws/notes.txt": Array.from({ length: 30 }, (_, i) => `note ${i + 1}`).join("\n") + "\n",
    "outside/secret.txt": "top secret needle\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(tmp, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(tmp, path), text);
  }
  await Deno.symlink(outside, join(ws, "link"));
  return { ws, outside, cleanup: () => Deno.remove(tmp, { recursive: true }) };
}

/** The results by position, checking that the tools named come back in order. */
function results(req: Parameters<typeof toolResults>[0], names: string[]): ToolResult[] {
  const got = toolResults(req);
  deepStrictEqual(got.map((r) => r.name), names, "tool results in call order");
  return got;
}

const includes = (text: string, part: string) =>
  ok(text.includes(part), `expected ${JSON.stringify(part)} in:\n${text}`);
const excludes = (text: string, part: string) =>
  ok(!text.includes(part), `did not expect ${JSON.stringify(part)} in:\n${text}`);

const TOOLS = [
  "grep_search",
  "glob",
  "list_directory",
  "read_file",
  "edit",
  "write_file",
  "run_shell_command",
];

/**
 * The conversation that uses every tool. Each step checks the results of the
 * calls the previous one made.
 */
function everyToolScript(): Script {
  return sequence(
    (req) => {
      strictEqual(req.model, "fake-model", "the model comes from GET /models");
      deepStrictEqual(req.tools?.map((t) => t.function.name), TOOLS);
      strictEqual(req.messages.at(-1).content, "rename needle");
      return {
        text: "Let me look around.",
        toolCalls: [
          { name: "list_directory", arguments: { path: "." } },
          { name: "glob", arguments: { pattern: "*.ts" } },
          { name: "grep_search", arguments: { pattern: "needle" } },
          { name: "read_file", arguments: { file_path: "src/a.ts", offset: 1, limit: 1 } },
          { name: "read_file", arguments: { file_path: "notes.txt", offset: 10, limit: 5 } },
        ],
      };
    },
    (req) => {
      const [ls, glob, grep, read, window] = results(req, [
        "list_directory",
        "glob",
        "grep_search",
        "read_file",
        "read_file",
      ]).map((r) => r.content);
      includes(ls, "[DIR] src");
      includes(ls, "README.md");
      ok(ls.indexOf("[DIR] src") < ls.indexOf("README.md"), "directories first");
      includes(glob, "src/a.ts");
      excludes(glob, "b.py");
      // grouped by file, with line numbers; -i finds NEEDLE; the outside file is not searched
      includes(grep, "File: src/a.ts\nL1: export const needle = 1;\nL2: // another needle here");
      includes(grep, "File: src/b.py\nL1: NEEDLE = 2");
      excludes(grep, "secret");
      strictEqual(
        read,
        "[src/a.ts: lines 2-2 of 3; read more with offset 2]\n     2\t// another needle here",
      );
      includes(window, "[notes.txt: lines 11-15 of 30; read more with offset 15]");
      includes(window, "    11\tnote 11\n");
      includes(window, "    15\tnote 15");
      excludes(window, "note 16");
      return {
        toolCalls: [
          {
            name: "edit",
            arguments: { file_path: "src/a.ts", old_string: "needle", new_string: "pin" },
          },
          {
            name: "edit",
            arguments: {
              file_path: "src/a.ts",
              old_string: "export const needle = 1;",
              new_string: "export const haystack = 1;",
            },
          },
          { name: "grep_search", arguments: { pattern: "haystack" } },
          { name: "grep_search", arguments: { pattern: "needle", glob: "*.ts" } },
          {
            name: "write_file",
            arguments: { file_path: "src/new/c.rs", content: "fn haystack() {}\n" },
          },
          { name: "grep_search", arguments: { pattern: "HAYSTACK", path: "src", limit: 1 } },
          {
            name: "edit",
            arguments: { file_path: "README.md", old_string: "$", new_string: "$&x" },
          },
        ],
      };
    },
    (req) => {
      const [ambiguous, edited, seen, rest, written, limited, absent] = results(req, [
        "edit",
        "edit",
        "grep_search",
        "grep_search",
        "write_file",
        "grep_search",
        "edit",
      ]).map((r) => r.content);
      match(ambiguous, /^Error: old_string occurs 2 times in src\/a\.ts.*replace_all/);
      strictEqual(edited, "Edited src/a.ts: replaced 1 occurrence (first at line 1).");
      includes(seen, "File: src/a.ts\nL1: export const haystack = 1;"); // the search sees the edit
      includes(rest, "L2: // another needle here");
      excludes(rest, "L1:");
      excludes(rest, "b.py");
      strictEqual(written, "Created src/new/c.rs (1 line).");
      includes(limited, "Found 2 matching lines");
      includes(limited, "File: src/a.ts\nL1: export const haystack = 1;");
      excludes(limited, "c.rs"); // limit 1
      includes(limited, "[Showing 1 of 2 matching lines (limit 1).");
      match(absent, /^Error: old_string was not found in README\.md/);
      return {
        toolCalls: [
          { name: "grep_search", arguments: { pattern: "fn haystack" } },
          { name: "run_shell_command", arguments: { command: "echo out; echo err >&2; exit 3" } },
          { name: "run_shell_command", arguments: { command: "sleep 30", timeout: 300 } },
          { name: "read_file", arguments: { file_path: "../outside/secret.txt" } },
          { name: "read_file", arguments: { file_path: "link/secret.txt" } },
          { name: "grep_search", arguments: { pattern: "needle", path: "/etc" } },
          { name: "write_file", arguments: { file_path: "link/evil.txt", content: "x" } },
          { name: "list_directory", arguments: { path: ".." } },
        ],
      };
    },
    (req) => {
      const [created, shell, slow, ...escapes] = results(req, [
        "grep_search",
        "run_shell_command",
        "run_shell_command",
        "read_file",
        "read_file",
        "grep_search",
        "write_file",
        "list_directory",
      ]).map((r) => r.content);
      includes(created, "File: src/new/c.rs\nL1: fn haystack() {}"); // a new file in a new directory
      strictEqual(shell, "Exit code: 3\nOutput:\nout\nerr\n");
      match(slow, /^Error: the command ran past its 300 ms limit and was killed/);
      for (const e of escapes) match(e, /^Error: refused: .* resolves outside the workspace/);
      return {
        toolCalls: [
          { name: "grep_search", arguments: '{"pattern": "needle"' },
          { name: "frobnicate", arguments: {} },
          { name: "grep_search", arguments: { pattern: "(" } },
          { name: "read_file", arguments: { file_path: "missing.txt" } },
          { name: "read_file", arguments: { file_path: "src/a.ts", limit: "ten" } },
          { name: "edit", arguments: { file_path: "src/a.ts" } },
        ],
      };
    },
    (req) => {
      const [malformed, unknown, regex, missing, badType, missingArg] = results(req, [
        "grep_search",
        "frobnicate",
        "grep_search",
        "read_file",
        "read_file",
        "edit",
      ]).map((r) => r.content);
      match(malformed, /^Error: the arguments are not valid JSON/);
      // the malformed arguments go back into the history as an empty object
      const calls = req.messages.findLast((m) => m.role === "assistant").tool_calls;
      strictEqual(calls[0].function.arguments, "{}");
      match(unknown, /^Error: unknown tool 'frobnicate'; the tools are grep_search, glob/);
      match(regex, /^Error: regex parse error/);
      match(missing, /^Error: cannot read .*missing\.txt/);
      strictEqual(badType, `Error: argument 'limit' must be a whole number, got "ten"`);
      strictEqual(missingArg, "Error: missing required argument 'old_string'");
      return { text: "All done: needle is now haystack." };
    },
  );
}

/** Runs the every-tool conversation with `args` and checks the workspace afterwards. */
async function everyTool(args: string[]): Promise<AgentRun> {
  const { ws, outside, cleanup } = await makeWorkspace();
  try {
    const run = await converse(everyToolScript(), [ws, "rename needle", ...args]);
    strictEqual(run.code, 0, describe(run));
    strictEqual(run.fake.requests.length, 5);
    includes(run.stdout, "All done: needle is now haystack.");
    match(run.stderr, /^agent: 5 turns, 26 tool calls, tools [\d.]+ ms vs model [\d.]+ ms/m);
    strictEqual(
      await Deno.readTextFile(join(ws, "src/a.ts")),
      "export const haystack = 1;\n// another needle here\nfunction foo() {}\n",
    );
    ok(!exists(join(outside, "evil.txt")), "nothing written outside");
    return run;
  } finally {
    await cleanup();
  }
}

for (const stream of [true, false]) {
  const mode = stream ? "streamed" : "not streamed";
  Deno.test(`agent: every tool through the daemon (${mode})`, TEST_OPTS, async () => {
    await withDaemon([], async (d) => {
      // flags after the positionals; auto finds the daemon
      const run = await everyTool([
        "--daemon",
        d.socket,
        "--backend",
        "auto",
        ...(stream ? [] : ["--no-stream"]),
      ]);
      match(run.stderr, /\(backend: daemon\)/);
    });
  });
  Deno.test(`agent: every tool in-process (${mode})`, TEST_OPTS, async () => {
    const run = await everyTool(["--backend", "local", ...(stream ? [] : ["--no-stream"])]);
    match(run.stderr, /\(backend: local\)/);
  });
}

Deno.test(
  "agent: every tool through rg, with --json events and a transcript",
  TEST_OPTS,
  async () => {
    const transcript = await Deno.makeTempFile({ suffix: ".json" });
    try {
      const run = await everyTool(["--backend", "rg", "--json", "--transcript", transcript]);
      const events = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
      strictEqual(events[0].type, "start");
      strictEqual(events[0].backend, "rg");
      strictEqual(events[0].model, "fake-model");
      const results = events.filter((e) => e.type === "tool_result");
      strictEqual(results.length, 26);
      strictEqual(events.filter((e) => e.type === "tool_call").length, 26);
      ok(results.every((e) => typeof e.latency_ms === "number" && e.latency_ms >= 0));
      strictEqual(results.filter((e) => !e.ok).length, 14);
      const final = events.at(-1);
      strictEqual(final.type, "final");
      strictEqual(final.text, "All done: needle is now haystack.");
      strictEqual(final.turns, 5);
      strictEqual(final.tool_calls, 26);
      strictEqual(final.tools.grep_search.calls, 8);
      const saved = JSON.parse(await Deno.readTextFile(transcript));
      strictEqual(saved.backend, "rg");
      strictEqual(saved.messages[0].role, "system");
      strictEqual(saved.messages.at(-1).content, "All done: needle is now haystack.");
      strictEqual(saved.messages.filter((m: { role: string }) => m.role === "tool").length, 26);
    } finally {
      await Deno.remove(transcript);
    }
  },
);

// --- failures --------------------------------------------------------------------------

/** A one-file workspace for the failure cases. */
async function withWorkspace(fn: (ws: string) => Promise<void>): Promise<void> {
  const { ws, cleanup } = await makeWorkspace();
  try {
    await fn(ws);
  } finally {
    await cleanup();
  }
}

Deno.test(
  "agent: an unreachable endpoint ends with a clear message and exit 1",
  TEST_OPTS,
  async () => {
    // a port that was just free: nothing listens there
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(),
    );
    const port = server.addr.port;
    await server.shutdown();
    await withWorkspace(async (ws) => {
      const run = await runAgent([
        ws,
        "hello",
        "--base-url",
        `http://127.0.0.1:${port}/v1`,
        "--backend",
        "local",
        "--retries",
        "2",
        "--retry-base-ms",
        "1",
      ]);
      strictEqual(run.code, 1, describe(run));
      match(
        run.stderr,
        /cannot reach the model endpoint http:\/\/127\.0\.0\.1:\d+\/v1 \(after 3 attempts\)/,
      );
      strictEqual(run.stdout, "");
    });
  },
);

/** A local port nothing listens on: one that was just free. */
async function deadPort(): Promise<number> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(),
  );
  const port = server.addr.port;
  await server.shutdown();
  return port;
}

Deno.test(
  "agent: a refused connection says so on each retry, and the final error names the cause and a fix",
  TEST_OPTS,
  async () => {
    const url = `http://127.0.0.1:${await deadPort()}/v1`;
    await withWorkspace(async (ws) => {
      for (const json of [false, true]) {
        const run = await runAgent([
          ws,
          "hello",
          "--base-url",
          url,
          "--backend",
          "local",
          "--retries",
          "3",
          "--retry-base-ms",
          "1",
          ...(json ? ["--json"] : []),
        ]);
        strictEqual(run.code, 1, describe(run));
        const lines = run.stderr.split("\n").filter((l) => l !== "");
        // one line per retry, in order, with the doubling wait
        deepStrictEqual(lines.filter((l) => l.includes("; retry ")), [
          `agent: model endpoint ${url} refused the connection; retry 1/3 in 1 ms`,
          `agent: model endpoint ${url} refused the connection; retry 2/3 in 2 ms`,
          `agent: model endpoint ${url} refused the connection; retry 3/3 in 4 ms`,
        ]);
        const error = lines.at(-1)!;
        ok(
          error.startsWith(
            `agent: error: cannot reach the model endpoint ${url} (after 4 attempts): ` +
              "connection refused. ",
          ),
          error,
        );
        includes(error, "--base-url");
        includes(error, "vllm serve");
        excludes(run.stderr, "fetch failed");
        if (json) {
          const events = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
          strictEqual(events.at(-1).type, "error");
          strictEqual(`agent: error: ${events.at(-1).message}`, error);
        } else {
          strictEqual(run.stdout, "");
        }
      }
    });
  },
);

Deno.test("agent: 500 and 429 are retried, then the answer comes", TEST_OPTS, async () => {
  await withWorkspace(async (ws) => {
    const run = await converse(
      sequence(
        () => ({ status: 500, message: "engine restarting" }),
        () => ({ status: 429, message: "slow down", headers: { "retry-after-ms": "1" } }),
        () => ({ text: "Recovered." }),
      ),
      [ws, "hello", "--model", "m", "--backend", "local"],
    );
    strictEqual(run.code, 0, describe(run));
    strictEqual(run.fake.requests.length, 3);
    includes(run.stdout, "Recovered.");
    match(run.stderr, /agent: 1 turn, 0 tool calls/);
  });
});

Deno.test("agent: 400 is not retried: clear message and exit 1", TEST_OPTS, async () => {
  await withWorkspace(async (ws) => {
    const run = await converse(
      sequence(() => ({ status: 400, message: "maximum context length exceeded" })),
      [ws, "hello", "--model", "m", "--backend", "local"],
    );
    strictEqual(run.code, 1, describe(run));
    strictEqual(run.fake.requests.length, 1);
    match(
      run.stderr,
      /agent: error: chat completion failed: .* answered HTTP 400: .*maximum context length exceeded/,
    );
  });
});

Deno.test("agent: 5xx past the retries ends with exit 1", TEST_OPTS, async () => {
  await withWorkspace(async (ws) => {
    const run = await converse(
      () => ({ status: 503, message: "overloaded" }),
      [ws, "hello", "--model", "m", "--backend", "local", "--retries", "2", "--no-stream"],
    );
    strictEqual(run.code, 1, describe(run));
    strictEqual(run.fake.requests.length, 3);
    match(run.stderr, /HTTP 503 \(after 3 attempts\)/);
  });
});

Deno.test("agent: a model that never stops hits --max-turns: exit 1", TEST_OPTS, async () => {
  await withWorkspace(async (ws) => {
    const run = await converse(
      () => ({ toolCalls: [{ name: "list_directory", arguments: { path: "." } }] }),
      [ws, "hello", "--backend", "local", "--max-turns", "3"],
    );
    strictEqual(run.code, 1, describe(run));
    strictEqual(run.fake.requests.length, 3);
    match(run.stderr, /the model was still calling tools after 3 turns \(--max-turns 3\)/);
  });
});

Deno.test(
  "agent: malformed arguments and unknown tools go back to the model",
  TEST_OPTS,
  async () => {
    await withWorkspace(async (ws) => {
      const run = await converse(
        sequence(
          () => ({
            toolCalls: [
              { name: "read_file", arguments: "{file_path: src/a.ts}" },
              { name: "read_file", arguments: "[1, 2]" },
              { name: "delete_everything", arguments: { path: "." } },
            ],
          }),
          (req) => {
            const [bad, notObject, unknown] = results(req, [
              "read_file",
              "read_file",
              "delete_everything",
            ])
              .map((r) => r.content);
            match(bad, /^Error: the arguments are not valid JSON/);
            strictEqual(
              notObject,
              "Error: the arguments must be a JSON object with the tool's parameters",
            );
            match(unknown, /^Error: unknown tool 'delete_everything'/);
            return { text: "Sorry." };
          },
        ),
        [ws, "hello", "--backend", "local"],
      );
      strictEqual(run.code, 0, describe(run));
      includes(run.stdout, "Sorry.");
    });
  },
);

Deno.test(
  "agent: Ctrl-C while waiting for the model stops cleanly (exit 130)",
  TEST_OPTS,
  async () => {
    const fake = new FakeOpenAI(() => ({ hang: true }));
    try {
      await withWorkspace(async (ws) => {
        const child = spawnAgent([
          ws,
          "hello",
          "--base-url",
          fake.baseURL,
          "--model",
          "m",
          "--backend",
          "local",
        ]);
        const output = child.output();
        await within(fake.hanging, 30_000, "the agent's request");
        child.kill("SIGINT");
        const out = await within(output, 30_000, "end of the agent");
        const stderr = new TextDecoder().decode(out.stderr);
        strictEqual(out.code, 130, stderr);
        match(stderr, /agent: error: interrupted/);
        excludes(stderr, "Uncaught");
      });
    } finally {
      await fake.close();
    }
  },
);

Deno.test(
  "agent: auto without a daemon searches in-process and says so; daemon fails",
  TEST_OPTS,
  async () => {
    await withWorkspace(async (ws) => {
      const run = await converse(
        sequence(
          () => ({ toolCalls: [{ name: "grep_search", arguments: { pattern: "needle" } }] }),
          (req) => {
            includes(toolResults(req)[0].content, "File: src/a.ts");
            return { text: "Found it." };
          },
        ),
        [ws, "hello", "--daemon", join(ws, "no-daemon.sock")],
      );
      strictEqual(run.code, 0, describe(run));
      match(run.stderr, /^agent: no curserve daemon on .*no-daemon\.sock: searching in-process$/m);
      match(run.stderr, /\(backend: local\)/);
      // --backend daemon insists
      const insist = await runAgent([
        ws,
        "hello",
        "--backend",
        "daemon",
        "--daemon",
        join(ws, "no.sock"),
      ]);
      strictEqual(insist.code, 1, describe(insist));
      match(
        insist.stderr,
        /^agent: error: cannot open the daemon backend \(daemon socket .*no\.sock\)/m,
      );
    });
  },
);

Deno.test("agent: --help, and usage errors exit 2", TEST_OPTS, async () => {
  const help = await runAgent(["--help"]);
  strictEqual(help.code, 0);
  includes(help.stdout, "USAGE:");
  includes(help.stdout, "--backend KIND");
  for (
    const args of [["only-workspace"], ["ws", "p", "--backend", "nope"], [
      "ws",
      "p",
      "--max-turns",
      "0",
    ], [
      "ws",
      "p",
      "--bogus",
    ]]
  ) {
    const run = await runAgent(args);
    strictEqual(run.code, 2, `${args.join(" ")}: ${describe(run)}`);
    match(run.stderr, /^error: /);
  }
  // node:util's own wording (with an unbalanced quote) is replaced by ours
  for (
    const [args, message] of [
      [
        ["ws", "p", "--bogus"],
        "unknown flag '--bogus' (a prompt that starts with '-' goes after '--')",
      ],
      [["ws", "p", "--model"], "--model needs a value"],
      [["--json=yes", "ws", "p"], "--json takes no value"],
    ] as const
  ) {
    const run = await runAgent([...args]);
    strictEqual(run.code, 2, `${args.join(" ")}: ${describe(run)}`);
    strictEqual(run.stderr.split("\n")[0], `error: ${message}`);
    includes(run.stderr, "--help lists the options.");
  }
  const missing = await runAgent(["/nonexistent/workspace", "hello", "--model", "m"]);
  strictEqual(missing.code, 2, describe(missing));
  match(missing.stderr, /cannot use workspace \/nonexistent\/workspace/);
});

Deno.test("agent: edit with replace_all, and edit creating a file", TEST_OPTS, async () => {
  await withWorkspace(async (ws) => {
    const run = await converse(
      sequence(
        () => ({
          toolCalls: [
            {
              name: "edit",
              arguments: {
                file_path: `${ws}/src/a.ts`,
                old_string: "needle",
                new_string: "$&pin",
                replace_all: true,
              },
            },
            {
              name: "edit",
              arguments: { file_path: "docs/new.md", old_string: "", new_string: "pin\n" },
            },
            {
              name: "edit",
              arguments: { file_path: "docs/new.md", old_string: "", new_string: "x" },
            },
            { name: "grep_search", arguments: { pattern: "pin" } },
          ],
        }),
        (req) => {
          const [all, created, exists, grep] = results(req, ["edit", "edit", "edit", "grep_search"])
            .map((r) => r.content);
          strictEqual(all, "Edited src/a.ts: replaced 2 occurrences (first at line 1).");
          strictEqual(created, "Created docs/new.md (1 line).");
          match(exists, /^Error: docs\/new\.md already exists/);
          includes(
            grep,
            "File: docs/new.md\nL1: pin\n---\nFile: src/a.ts\nL1: export const $&pin = 1;",
          );
          return { text: "ok" };
        },
      ),
      [ws, "edit", "--backend", "local"],
    );
    strictEqual(run.code, 0, describe(run));
  });
});

Deno.test("agent: a daemon restarted mid-session is reconnected", TEST_OPTS, async () => {
  const first = await startDaemon();
  let second: DaemonProcess | undefined;
  try {
    await withWorkspace(async (ws) => {
      const grep = { name: "grep_search", arguments: { pattern: "needle" } };
      const run = await converse(
        sequence(
          () => ({ toolCalls: [grep] }),
          async (req) => {
            includes(toolResults(req)[0].content, "File: src/a.ts");
            // Between two turns: the daemon goes away and a new one takes its socket.
            await first.process.stop();
            second = await new DaemonProcess(first.socket).ready();
            return { toolCalls: [grep] };
          },
          (req) => {
            includes(toolResults(req)[0].content, "File: src/a.ts\nL1: export const needle = 1;");
            return { text: "Still here." };
          },
        ),
        [ws, "hello", "--backend", "daemon", "--daemon", first.socket],
      );
      strictEqual(run.code, 0, describe(run));
      match(run.stderr, /\(backend: daemon\)/);
    });
  } finally {
    await second?.stop();
    await stopDaemon(first);
  }
});
