/**
 * One agent run from a parsed command line to an exit status: open the
 * workspace's backend, find the model, run the loop, report, clean up.
 * @module
 */
import { resolve } from "node:path";
import type { AgentConfig } from "./args.ts";
import { openBackend, type ReadBackend } from "./backend.ts";
import { MaxTurnsError, runLoop, systemPrompt } from "./loop.ts";
import { Interrupted, type Message, Model, ModelError } from "./model.ts";
import {
  JsonOutput,
  type Output,
  roundMs,
  type RunSummary,
  summaryLine,
  TerminalOutput,
} from "./output.ts";
import { WorkspacePaths } from "./paths.ts";
import { ToolBox } from "./tools.ts";

/** Exit statuses. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Everything a transcript file records. */
interface Transcript {
  workspace: string;
  base_url: string;
  model?: string;
  backend?: string;
  messages: Message[];
  summary?: RunSummary;
  error?: string;
}

/**
 * Runs the agent as configured, printing as it goes.
 * @returns The exit status: 0 done, 1 failed (endpoint, max turns, daemon),
 *   2 bad workspace, 130 interrupted.
 */
export async function runAgent(config: AgentConfig): Promise<number> {
  const output: Output = config.json ? new JsonOutput() : new TerminalOutput();
  const stop = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    // The first Ctrl-C stops the request or command in flight and ends the
    // run cleanly; a second one does not wait for that.
    if (++interrupts > 1) Deno.exit(EXIT.interrupted);
    stop.abort(new Interrupted());
  };
  Deno.addSignalListener("SIGINT", onInterrupt);

  const transcript: Transcript = {
    workspace: config.workspace,
    base_url: config.baseURL,
    messages: [],
  };
  let backend: ReadBackend | undefined;
  const fail = (message: string, code: number) => {
    transcript.error = message;
    output.event({ type: "error", message });
    return code;
  };
  try {
    let root: string;
    try {
      // `deno task` runs in the config's directory; INIT_CWD is where the user was.
      root = await Deno.realPath(resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), config.workspace));
      if (!(await Deno.stat(root)).isDirectory) throw new Error("not a directory");
    } catch (err) {
      return fail(
        `cannot use workspace ${config.workspace}: ${(err as Error).message}`,
        EXIT.usage,
      );
    }
    transcript.workspace = root;
    try {
      backend = await openBackend(
        config.backend,
        root,
        config.socket,
        (line) => Deno.stderr.writeSync(new TextEncoder().encode(`agent: ${line}\n`)),
      );
    } catch (err) {
      return fail(
        `cannot open the ${config.backend} backend` +
          (config.backend === "daemon" || config.backend === "auto"
            ? ` (daemon socket ${config.socket})`
            : "") +
          `: ${(err as Error).message}`,
        EXIT.failed,
      );
    }
    transcript.backend = backend.kind;
    const model = new Model({
      baseURL: config.baseURL,
      apiKey: config.apiKey,
      stream: config.stream,
      retries: config.retries,
      retryBaseMs: config.retryBaseMs,
      signal: stop.signal,
      onRetry: (line) => console.error(`agent: ${line}`),
    });
    const modelName = config.model ?? await model.defaultModel();
    transcript.model = modelName;
    output.event({
      type: "start",
      model: modelName,
      base_url: config.baseURL,
      backend: backend.kind,
      workspace: root,
    });
    transcript.messages.push(
      { role: "system", content: systemPrompt(root) },
      { role: "user", content: config.prompt },
    );
    const summary = await runLoop({
      model,
      modelName,
      tools: new ToolBox(new WorkspacePaths(root), backend, stop.signal),
      output,
      maxTurns: config.maxTurns,
      messages: transcript.messages,
      signal: stop.signal,
    });
    transcript.summary = summary;
    output.event({
      type: "final",
      text: summary.answer,
      turns: summary.turns,
      tool_calls: summary.toolCalls,
      tool_ms: roundMs(summary.toolMs),
      model_ms: roundMs(summary.modelMs),
      tools: Object.fromEntries(
        Object.entries(summary.tools).map(([k, t]) => [k, { ...t, ms: roundMs(t.ms) }]),
      ),
    });
    console.error(summaryLine(summary, backend.kind));
    return EXIT.ok;
  } catch (err) {
    if (err instanceof Interrupted || stop.signal.aborted) {
      return fail("interrupted", EXIT.interrupted);
    }
    if (err instanceof ModelError || err instanceof MaxTurnsError) {
      return fail(err.message, EXIT.failed);
    }
    throw err;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    backend?.close();
    if (config.transcript) {
      try {
        await Deno.writeTextFile(config.transcript, JSON.stringify(transcript, null, 2) + "\n");
      } catch (err) {
        console.error(
          `agent: cannot write the transcript ${config.transcript}: ${(err as Error).message}`,
        );
      }
    }
  }
}
