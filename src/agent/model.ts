/**
 * The model side: one OpenAI-compatible chat-completions endpoint (vLLM,
 * or any server speaking that API) through the official `openai` package,
 * with tool calling, streaming, and retries with backoff for the failures
 * that pass (429, 5xx, a connection refused while a server restarts).
 * @module
 */
import OpenAI from "npm:openai@5.23.2";
import type { ToolSchema } from "./schemas.ts";

/** A chat message, as the API takes it. */
export type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** One tool call the model asked for. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them (meant to be a JSON object). */
  arguments: string;
}

/** The model's answer in one turn. */
export interface AssistantReply {
  content: string;
  toolCalls: ToolCall[];
}

/** The endpoint failed for good: the agent stops with this message. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelError";
  }
}

/** Ctrl-C (or another abort) stopped a request. */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** How to reach the endpoint. */
export interface ModelOptions {
  baseURL: string;
  apiKey?: string;
  /** Stream replies (text reaches `onText` as it arrives). */
  stream: boolean;
  /** Attempts after the first for 429, 5xx and connection failures. */
  retries: number;
  /** First backoff; it doubles with each retry (a Retry-After header wins). */
  retryBaseMs: number;
  signal?: AbortSignal;
  /** Told of each retry before its wait, in one line a user can read. */
  onRetry?: (line: string) => void;
}

/** Longest wait between attempts, whatever the server asks for. */
const MAX_BACKOFF_MS = 60_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", stop);
      resolve();
    }
    function stop() {
      clearTimeout(timer);
      reject(new Interrupted());
    }
    signal?.addEventListener("abort", stop, { once: true });
  });

/** A chat-completions endpoint. */
export class Model {
  #client: OpenAI;

  constructor(readonly options: ModelOptions) {
    this.#client = new OpenAI({
      baseURL: options.baseURL,
      // vLLM without --api-key accepts anything; the package insists on one.
      apiKey: options.apiKey || "EMPTY",
      maxRetries: 0, // retried here, with a backoff the tests can shorten
    });
  }

  /**
   * The first model the endpoint lists (`GET /models`): vLLM serves one.
   * @throws {ModelError} When the list cannot be had or is empty.
   */
  async defaultModel(): Promise<string> {
    const page = await this.#attempt(
      "GET /models",
      () => this.#client.models.list({ signal: this.options.signal }),
    );
    const id = page.data[0]?.id;
    if (!id) throw new ModelError(`${this.options.baseURL}/models lists no model; pass --model`);
    return id;
  }

  /**
   * Sends the conversation and returns the model's reply; streamed text
   * goes to `onText` as it arrives.
   * @throws {ModelError} When the endpoint fails for good.
   * @throws {Interrupted} When the signal aborts.
   */
  async complete(
    model: string,
    messages: Message[],
    tools: ToolSchema[],
    onText: (delta: string) => void,
  ): Promise<AssistantReply> {
    const body = { model, messages, tools, tool_choice: "auto" as const };
    const signal = this.options.signal;
    if (!this.options.stream) {
      const r = await this.#attempt(
        "chat completion",
        () => this.#client.chat.completions.create({ ...body, stream: false }, { signal }),
      );
      const m = r.choices[0]?.message;
      if (!m) throw new ModelError("the endpoint answered with no choices");
      if (m.content) onText(m.content);
      const calls = (m.tool_calls ?? []).flatMap((c) => c.type === "function" ? [c] : []);
      return {
        content: m.content ?? "",
        toolCalls: calls.map((c) => ({
          id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
        })),
      };
    }
    const stream = await this.#attempt(
      "chat completion",
      () => this.#client.chat.completions.create({ ...body, stream: true }, { signal }),
    );
    let content = "";
    const calls: ToolCall[] = [];
    try {
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta;
        if (!delta) continue;
        if (delta.content) {
          content += delta.content;
          onText(delta.content);
        }
        // A call arrives in pieces keyed by index: id and name first, then
        // the arguments a few characters at a time.
        for (const d of delta.tool_calls ?? []) {
          const call = calls[d.index] ??= { id: "", name: "", arguments: "" };
          if (d.id) call.id = d.id;
          // Some servers repeat the whole name in every chunk; others split it.
          const name = d.function?.name;
          if (name && name !== call.name) call.name += name;
          if (d.function?.arguments) call.arguments += d.function.arguments;
        }
      }
    } catch (err) {
      throw this.#fatal("chat completion", err);
    }
    return { content, toolCalls: calls.filter(Boolean) };
  }

  /** Runs `request`, retrying what may pass; everything else is fatal. */
  async #attempt<T>(what: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return await request();
      } catch (err) {
        const transient = err instanceof OpenAI.APIConnectionError ||
          (err instanceof OpenAI.APIError &&
            (err.status === 429 || (err.status !== undefined && err.status >= 500)));
        if (!transient || attempt >= this.options.retries || this.options.signal?.aborted) {
          throw this.#fatal(what, err, attempt + 1);
        }
        const wait = this.#backoff(err, attempt);
        this.options.onRetry?.(
          `model endpoint ${this.options.baseURL} ${failure(err)}; ` +
            `retry ${attempt + 1}/${this.options.retries} in ${seconds(wait)}`,
        );
        await sleep(wait, this.options.signal);
      }
    }
  }

  /** How long to wait before retry number `attempt + 1`. */
  #backoff(err: unknown, attempt: number): number {
    const headers = err instanceof OpenAI.APIError ? err.headers : undefined;
    const ms = Number(headers?.get("retry-after-ms"));
    const secs = Number(headers?.get("retry-after"));
    const asked = ms > 0 ? ms : secs > 0 ? secs * 1000 : undefined;
    return Math.min(asked ?? this.options.retryBaseMs * 2 ** attempt, MAX_BACKOFF_MS);
  }

  /** The error to stop with, with a message a user can act on. */
  #fatal(what: string, err: unknown, attempts = 1): Error {
    if (err instanceof OpenAI.APIUserAbortError || this.options.signal?.aborted) {
      return new Interrupted();
    }
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
    const url = this.options.baseURL;
    if (err instanceof OpenAI.APIConnectionError) {
      return new ModelError(
        `cannot reach the model endpoint ${url}${tries}: ${connectionCause(err)}. ` +
          `Is a model server running there? Start vLLM (\`vllm serve MODEL ` +
          `--enable-auto-tool-choice --tool-call-parser hermes\` listens on ` +
          `http://localhost:8000/v1) or pass --base-url (or set $OPENAI_BASE_URL)`,
      );
    }
    if (err instanceof OpenAI.APIError && err.status !== undefined) {
      return new ModelError(
        `${what} failed: the endpoint ${url} answered HTTP ${err.status}${tries}: ${err.message}`,
      );
    }
    return new ModelError(`${what} failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

/**
 * Why a connection failed, from the innermost cause: the package says only
 * "Connection error." and fetch "fetch failed"; Deno's own error under them
 * names the reason (e.g. "tcp connect error: Connection refused (os error 111)").
 */
function connectionCause(err: Error): string {
  let inner: unknown = err;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const text = inner instanceof Error ? inner.message : String(inner);
  if (/connection refused/i.test(text)) return "connection refused";
  if (/dns error|failed to lookup address/i.test(text)) {
    return "host name not found (DNS lookup failed)";
  }
  if (/timed out/i.test(text)) return "connection timed out";
  return text;
}

/** What went wrong in an attempt that will be retried, as "model endpoint URL ..." continues. */
function failure(err: unknown): string {
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = connectionCause(err);
    return cause === "connection refused" ? "refused the connection" : `is unreachable: ${cause}`;
  }
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    return `answered HTTP ${err.status}`;
  }
  return `failed (${(err as Error)?.message ?? String(err)})`;
}

/** A wait for people: "2 s", "1.5 s", "250 ms". */
function seconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Math.round(ms)} ms`;
}
