/**
 * The conversation loop: send the conversation, run the tools the model
 * asks for, send their results back, until the model answers without
 * calling a tool or the turns run out.
 * @module
 */
import type { Message, Model, ToolCall } from "./model.ts";
import { type Output, roundMs, type RunSummary } from "./output.ts";
import { TOOL_SCHEMAS } from "./schemas.ts";
import type { ToolBox } from "./tools.ts";

/** The model was still calling tools when the turns ran out. */
export class MaxTurnsError extends Error {
  constructor(readonly turns: number) {
    super(
      `the model was still calling tools after ${turns} turns (--max-turns ${turns}); ` +
        `no final answer`,
    );
    this.name = "MaxTurnsError";
  }
}

/** What one run needs. */
export interface LoopOptions {
  model: Model;
  /** The model's name on the endpoint. */
  modelName: string;
  tools: ToolBox;
  output: Output;
  /** Most model calls. */
  maxTurns: number;
  /** The conversation so far (system prompt and task); grows as the run goes. */
  messages: Message[];
  signal?: AbortSignal;
}

/** The system prompt: the workspace and how to work in it. */
export function systemPrompt(root: string): string {
  return `You are a coding agent working in the workspace ${root}.
Use the tools to explore, change and check the code: grep_search to find text, glob to find
files, list_directory, read_file (lines come numbered), edit and write_file to change files,
run_shell_command to build and test. Paths are relative to the workspace (or absolute inside
it); nothing outside it can be read or written. Read a file before editing it and copy
old_string exactly. When the task is done, answer briefly, without calling a tool.`;
}

/** Arguments as they go back into the history: always a JSON object text. */
function historyArguments(call: ToolCall): string {
  try {
    const v = JSON.parse(call.arguments);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return call.arguments;
  } catch {
    // not JSON
  }
  // Servers parse these again to render the chat template; a malformed
  // string would fail the next request. The tool's error names the problem.
  return "{}";
}

/**
 * Runs the conversation to its end.
 * @returns The answer and the counts and times of the run.
 * @throws {MaxTurnsError} When the model still calls tools after `maxTurns`.
 * @throws Whatever {@link Model.complete} throws (endpoint failures, interruption).
 */
export async function runLoop(o: LoopOptions): Promise<RunSummary> {
  const summary: RunSummary = {
    answer: "",
    turns: 0,
    toolCalls: 0,
    toolMs: 0,
    modelMs: 0,
    tools: {},
  };
  for (let turn = 1; turn <= o.maxTurns; turn++) {
    const started = performance.now();
    const reply = await o.model.complete(
      o.modelName,
      o.messages,
      TOOL_SCHEMAS,
      (d) => o.output.delta(d),
    );
    const latency = performance.now() - started;
    summary.modelMs += latency;
    summary.turns = turn;
    if (reply.content) {
      o.output.event({ type: "text", turn, text: reply.content, latency_ms: roundMs(latency) });
    }
    const calls = reply.toolCalls.map((c, i) => ({ ...c, id: c.id || `call_${turn}_${i}` }));
    if (calls.length === 0) {
      o.messages.push({ role: "assistant", content: reply.content });
      summary.answer = reply.content;
      return summary;
    }
    o.messages.push({
      role: "assistant",
      content: reply.content || null,
      tool_calls: calls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: historyArguments(c) },
      })),
    });
    if (turn === o.maxTurns) break; // no turn left to read what the tools would say
    for (const call of calls) {
      o.output.event({ type: "tool_call", turn, ...call });
      const t0 = performance.now();
      const result = await o.tools.run(call.name, call.arguments);
      const ms = performance.now() - t0;
      if (o.signal?.aborted) throw o.signal.reason;
      summary.toolCalls++;
      summary.toolMs += ms;
      const tally = summary.tools[call.name] ??= { calls: 0, errors: 0, ms: 0 };
      tally.calls++;
      tally.ms += ms;
      if (!result.ok) tally.errors++;
      o.output.event({
        type: "tool_result",
        turn,
        id: call.id,
        name: call.name,
        ok: result.ok,
        latency_ms: roundMs(ms),
        content: result.content,
      });
      o.messages.push({ role: "tool", tool_call_id: call.id, content: result.content });
    }
  }
  throw new MaxTurnsError(o.maxTurns);
}
