import { Router, type Request, type Response } from "express";
import type { ApiConfig, ModelPin } from "@herd/config";
import { normalizeModel, RUNNER_OPTION_NAMES, type JobRequest, type JobView, type Logprob, type ToolCall } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { isZeroDuration, type FleetInstances } from "../dropin/instances.js";
import { OllamaChatBody, OllamaEmbedBody, OllamaEmbeddingsBody, OllamaGenerateBody, generationRequest, parseBody, toJobRequest } from "../dropin/ollama-requests.js";
import { nanoseconds, requestContext, runCompleted, runStream, streamWriter } from "../dropin/respond.js";
import { generatedText, logprobsOf, thinkingOf, tokenCounts, toolCallsOf } from "../interactive.js";
import { pinOf } from "../prepare-job.js";
import { ensureServed } from "../submit.js";
import type { SyncDeps } from "../sync.js";

export interface DropInDeps extends SyncDeps {
  config: ApiConfig;
  instances: FleetInstances;
}

/** Paths of Ollama's API that Herd answers; errors on them take Ollama's shape (see server.ts). */
export const OLLAMA_PATHS = /^\/(api\/(embed|embeddings|generate|chat|tags|ps|show|version|pull|push|create|copy|delete|blobs(\/.*)?))?$/;

const MANAGEMENT = "model management is not offered through Herd: pull, create, copy and delete models on the Ollama instances themselves (herd doctor lists which instance lacks a model)";

type Mode = "generate" | "chat";

function counts(result: unknown): Record<string, unknown> {
  const body = (result ?? {}) as { done_reason?: string; prompt_eval_count?: number; eval_count?: number };
  return {
    done_reason: body.done_reason ?? "stop",
    // Ollama leaves zero metrics out.
    ...(body.prompt_eval_count ? { prompt_eval_count: body.prompt_eval_count } : {}),
    ...(body.eval_count ? { eval_count: body.eval_count } : {}),
  };
}

interface Extra {
  thinking?: string | undefined;
  toolCalls?: ToolCall[];
  logprobs?: Logprob[] | undefined;
}

/**
 * The generated part of a response line: text, and a thinking model's thinking, tool calls and
 * log probabilities when there are any (the latter beside the message, as Ollama puts them).
 */
function content(mode: Mode, text: string, extra: Extra = {}): Record<string, unknown> {
  const thinking = extra.thinking ? { thinking: extra.thinking } : {};
  const logprobs = extra.logprobs && extra.logprobs.length > 0 ? { logprobs: extra.logprobs } : {};
  if (mode === "generate") return { response: text, ...thinking, ...logprobs };
  const toolCalls = extra.toolCalls && extra.toolCalls.length > 0 ? { tool_calls: extra.toolCalls } : {};
  return { message: { role: "assistant", content: text, ...thinking, ...toolCalls }, ...logprobs };
}

/**
 * The options a load is sent with: the runner options the request names (what Ollama loads the
 * model with; a load without them would be undone by the request's next call), with the model's
 * pinned ones in their place. Undefined when there are none.
 */
function loadOptions(pinned: ModelPin["options"] | undefined, requested: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const runner = Object.entries(requested ?? {}).filter(([key]) => (RUNNER_OPTION_NAMES as readonly string[]).includes(key));
  const options = { ...Object.fromEntries(runner), ...pinned };
  return Object.keys(options).length > 0 ? options : undefined;
}

/**
 * Answers an empty prompt (or no messages) the way Ollama does, for the fleet: the model is
 * loaded on every instance serving it (with the request's keep_alive, so `-1` keeps it, unless
 * HERD_MODEL_OPTIONS pins one), or unloaded from all of them with `keep_alive: 0` (what
 * `ollama stop` sends); nothing is generated.
 */
async function loadOnly(deps: DropInDeps, res: Response, body: { model: string; options?: Record<string, unknown> | undefined; keep_alive?: string | number | undefined }, mode: Mode): Promise<void> {
  const unload = isZeroDuration(body.keep_alive);
  const model = normalizeModel(body.model);
  try {
    await ensureServed(deps, model, "generate");
  } catch (error) {
    // Ollama unloads any model this way, an embedding model too (what `ollama stop` sends for one).
    if (!unload || !(error instanceof ApiError) || error.code !== "model_not_served") throw error;
    await ensureServed(deps, model, "embed");
  }
  // An unload (keep_alive 0, what `ollama stop` sends) is an operator's act and stays one; a load
  // keeps the model as long as the pin says, like every job for it.
  const pin = unload ? undefined : pinOf(deps.config.modelOptions, model);
  await deps.instances.setLoaded(body.model, mode, pin?.keepAlive ?? body.keep_alive, deps.config.syncTimeoutMs, unload ? undefined : loadOptions(pin?.options, body.options));
  res.json({ model: body.model, created_at: new Date().toISOString(), ...content(mode, ""), done: true, done_reason: unload ? "unload" : "load" });
}

async function generation(deps: DropInDeps, req: Request, res: Response, request: JobRequest, model: string, mode: Mode, stream: boolean): Promise<void> {
  const started = performance.now();
  const context = requestContext(deps.config, req, res);
  const final = (view: JobView, text: string, extra?: Extra) => ({ model, created_at: new Date().toISOString(), ...content(mode, text, extra), done: true, ...counts(view.result), total_duration: nanoseconds(performance.now() - started) });
  if (!stream) {
    const view = await runCompleted(deps, request, context);
    res.json(final(view, generatedText(view.result), { thinking: thinkingOf(view.result), toolCalls: toolCallsOf(view.result), logprobs: logprobsOf(view.result) }));
    return;
  }
  const writer = streamWriter(res, "application/x-ndjson");
  const line = (body: unknown) => writer.write(`${JSON.stringify(body)}\n`);
  /** One streamed line of generated output (not the final one). */
  const part = (text: string, extra?: Extra) => line({ model, created_at: new Date().toISOString(), ...content(mode, text, extra), done: false });
  await runStream(
    res,
    writer,
    async () => {
      const view = await runCompleted(deps, request, { ...context, onText: (text, logprobs) => part(text, { logprobs }), onThinking: (thinking, logprobs) => part("", { thinking, logprobs }) });
      // As Ollama streams them: the calls in a chunk of their own, before the final one.
      const toolCalls = toolCallsOf(view.result);
      if (toolCalls.length > 0) part("", { toolCalls });
      line(final(view, ""));
    },
    // Once streaming, Ollama reports an error as one more line and keeps the 200 status.
    (error) => line({ error: error.message }),
  );
}

function isStringList(value: unknown): value is string | string[] {
  return typeof value === "string" || (Array.isArray(value) && value.every((item) => typeof item === "string"));
}

/**
 * Ollama's own API in front of the queue: the same paths and bodies, answered synchronously
 * through the cache and the queue at interactive priority, streaming NDJSON by default.
 */
export function ollamaRouter(deps: DropInDeps): Router {
  const router = Router();
  const running = (_req: Request, res: Response) => void res.type("text/plain").send("Ollama is running");
  router.get("/", running);
  router.head("/", running);

  router.get("/api/version", async (_req, res) => void res.json({ version: await deps.instances.version() }));
  router.get("/api/tags", async (_req, res) => void res.json(await deps.instances.tags()));
  router.get("/api/ps", async (_req, res) => void res.json(await deps.instances.ps()));
  router.post("/api/show", async (req, res) => {
    if (!req.body || typeof req.body !== "object" || Array.isArray(req.body)) throw new ApiError(400, "invalid_request", "missing request body");
    res.json(await deps.instances.show(req.body as Record<string, unknown>));
  });

  router.post("/api/generate", async (req, res) => {
    const body = parseBody(OllamaGenerateBody, req.body);
    if (!body.prompt) return loadOnly(deps, res, body, "generate");
    await generation(deps, req, res, generationRequest(body, "generate"), body.model, "generate", body.stream !== false);
  });

  router.post("/api/chat", async (req, res) => {
    const body = parseBody(OllamaChatBody, req.body);
    if (!body.messages || body.messages.length === 0) return loadOnly(deps, res, body, "chat");
    await generation(deps, req, res, generationRequest(body, "chat"), body.model, "chat", body.stream !== false);
  });

  router.post("/api/embed", async (req, res) => {
    const started = performance.now();
    const body = parseBody(OllamaEmbedBody, req.body);
    const input = body.input;
    if (input === undefined || input === "" || (Array.isArray(input) && input.length === 0)) return void res.json({ model: body.model, embeddings: [] });
    if (!isStringList(input)) throw new ApiError(400, "invalid_request", "invalid input type");
    const request = toJobRequest({
      type: "embed",
      model: body.model,
      input,
      ...(body.truncate !== undefined ? { truncate: body.truncate } : {}),
      ...(body.dimensions !== undefined ? { dimensions: body.dimensions } : {}),
      ...(body.options ? { options: body.options } : {}),
      ...(body.keep_alive !== undefined ? { keep_alive: body.keep_alive } : {}),
      priority: "interactive",
    });
    const view = await runCompleted(deps, request, requestContext(deps.config, req, res));
    const embeddings = (view.result as { embeddings?: number[][] }).embeddings ?? [];
    const { prompt } = tokenCounts(view.result);
    // Go's omitempty, as Ollama: no count when it is 0 (a result from a worker that counts none).
    res.json({ model: body.model, embeddings, total_duration: nanoseconds(performance.now() - started), ...(prompt > 0 ? { prompt_eval_count: prompt } : {}) });
  });

  router.post("/api/embeddings", async (req, res) => {
    const body = parseBody(OllamaEmbeddingsBody, req.body);
    if (!body.prompt) return void res.json({ embedding: [] });
    const request = toJobRequest({ type: "embed", model: body.model, input: body.prompt, ...(body.options ? { options: body.options } : {}), ...(body.keep_alive !== undefined ? { keep_alive: body.keep_alive } : {}), priority: "interactive" });
    const view = await runCompleted(deps, request, requestContext(deps.config, req, res));
    res.json({ embedding: (view.result as { embeddings?: number[][] }).embeddings?.[0] ?? [] });
  });

  const refuse = () => {
    throw new ApiError(501, "not_offered", MANAGEMENT);
  };
  for (const path of ["/api/pull", "/api/push", "/api/create", "/api/copy"]) router.post(path, refuse);
  router.delete("/api/delete", refuse);
  router.all("/api/blobs/*digest", refuse);
  return router;
}
