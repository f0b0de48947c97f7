/**
 * What the user sees: on a terminal, the assistant's text on stdout as it
 * arrives and one line per tool call on stderr; with `--json`, one JSON
 * event per line on stdout. Both end with the one-line summary on stderr.
 * @module
 */

/** Time and counts of one tool over a run. */
export interface ToolTally {
  calls: number;
  errors: number;
  ms: number;
}

/** How a run went, for the summary line and the final event. */
export interface RunSummary {
  /** The model's last text: its answer. */
  answer: string;
  /** Model calls made. */
  turns: number;
  toolCalls: number;
  /** Milliseconds spent in tools, and waiting for the model. */
  toolMs: number;
  modelMs: number;
  /** Per tool name. */
  tools: Record<string, ToolTally>;
}

/** An event of the run, as `--json` prints it (one per line). */
export type AgentEvent =
  | { type: "start"; model: string; base_url: string; backend: string; workspace: string }
  | { type: "text"; turn: number; text: string; latency_ms: number }
  | { type: "tool_call"; turn: number; id: string; name: string; arguments: string }
  | {
    type: "tool_result";
    turn: number;
    id: string;
    name: string;
    ok: boolean;
    latency_ms: number;
    content: string;
  }
  | {
    type: "final";
    text: string;
    turns: number;
    tool_calls: number;
    tool_ms: number;
    model_ms: number;
    tools: Record<string, ToolTally>;
  }
  | { type: "error"; message: string };

/** Receives the run's events. */
export interface Output {
  /** A piece of assistant text as it streams in. */
  delta(text: string): void;
  /** Anything else that happened. */
  event(e: AgentEvent): void;
}

const encoder = new TextEncoder();
const write = (stream: { writeSync(b: Uint8Array): number }, text: string) => {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) done += stream.writeSync(bytes.subarray(done));
};

/** Rounds milliseconds for display and events. */
export const roundMs = (ms: number) => Math.round(ms * 100) / 100;

/** The one-line summary printed on stderr at the end. */
export function summaryLine(s: RunSummary, backend: string): string {
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? "" : "s"}`;
  return `agent: ${n(s.turns, "turn")}, ${n(s.toolCalls, "tool call")}, ` +
    `tools ${roundMs(s.toolMs)} ms vs model ${roundMs(s.modelMs)} ms (backend: ${backend})`;
}

/** One JSON object per line on stdout. */
export class JsonOutput implements Output {
  delta(): void {}
  event(e: AgentEvent): void {
    write(Deno.stdout, JSON.stringify(e) + "\n");
    // A person watching the terminal reads stderr.
    if (e.type === "error") write(Deno.stderr, `agent: error: ${e.message}\n`);
  }
}

/** Text on stdout as it streams, tool activity on stderr. */
export class TerminalOutput implements Output {
  #atLineStart = true;

  delta(text: string): void {
    if (text === "") return;
    write(Deno.stdout, text);
    this.#atLineStart = text.endsWith("\n");
  }

  event(e: AgentEvent): void {
    switch (e.type) {
      case "text": // the text itself went out as deltas; end its line
        if (!this.#atLineStart) this.delta("\n");
        break;
      case "tool_call":
        write(Deno.stderr, `[${e.name}] ${oneLine(e.arguments, 160)}\n`);
        break;
      case "tool_result":
        write(
          Deno.stderr,
          `[${e.name}] ${e.ok ? "ok" : oneLine(e.content, 200)} (${roundMs(e.latency_ms)} ms)\n`,
        );
        break;
      case "error":
        if (!this.#atLineStart) this.delta("\n");
        write(Deno.stderr, `agent: error: ${e.message}\n`);
        break;
    }
  }
}

/** `text` on one line, cut at `max` characters. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max) + "…" : flat;
}
