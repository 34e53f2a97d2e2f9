import type { JobRequest } from "@herd/jobs";
import { HerdError } from "./errors.js";
import { IngestionReader, type IngestionReaderOptions } from "./ingestion-reader.js";
import type { Accepted, AnswerEvent, AnswerOptions, AnswerResult, Collection, DocumentView, IngestionSummary, JobView, SearchResponse, UploadDocument, UploadOptions } from "./types.js";

export interface HerdClientOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:8008. */
  baseUrl: string;
  /** Headers sent with every request (e.g. an Authorization header). */
  headers?: Record<string, string>;
  /** Longest single long-poll, in ms (the server caps it too). */
  longPollMs?: number;
}

export interface WaitOptions {
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const FINISHED = new Set(["completed", "failed", "canceled"]);
/** Statuses that refuse a request for now, not for good (Herd sends Retry-After with each). */
const RETRY_LATER = new Set([429, 503]);

/** The HerdError of a response that is not 2xx, from its `{ error: { code, message } }` body. */
function errorOf(response: Response, body: unknown): HerdError {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const retryAfter = Number(response.headers.get("retry-after"));
  return new HerdError(response.status, error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
}

/** The optional fields of an answer request that were given. */
function answerFields({ k, filter, history }: AnswerOptions): AnswerOptions {
  return { ...(k ? { k } : {}), ...(filter ? { filter } : {}), ...(history?.length ? { history } : {}) };
}

/** Typed access to Herd's native API: jobs, collections, ingestion, search and answers. */
export class HerdClient {
  readonly #baseUrl: string;
  readonly #headers: Record<string, string>;
  readonly #longPollMs: number;

  constructor(options: HerdClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    // Named so the API's metrics can count requests by client family; a caller's own header wins.
    this.#headers = { "user-agent": "herd-client", ...options.headers };
    this.#longPollMs = options.longPollMs ?? 20_000;
  }

  /** Sends a request; a transport failure (no answer at all) is HerdError `unreachable`. */
  async #fetch(method: string, path: string, init: { json?: unknown; body?: FormData; signal?: AbortSignal | undefined }): Promise<Response> {
    try {
      return await fetch(`${this.#baseUrl}${path}`, {
        method,
        headers: { ...this.#headers, ...(init.json !== undefined ? { "content-type": "application/json" } : {}) },
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : init.body ? { body: init.body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      throw new HerdError(0, "unreachable", `cannot reach Herd at ${this.#baseUrl}: ${(error as Error).message}`);
    }
  }

  async #request<T>(method: string, path: string, init: { json?: unknown; body?: FormData; signal?: AbortSignal; accept?: number[] } = {}): Promise<{ status: number; body: T }> {
    const response = await this.#fetch(method, path, init);
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok && !(init.accept ?? []).includes(response.status)) throw errorOf(response, body);
    return { status: response.status, body: body as T };
  }

  /** Submits a job. A cache hit (or a job that finished within `waitMs`) comes back as a job view. */
  async submit(request: JobRequest, options: { waitMs?: number } = {}): Promise<JobView | Accepted> {
    const query = options.waitMs ? `?wait=${Math.round(options.waitMs)}` : "";
    return (await this.#request<JobView | Accepted>("POST", `/v1/jobs${query}`, { json: request })).body;
  }

  async job(id: string, options: { waitMs?: number } = {}): Promise<JobView> {
    const query = options.waitMs ? `?wait=${Math.round(options.waitMs)}` : "";
    return (await this.#request<JobView>("GET", `/v1/jobs/${encodeURIComponent(id)}${query}`)).body;
  }

  async cancel(id: string): Promise<JobView> {
    return (await this.#request<JobView>("DELETE", `/v1/jobs/${encodeURIComponent(id)}`)).body;
  }

  /**
   * Waits for a job with long polls (one request per `longPollMs` at most); a 503 (Redis being
   * restarted) is retried with a growing pause.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<JobView> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    let pause = 250;
    for (;;) {
      options.signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new HerdError(0, "timeout", `job ${id} did not finish in time`);
      try {
        const view = await this.job(id, { waitMs: Math.min(this.#longPollMs, remaining) });
        if (FINISHED.has(view.status)) return view;
        pause = 250;
      } catch (error) {
        if (!(error instanceof HerdError) || (error.status !== 503 && error.status !== 0)) throw error;
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? pause));
        pause = Math.min(5000, pause * 2);
      }
    }
  }

  /**
   * Submits and waits; returns the finished job view (completed, failed or canceled). A submit
   * refused for now (503: Redis or every worker restarting; 429: queue or key limit full) is
   * retried after its Retry-After until `timeoutMs`, which covers the whole run. Retrying is safe:
   * an identical request still queued or cached is joined, not run twice.
   */
  async run(request: JobRequest, options: WaitOptions = {}): Promise<JobView> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    const submitted = await this.#untilAccepted(() => this.submit(request, { waitMs: Math.min(this.#longPollMs, Math.max(1, deadline - Date.now())) }), options, deadline);
    if ("type" in submitted && FINISHED.has(submitted.status)) return submitted;
    return this.wait(submitted.id as string, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
  }

  /**
   * Runs `attempt` again after each refusal for now (429, 503: after its Retry-After, else a
   * growing pause) until `deadline`; then, or on any other error, throws.
   */
  async #untilAccepted<T>(attempt: () => Promise<T>, options: WaitOptions, deadline = Date.now() + (options.timeoutMs ?? 300_000)): Promise<T> {
    let pause = 250;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof HerdError) || !RETRY_LATER.has(error.status)) throw error;
        const delay = error.retryAfterMs ?? pause;
        if (Date.now() + delay >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
        pause = Math.min(5000, pause * 2);
      }
    }
  }

  /** Embeddings for one or more texts, in order; throws a HerdError when the job fails. */
  async embed(model: string, input: string | string[], options: { dimensions?: number; priority?: "interactive" | "batch" } & WaitOptions = {}): Promise<number[][]> {
    const view = await this.run({ type: "embed", model, input, ...(options.dimensions ? { dimensions: options.dimensions } : {}), ...(options.priority ? { priority: options.priority } : {}) }, options);
    if (view.status !== "completed") throw new HerdError(200, view.error?.code ?? view.status, view.error?.message ?? `job ${view.status}`);
    return (view.result as { embeddings: number[][] }).embeddings;
  }

  async createCollection(input: { name: string; model: string; dimensions?: number; chunkTokens?: number; chunkOverlap?: number; language?: string; queryPrefix?: string; documentPrefix?: string }): Promise<Collection> {
    return (await this.#request<Collection>("POST", "/v1/collections", { json: input })).body;
  }

  /**
   * A page of the collection's documents in id order, with their ingestion state; pass `next` as
   * `after` for the following page (null: this was the last).
   */
  async documents(collection: string, page: { status?: DocumentView["status"]; after?: string; limit?: number } = {}): Promise<{ documents: DocumentView[]; next: string | null }> {
    const query = new URLSearchParams(Object.entries(page).flatMap(([key, value]): Array<[string, string]> => (value === undefined ? [] : [[key, String(value)]])));
    const suffix = query.size > 0 ? `?${query.toString()}` : "";
    return (await this.#request<{ documents: DocumentView[]; next: string | null }>("GET", `/v1/collections/${encodeURIComponent(collection)}/documents${suffix}`)).body;
  }

  /** Deletes a collection with its documents and chunks; false when there was none by that name. */
  async deleteCollection(name: string): Promise<boolean> {
    const { status } = await this.#request<unknown>("DELETE", `/v1/collections/${encodeURIComponent(name)}`, { accept: [404] });
    return status !== 404;
  }

  async collections(): Promise<Collection[]> {
    return (await this.#request<{ collections: Collection[] }>("GET", "/v1/collections")).body.collections;
  }

  /** The collection, or undefined when there is none by that name. */
  async collection(name: string): Promise<Collection | undefined> {
    const { status, body } = await this.#request<Collection>("GET", `/v1/collections/${encodeURIComponent(name)}`, { accept: [404] });
    return status === 404 ? undefined : body;
  }

  /**
   * Uploads documents (multipart) and starts their ingestion; returns the ingestion id. A
   * document's `mimeType` charset does not survive multipart: give legacy-encoded text files'
   * encoding as `fallbackCharset` (see UploadOptions). An upload
   * refused for now (503: Redis or the database restarting or full; 429) is sent again after its
   * Retry-After until `timeoutMs`. Sending it again is safe: documents already recorded with the
   * same content are not ingested twice.
   */
  async ingest(collection: string, documents: readonly UploadDocument[], metadata?: Record<string, unknown>, options: WaitOptions & UploadOptions = {}): Promise<string> {
    const form = new FormData();
    if (metadata) form.append("metadata", JSON.stringify(metadata));
    if (options.fallbackCharset) form.append("fallbackCharset", options.fallbackCharset);
    for (const document of documents) {
      const bytes = typeof document.data === "string" ? new TextEncoder().encode(document.data) : document.data;
      form.append("file", new Blob([bytes as Uint8Array<ArrayBuffer>], document.mimeType ? { type: document.mimeType } : {}), document.id);
    }
    const { body } = await this.#untilAccepted(() => this.#request<{ ingestionId: string }>("POST", `/v1/collections/${encodeURIComponent(collection)}/documents`, { body: form }), options);
    return body.ingestionId;
  }

  /** An ingestion's progress; a read refused for now (503) is retried as `ingest` does. */
  async ingestion(id: string, options: WaitOptions = {}): Promise<IngestionSummary> {
    return (await this.#untilAccepted(() => this.#request<IngestionSummary>("GET", `/v1/ingestions/${encodeURIComponent(id)}`), options)).body;
  }

  /**
   * Polls an ingestion until no document is pending, reporting each reading. The ingestion is
   * known to exist, so a 404 meanwhile is waited through (see IngestionReader).
   */
  async waitForIngestion(id: string, options: WaitOptions & { pollMs?: number; onProgress?: (summary: IngestionSummary) => void } & IngestionReaderOptions = {}): Promise<IngestionSummary> {
    const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
    const reader = new IngestionReader(this, options);
    for (;;) {
      const summary = await reader.read(id, { timeoutMs: Math.max(1, deadline - Date.now()), ...(options.signal ? { signal: options.signal } : {}) });
      if (summary) options.onProgress?.(summary);
      if (summary && summary.status !== "running") return summary;
      if (Date.now() > deadline) throw new HerdError(0, "timeout", `ingestion ${id} did not finish in time`);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }

  /**
   * Cancels an ingestion: the documents it still has pending end failed ("the ingestion was
   * canceled") and their queued embedding work is withdrawn. Returns how many it canceled.
   */
  async cancelIngestion(id: string): Promise<number> {
    return (await this.#request<{ canceled: number }>("DELETE", `/v1/ingestions/${encodeURIComponent(id)}`)).body.canceled;
  }

  async deleteDocument(collection: string, documentId: string): Promise<void> {
    await this.#request("DELETE", `/v1/collections/${encodeURIComponent(collection)}/documents/${documentId.split("/").map(encodeURIComponent).join("/")}`);
  }

  async search(collection: string, query: string, options: { k?: number; mode?: "vector" | "keyword" | "hybrid"; filter?: Record<string, unknown> } = {}): Promise<SearchResponse> {
    return (await this.#request<SearchResponse>("POST", `/v1/collections/${encodeURIComponent(collection)}/search`, { json: { query, ...options } })).body;
  }

  /** Asks a question answered from the collection; waits for the answer job. */
  async answer(collection: string, question: string, model: string, options: AnswerOptions & WaitOptions = {}): Promise<AnswerResult> {
    const { k, filter, history, ...wait } = options;
    const path = `/v1/collections/${encodeURIComponent(collection)}/answer?wait=${this.#longPollMs}`;
    const submitted = (await this.#request<JobView | Accepted>("POST", path, { json: { question, model, ...answerFields({ k, filter, history }) } })).body;
    const view = "type" in submitted && FINISHED.has(submitted.status) ? submitted : await this.wait(submitted.id as string, wait);
    if (view.status !== "completed") throw new HerdError(200, view.error?.code ?? view.status, view.error?.message ?? `answer ${view.status}`);
    return view.result as AnswerResult;
  }

  /**
   * Asks a question and streams the answer: its citations first, then each piece of text as the
   * model writes it, then `done` with the whole answer. A failure once streaming is thrown as a
   * HerdError; aborting `signal` stops the stream and cancels the answer's job.
   */
  async *answerStream(collection: string, question: string, model: string, options: AnswerOptions & { signal?: AbortSignal } = {}): AsyncGenerator<AnswerEvent> {
    const { signal, ...fields } = options;
    const response = await this.#fetch("POST", `/v1/collections/${encodeURIComponent(collection)}/answer`, { json: { question, model, stream: true, ...answerFields(fields) }, signal });
    if (!response.ok || !response.body) {
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw errorOf(response, body);
    }
    const decoder = new TextDecoder();
    let pending = "";
    let done = false;
    for await (const bytes of response.body) {
      pending += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, end).trim();
        pending = pending.slice(end + 1);
        if (!line) continue;
        const event = JSON.parse(line) as AnswerEvent | { error: { code: string; message: string } };
        if ("error" in event) throw new HerdError(response.status, event.error.code, event.error.message);
        if ("done" in event) done = true;
        yield event;
      }
    }
    // The connection closed before the last line (the API restarted, a proxy timed out).
    if (!done) throw new HerdError(0, "incomplete_stream", "the answer's stream ended before its last line");
  }
}
