/**
 * `deno run -A agent.ts [flags] <workspace> <prompt>`: a coding agent for
 * one user, on a shared OpenAI-compatible endpoint (vLLM), whose file tools
 * are answered by the curserve daemon (or in-process when none runs).
 * @module
 */
import { parseAgentArgs, UsageError } from "./src/agent/args.ts";
import { EXIT, runAgent } from "./src/agent/run.ts";

const HELP = `curserve agent: runs one coding task on a workspace with a model served by an
OpenAI-compatible chat-completions endpoint (vLLM, or any other).

USAGE:
    deno run -A agent.ts [OPTIONS] <WORKSPACE> <PROMPT>
    deno task agent [OPTIONS] <WORKSPACE> <PROMPT>

The model's text streams to stdout (its last message is the answer); tool
calls and a one-line summary (turns, tool calls, tool time vs model time) go
to stderr.

OPTIONS:
    --base-url URL       Endpoint (default: $OPENAI_BASE_URL, else
                         http://localhost:8000/v1, vLLM's)
    --model NAME         Model (default: $OPENAI_MODEL, else the first one
                         GET /models lists)
    --api-key KEY        API key (default: $OPENAI_API_KEY; vLLM needs none)
    --daemon SOCKET      curserve daemon socket (default: $CURSERVE_SOCKET, else
                         your own daemon's, else /run/curserve/curserve.sock)
    --backend KIND       Who answers grep/glob/ls/read: auto (the daemon if one
                         answers on the socket, else in-process, said on
                         stderr), daemon, local (in-process WASM), or rg
                         (spawn rg per search, read files from disk)
                         [default: auto]
    --max-turns N        Most model calls before giving up [default: 50]
    --json               One JSON event per line on stdout: start, text,
                         tool_call, tool_result (with latency_ms), final, error
    --no-stream          Wait for whole replies instead of streaming
    --transcript FILE    Write the whole conversation to FILE as JSON
    --retries N          Retries for 429, 5xx and refused connections [default: 4]
    --retry-base-ms MS   First retry's backoff, doubling after
                         (default: $CURSERVE_AGENT_RETRY_MS, else 1000)
    -h, --help           Print this help

TOOLS (as qwen-code names them):
    grep_search, glob, list_directory, read_file, edit, write_file,
    run_shell_command. Paths outside the workspace are refused.

EXIT STATUS:
    0 done, 1 failed (endpoint unreachable or erring, max turns, daemon),
    2 usage error, 130 interrupted (Ctrl-C).`;

if (import.meta.main) {
  let config;
  try {
    config = parseAgentArgs(Deno.args, (name) => Deno.env.get(name));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // The message and how to call, not the whole help: the message stays in view.
    console.error(
      `error: ${err.message}\n\nUSAGE:\n    deno task agent [OPTIONS] <WORKSPACE> <PROMPT>\n\n` +
        `--help lists the options.`,
    );
    Deno.exit(EXIT.usage);
  }
  if (config === "help") {
    console.log(HELP);
    Deno.exit(EXIT.ok);
  }
  Deno.exit(await runAgent(config));
}
