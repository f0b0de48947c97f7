/**
 * The agent's command line: `agent.ts [flags] <workspace> <prompt>`, flags
 * before or after the two positionals, defaults from the environment.
 * @module
 */
import { parseArgs } from "node:util";
import type { BackendChoice } from "./backend.ts";
import { clientSocketPath } from "../socket_path.ts";

/** vLLM's default address. */
export const DEFAULT_BASE_URL = "http://localhost:8000/v1";
/** Where the daemon listens unless told otherwise. */
/** Where the daemon is looked for by default (see src/socket_path.ts). */
export const DEFAULT_SOCKET = clientSocketPath();

/** Everything a run is configured with. */
export interface AgentConfig {
  workspace: string;
  prompt: string;
  baseURL: string;
  /** Undefined: the first model `GET /models` lists. */
  model?: string;
  apiKey?: string;
  socket: string;
  backend: BackendChoice;
  maxTurns: number;
  json: boolean;
  stream: boolean;
  transcript?: string;
  retries: number;
  retryBaseMs: number;
}

/** A command line that cannot run (exit status 2, with the help text). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const BACKENDS: readonly BackendChoice[] = ["auto", "daemon", "local", "rg"];

function count(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`--${name} needs a whole number of at least ${min}, got '${text}'`);
  }
  return Number(text);
}

/**
 * node:util's parseArgs errors in our words: its unknown-option message ends
 * with an unbalanced quote (`as in '-- "--bogus"`) and its wording is not ours.
 */
function parseArgsMessage(err: Error & { code?: string }): string {
  const option = err.message.match(/'(-[^' ]*)/)?.[1];
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag '${option}' (a prompt that starts with '-' goes after '--')`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /does not take/.test(err.message)
        ? `${option} takes no value`
        : `${option} needs a value`;
    default:
      return err.message;
  }
}

/**
 * Parses the agent's arguments.
 * @param argv The arguments (without the program).
 * @param env Where defaults come from (`OPENAI_BASE_URL`, `OPENAI_MODEL`,
 *   `OPENAI_API_KEY`, `CURSERVE_SOCKET`, `CURSERVE_AGENT_RETRY_MS`).
 * @returns The configuration, or `"help"` for `--help`.
 * @throws {UsageError} For unknown flags, bad values, or missing positionals.
 */
export function parseAgentArgs(
  argv: string[],
  env: (name: string) => string | undefined,
): AgentConfig | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "base-url": { type: "string" },
        model: { type: "string" },
        "api-key": { type: "string" },
        daemon: { type: "string" },
        backend: { type: "string" },
        "max-turns": { type: "string" },
        json: { type: "boolean" },
        stream: { type: "boolean" },
        "no-stream": { type: "boolean" },
        transcript: { type: "string" },
        retries: { type: "string" },
        "retry-base-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err as Error & { code?: string }));
  }
  const v = parsed.values;
  if (v.help) return "help";
  const [workspace, prompt, ...extra] = parsed.positionals;
  if (prompt === undefined) throw new UsageError("expected <workspace> and <prompt>");
  if (extra.length) {
    throw new UsageError(`unexpected argument '${extra[0]}' (quote the prompt as one argument)`);
  }
  if (prompt.trim() === "") throw new UsageError("the prompt is empty");
  const backend = (v.backend ?? "auto") as BackendChoice;
  if (!BACKENDS.includes(backend)) {
    throw new UsageError(`--backend is one of ${BACKENDS.join(", ")}, got '${backend}'`);
  }
  return {
    workspace,
    prompt,
    baseURL: (v["base-url"] ?? env("OPENAI_BASE_URL") ?? DEFAULT_BASE_URL).replace(/\/+$/, ""),
    model: v.model ?? (env("OPENAI_MODEL") || undefined),
    apiKey: v["api-key"] ?? (env("OPENAI_API_KEY") || undefined),
    socket: v.daemon ?? env("CURSERVE_SOCKET") ?? DEFAULT_SOCKET,
    backend,
    maxTurns: count("max-turns", v["max-turns"], 50, 1),
    json: v.json ?? false,
    stream: !v["no-stream"],
    transcript: v.transcript,
    retries: count("retries", v.retries, 4, 0),
    retryBaseMs: count(
      "retry-base-ms",
      v["retry-base-ms"] ?? env("CURSERVE_AGENT_RETRY_MS"),
      1000,
      0,
    ),
  };
}
