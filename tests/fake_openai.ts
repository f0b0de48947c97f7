/**
 * A real HTTP server speaking the OpenAI chat-completions wire format, for
 * running the agent against scripted conversations: `GET /v1/models`, and
 * `POST /v1/chat/completions` answered either whole or streamed as
 * server-sent events, with each tool call split across several chunks (id
 * and name first, then the arguments in pieces) as vLLM sends them.
 *
 * A script is one function per request; it may assert on what the agent
 * sent (the tool results above all). Assertion failures are collected in
 * {@link FakeOpenAI.failures}, and the reply then ends the conversation,
 * so a test fails with the script's own message.
 *
 * @module
 */

/** A tool call in a scripted reply; `arguments` is sent as given if a string. */
export interface ScriptedCall {
  name: string;
  arguments: string | Record<string, unknown>;
  id?: string;
}

/** What the server answers to one chat-completions request. */
export type Reply =
  | { text?: string; toolCalls?: ScriptedCall[] }
  | { status: number; message?: string; headers?: Record<string, string> }
  /** Never answers (until the server closes): for Ctrl-C while waiting. */
  | { hang: true };

/** A message the agent sent (the tests read fields they know). */
// deno-lint-ignore no-explicit-any
export type WireMessage = any;

/** A chat-completions request body as received. */
export interface ChatRequest {
  model: string;
  stream?: boolean;
  messages: WireMessage[];
  tools?: { type: string; function: { name: string } }[];
}

/** Answers request number `index` (0-based); may throw to fail the test. */
export type Script = (req: ChatRequest, index: number) => Reply | Promise<Reply>;

/** A script that plays `steps` in order; a request past the end is a failure. */
export function sequence(...steps: ((req: ChatRequest) => Reply | Promise<Reply>)[]): Script {
  return (req, i) => {
    if (i >= steps.length) throw new Error(`unexpected request #${i + 1}: the script has ended`);
    return steps[i](req);
  };
}

/** A tool result the agent sent back, with the name of the tool that produced it. */
export interface ToolResult {
  id: string;
  name: string;
  content: string;
}

/** The tool results after the last assistant message, in call order. */
export function toolResults(req: ChatRequest): ToolResult[] {
  const lastAssistant = req.messages.findLastIndex((m) => m.role === "assistant");
  if (lastAssistant < 0) return [];
  const names = new Map<string, string>(
    (req.messages[lastAssistant].tool_calls ?? []).map((
      c: { id: string; function: { name: string } },
    ) => [c.id, c.function.name]),
  );
  return req.messages.slice(lastAssistant + 1).filter((m) => m.role === "tool").map((m) => ({
    id: m.tool_call_id,
    name: names.get(m.tool_call_id) ?? "?",
    content: String(m.content),
  }));
}

/** Splits `text` into `n` pieces of about equal length (some may be empty). */
function pieces(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size));
}

const MODEL = "fake-model";

/** The scripted server; `close()` it when done. */
export class FakeOpenAI {
  /** Every chat-completions request body, in arrival order. */
  readonly requests: ChatRequest[] = [];
  /** What the script's assertions said (empty when all held). */
  readonly failures: string[] = [];
  /** Resolves when a `{ hang: true }` reply is being held. */
  readonly hanging: Promise<void>;
  #hung!: () => void;
  #release: (() => void)[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  /**
   * Listens on 127.0.0.1, on a free port.
   * @param script Answers each chat-completions request.
   * @param models What `GET /models` lists.
   */
  constructor(readonly script: Script, readonly models: string[] = [MODEL]) {
    this.hanging = new Promise((r) => (this.#hung = r));
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** The base URL to give the agent (`http://127.0.0.1:PORT/v1`). */
  get baseURL(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Stops listening (held requests are answered with 503 first). */
  async close(): Promise<void> {
    for (const release of this.#release) release();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/v1/models") {
      return Response.json({
        object: "list",
        data: this.models.map((id) => ({ id, object: "model", created: 0, owned_by: "test" })),
      });
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      return Response.json({ error: { message: `no route ${req.method} ${path}` } }, {
        status: 404,
      });
    }
    const body = await req.json() as ChatRequest;
    const index = this.requests.push(body) - 1;
    let reply: Reply;
    try {
      reply = await this.script(body, index);
    } catch (err) {
      this.failures.push(`request #${index + 1}: ${(err as Error).message}`);
      reply = { text: `fake server: script failed at request #${index + 1}` };
    }
    if ("hang" in reply) {
      this.#hung();
      await new Promise<void>((r) => this.#release.push(r));
      return new Response("closing", { status: 503 });
    }
    if ("status" in reply) {
      return Response.json(
        {
          error: { message: reply.message ?? `scripted ${reply.status}`, type: "test", code: null },
        },
        { status: reply.status, headers: reply.headers },
      );
    }
    const calls = (reply.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${index}_${i}`,
      type: "function" as const,
      function: {
        name: c.name,
        arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments),
      },
    }));
    const text = reply.text ?? "";
    const finish = calls.length ? "tool_calls" : "stop";
    const head = { id: `chatcmpl-${index}`, created: 0, model: body.model };
    if (!body.stream) {
      return Response.json({
        ...head,
        object: "chat.completion",
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: text || null,
            ...(calls.length ? { tool_calls: calls } : {}),
          },
          finish_reason: finish,
        }],
      });
    }
    const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) =>
      `data: ${
        JSON.stringify({
          ...head,
          object: "chat.completion.chunk",
          choices: [{ index: 0, delta, finish_reason }],
        })
      }\n\n`;
    const events = [chunk({ role: "assistant", content: "" })];
    for (const piece of pieces(text, 3)) if (piece) events.push(chunk({ content: piece }));
    calls.forEach((c, i) => {
      events.push(chunk({
        tool_calls: [{
          index: i,
          id: c.id,
          type: "function",
          function: { name: c.function.name, arguments: "" },
        }],
      }));
      for (const piece of pieces(c.function.arguments, 3)) {
        events.push(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
      }
    });
    events.push(chunk({}, finish), "data: [DONE]\n\n");
    // One write per event: the client sees the call assembled over several reads.
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const e of events) controller.enqueue(encoder.encode(e));
        controller.close();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  }
}
