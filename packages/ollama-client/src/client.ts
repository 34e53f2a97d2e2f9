import { OllamaError } from "./errors.js";
import { ChatChunk, EmbedResponse, GenerateChunk, PsResponse, ShowResponse, TagsResponse, VersionResponse, type Logprob, type ToolCall } from "./schemas.js";
import { Transport, type CallOptions } from "./transport.js";
import { validateVectors, vectorTexts } from "./validate.js";

export interface OllamaClientOptions {
  url: string;
  /** Name used in errors and logs. */
  instance: string;
  /** Keep-alive connections for inference (default 8). */
  connections?: number;
}

export interface EmbedParams {
  model: string;
  input: string[];
  dimensions?: number;
  truncate?: boolean;
  options?: Record<string, unknown>;
  keep_alive?: string | number;
}

export interface EmbedOutput {
  embeddings: number[][];
  /** Each vector's JSON text as the instance sent it (see vectorTexts). */
  vectorTexts: string[];
  promptEvalCount: number;
  /** Ollama's load_duration in ms: waiting for the scheduler and loading the model; undefined when it did not say. */
  loadMs: number | undefined;
}

export interface GenerateParams {
  model: string;
  prompt: string;
  /** Fill-in-the-middle: the text after the insertion point (models with the `insert` capability). */
  suffix?: string;
  /** The prompt as is, without the model's template. */
  raw?: boolean;
  /** Base64 images for a vision model. */
  images?: string[];
  system?: string;
  options?: Record<string, unknown>;
  format?: "json" | Record<string, unknown>;
  think?: boolean | string;
  /** false: refuse a prompt longer than num_ctx instead of cutting it. */
  truncate?: boolean;
  /** false: stop at the end of num_ctx instead of shifting the context. */
  shift?: boolean;
  /** Each generated token's log probability, and the `top_logprobs` likeliest tokens at its position. */
  logprobs?: boolean;
  top_logprobs?: number;
  keep_alive?: string | number;
}

export interface ChatParams {
  model: string;
  messages: Array<{ role: string; content: string; images?: string[]; tool_calls?: unknown[]; tool_name?: string; tool_call_id?: string; thinking?: string }>;
  /** Tools the model may call, in Ollama's (OpenAI's function-tool) shape. */
  tools?: unknown[];
  options?: Record<string, unknown>;
  format?: "json" | Record<string, unknown>;
  think?: boolean | string;
  /** false: refuse a conversation longer than num_ctx instead of dropping its oldest messages. */
  truncate?: boolean;
  /** false: stop at the end of num_ctx instead of shifting the context. */
  shift?: boolean;
  logprobs?: boolean;
  top_logprobs?: number;
  keep_alive?: string | number;
}

export interface GenerationOutput {
  text: string;
  /** The tools the model called (chat with tools), in the order it called them. */
  toolCalls: ToolCall[];
  /** A thinking model's thinking, apart from `text` ("" when it did not think). */
  thinking: string;
  doneReason: string | undefined;
  promptEvalCount: number;
  evalCount: number;
  /**
   * What Ollama's durations say of the call, in ms: how long it held the call before running it
   * (see heldBeforeRunningMs) and how long it ran it (prompt eval + eval). Undefined when it did not say.
   */
  ollamaTiming: { heldMs: number; runMs: number } | undefined;
  /** Ollama's load_duration in ms (see EmbedOutput.loadMs). */
  loadMs: number | undefined;
  /** Every chunk's log probabilities in order (thinking and text tokens), when the call asked for them. */
  logprobs: Logprob[];
}

export interface StreamOptions extends CallOptions {
  /** Called with each piece of text as Ollama produces it. */
  onToken?: (piece: string) => void;
  /** Called with each piece of a thinking model's thinking (streamed calls only). */
  onThinking?: (piece: string) => void;
  /** Called with each chunk's log probabilities, after its thinking and text (streamed calls only). */
  onLogprobs?: (entries: Logprob[]) => void;
}

export interface ModelInfo {
  capabilities: string[] | undefined;
  family: string | undefined;
  embeddingLength: number | undefined;
  /**
   * The context the model runs with when a request sets no num_ctx, at most: the length it was
   * trained for (model_info), or its Modelfile's num_ctx when smaller (all-minilm: 512, num_ctx 256).
   */
  contextLength: number | undefined;
}

function parseOrThrow<T>(schema: { safeParse: (value: unknown) => { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, value: unknown, instance: string, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new OllamaError("invalid_response", `${what}: ${issue ? `${issue.path.map(String).join(".")} ${issue.message}` : "unexpected shape"}`, instance);
}

/** The durations (ns) Ollama reports on a final chunk; it leaves out those that are zero. */
interface Durations {
  total_duration?: number | undefined;
  load_duration?: number | undefined;
  prompt_eval_duration?: number | undefined;
  eval_duration?: number | undefined;
}

const msOf = (ns: number | undefined) => (ns === undefined ? undefined : ns / 1e6);

/**
 * What a generation's durations say, in ms: how long it ran (prompt eval + eval) and how long
 * Ollama held it before running it (total − load − run). What the total leaves is the wait for
 * one of the model's parallel slots (its runner's semaphore), which only total_duration includes,
 * plus a few ms of handling. Undefined without total_duration (a load-only answer reports none).
 */
function ollamaTimingOf(final: Durations): GenerationOutput["ollamaTiming"] {
  if (final.total_duration === undefined) return undefined;
  const runNs = (final.prompt_eval_duration ?? 0) + (final.eval_duration ?? 0);
  return { heldMs: Math.max(0, final.total_duration - (final.load_duration ?? 0) - runNs) / 1e6, runMs: runNs / 1e6 };
}

/** How long Ollama held a generation before running it, in ms (see ollamaTimingOf). */
export function heldBeforeRunningMs(final: Durations): number | undefined {
  return ollamaTimingOf(final)?.heldMs;
}

/** A typed, validating client for one Ollama instance. */
export class OllamaClient {
  readonly #transport: Transport;
  readonly instance: string;
  readonly url: string;

  constructor(options: OllamaClientOptions) {
    this.instance = options.instance;
    this.url = options.url;
    this.#transport = new Transport({ url: options.url, instance: options.instance, connections: options.connections ?? 8 });
  }

  probe(timeoutMs: number): Promise<number> {
    return this.#transport.probe(timeoutMs);
  }

  async version(call: CallOptions): Promise<string> {
    return parseOrThrow(VersionResponse, await this.#transport.json("GET", "/api/version", undefined, call), this.instance, "/api/version").version;
  }

  /**
   * Any other endpoint, answered as Ollama sent it (parsed JSON), for passing through: /api/show,
   * /api/ps. A non-2xx answer throws an OllamaError carrying the status.
   */
  async passthrough(method: "GET" | "POST", path: string, body: unknown, call: CallOptions): Promise<unknown> {
    return this.#transport.json(method, path, body, call);
  }

  async tags(call: CallOptions): Promise<TagsResponse> {
    return parseOrThrow(TagsResponse, await this.#transport.json("GET", "/api/tags", undefined, call), this.instance, "/api/tags");
  }

  /** The names of the models loaded now (/api/ps), as Ollama spells them. */
  async loadedModels(call: CallOptions): Promise<string[]> {
    return parseOrThrow(PsResponse, await this.#transport.json("GET", "/api/ps", undefined, call), this.instance, "/api/ps").models.map((model) => model.name);
  }

  /** /api/show condensed to what routing needs: capabilities and vector/context sizes. */
  async modelInfo(model: string, call: CallOptions): Promise<ModelInfo> {
    return (await this.show(model, call)).info;
  }

  /** /api/show as Ollama answered it (`body`), and condensed (`info`). */
  async show(model: string, call: CallOptions): Promise<{ info: ModelInfo; body: unknown }> {
    const body = await this.#transport.json("POST", "/api/show", { model }, call);
    return { info: condenseShow(parseOrThrow(ShowResponse, body, this.instance, "/api/show")), body };
  }
  /**
   * /api/embed with response validation: one vector per input, all the same length (the
   * expected one when known), every value a finite number.
   */
  async embed(params: EmbedParams, call: CallOptions & { expectedLength?: number }): Promise<EmbedOutput> {
    const { value, text } = await this.#transport.jsonWithText("POST", "/api/embed", params, call);
    const response = parseOrThrow(EmbedResponse, value, this.instance, "/api/embed");
    const embeddings = validateVectors(response.embeddings, params.input.length, call.expectedLength, this.instance);
    return { embeddings, vectorTexts: vectorTexts(text, embeddings), promptEvalCount: response.prompt_eval_count ?? 0, loadMs: msOf(response.load_duration) };
  }

  async generate(params: GenerateParams, call: StreamOptions): Promise<GenerationOutput> {
    return this.#generation("/api/generate", params, call, (line) => {
      const chunk = parseOrThrow(GenerateChunk, line, this.instance, "/api/generate");
      return { piece: chunk.response, chunk, thinking: chunk.thinking };
    });
  }

  async chat(params: ChatParams, call: StreamOptions): Promise<GenerationOutput> {
    return this.#generation("/api/chat", params, call, (line) => {
      const chunk = parseOrThrow(ChatChunk, line, this.instance, "/api/chat");
      return { piece: chunk.message.content, chunk, toolCalls: chunk.message.tool_calls ?? undefined, thinking: chunk.message.thinking };
    });
  }

  /** Streams when the caller wants tokens, otherwise asks for one JSON body. */
  async #generation(
    path: string,
    params: GenerateParams | ChatParams,
    call: StreamOptions,
    read: (line: unknown) => { piece: string; chunk: GenerateChunk | ChatChunk; toolCalls?: ToolCall[] | undefined; thinking?: string | undefined },
  ): Promise<GenerationOutput> {
    const pieces: string[] = [];
    const thoughts: string[] = [];
    // A streamed chat may report its calls in any chunk (one per chunk, or all in one).
    const toolCalls: ToolCall[] = [];
    const logprobs: Logprob[] = [];
    let final: GenerateChunk | ChatChunk | undefined;
    const take = (line: unknown, streaming: boolean) => {
      const { piece, chunk, toolCalls: calls, thinking } = read(line);
      if (thinking) {
        thoughts.push(thinking);
        if (streaming) call.onThinking?.(thinking);
      }
      if (piece) {
        pieces.push(piece);
        if (streaming) call.onToken?.(piece);
      }
      if (chunk.logprobs && chunk.logprobs.length > 0) {
        logprobs.push(...chunk.logprobs);
        if (streaming) call.onLogprobs?.(chunk.logprobs);
      }
      if (calls) toolCalls.push(...calls);
      if (chunk.done || !streaming) final = chunk;
    };
    if (call.onToken) {
      await this.#transport.ndjson(path, { ...params, stream: true }, call, (line) => take(line, true));
    } else {
      // Without streaming, headers arrive with the finished answer: the slot is free by then.
      take(await this.#transport.json("POST", path, { ...params, stream: false }, call), false);
    }
    if (!final?.done) throw new OllamaError("invalid_response", `${path}: stream ended without a final chunk`, this.instance);
    return {
      text: pieces.join(""),
      toolCalls,
      thinking: thoughts.join(""),
      doneReason: final.done_reason,
      promptEvalCount: final.prompt_eval_count ?? 0,
      evalCount: final.eval_count ?? 0,
      ollamaTiming: ollamaTimingOf(final),
      loadMs: msOf(final.load_duration),
      logprobs,
    };
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}

/** What routing needs of an /api/show answer: capabilities and vector/context sizes. */
function condenseShow(show: ShowResponse): ModelInfo {
  const info = show.model_info ?? {};
  const architecture = typeof info["general.architecture"] === "string" ? info["general.architecture"] : show.details?.family;
  const numberField = (suffix: string) => {
    const value = architecture ? info[`${architecture}.${suffix}`] : undefined;
    return typeof value === "number" ? value : undefined;
  };
  const trained = numberField("context_length");
  const modelfile = Number(/^num_ctx\s+(\d+)\s*$/m.exec(show.parameters ?? "")?.[1] ?? Number.NaN);
  const contextLength = Number.isInteger(modelfile) && modelfile > 0 ? Math.min(modelfile, trained ?? Number.POSITIVE_INFINITY) : trained;
  return {
    capabilities: show.capabilities,
    family: architecture,
    embeddingLength: numberField("embedding_length"),
    contextLength,
  };
}
