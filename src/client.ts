/**
 * A client for the curserve daemon (see docs/PROTOCOL.md): JSON-RPC 2.0
 * over a Unix socket, many requests in flight on one connection.
 * @module
 */
import { concatBytes } from "./bytes.ts";

/** A JSON-RPC error answered by the daemon, with its `data` member if any
 * (e.g. `{fallback}` for a search only the real rg answers). */
export class DaemonError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = "DaemonError";
  }
}

/** A notification from the daemon (e.g. `progress` while a workspace loads). */
export interface DaemonNotification {
  method: string;
  params: Record<string, unknown>;
}

/** One connection to a running daemon. */
export class DaemonClient {
  #conn: Deno.UnixConn;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners: ((n: DaemonNotification) => void)[] = [];
  #writing = Promise.resolve();
  #closed = false;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#read();
  }

  /**
   * Connects to the daemon listening at `socketPath`.
   * @throws {Deno.errors.NotFound} or `ConnectionRefused` when none listens.
   */
  static async connect(socketPath: string): Promise<DaemonClient> {
    return new DaemonClient(await Deno.connect({ transport: "unix", path: socketPath }));
  }

  /**
   * Sends one request and waits for its answer.
   * @throws {DaemonError} With the daemon's error code and message.
   */
  request<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new DaemonError(-32000, "connection is closed"));
    const id = this.#nextId++;
    const line = new TextEncoder().encode(
      JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n",
    );
    const answer = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.#writing = this.#writing.then(async () => {
      try {
        for (let done = 0; done < line.length;) done += await this.#conn.write(line.subarray(done));
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    return answer;
  }

  /** Calls `fn` for each notification. */
  onNotification(fn: (n: DaemonNotification) => void): void {
    this.#listeners.push(fn);
  }

  /** Closes the connection; pending requests fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#fail(new DaemonError(-32000, "connection closed"));
  }

  #fail(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  async #read(): Promise<void> {
    // Lines are framed as bytes: only each new chunk is searched for the
    // end of line, and a line is decoded once, when whole (a 1 MB answer
    // comes in many chunks; re-scanning a growing string for each one took
    // about 10 ms).
    const decoder = new TextDecoder();
    let parts: Uint8Array[] = [];
    try {
      for await (let chunk of this.#conn.readable) {
        let nl: number;
        while ((nl = chunk.indexOf(10)) >= 0) {
          parts.push(chunk.subarray(0, nl));
          const line = decoder.decode(parts.length === 1 ? parts[0] : concatBytes(parts));
          parts = [];
          chunk = chunk.subarray(nl + 1);
          if (line.trim()) this.#message(JSON.parse(line));
        }
        // A copy: nothing promises that the stream will not reuse its chunk.
        if (chunk.length) parts.push(chunk.slice());
      }
    } catch {
      // connection reset: handled below
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#fail(new DaemonError(-32000, "the daemon closed the connection"));
    }
  }

  #message(
    msg: {
      id?: number;
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
      method?: string;
      params?: Record<string, unknown>;
    },
  ): void {
    if (msg.id === undefined || msg.id === null) {
      if (msg.method) {
        for (const fn of this.#listeners) fn({ method: msg.method, params: msg.params ?? {} });
      }
      return;
    }
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) {
      pending.reject(new DaemonError(msg.error.code, msg.error.message, msg.error.data));
    } else pending.resolve(msg.result);
  }
}
