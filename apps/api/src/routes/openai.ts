import { Router, type Request, type Response } from "express";
import { randomBytes } from "node:crypto";
import type { JobView } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { base64Vector, chatRequest, embeddingInputs, OpenAiChatBody, OpenAiEmbeddingsBody, parseOpenAi } from "../dropin/openai-requests.js";
import { toJobRequest } from "../dropin/ollama-requests.js";
import { failedJob, requestContext, streamWriter } from "../dropin/respond.js";
import { generatedText, runInteractive, thinkingOf, toolCallsOf } from "../interactive.js";
import { openAiToolCall } from "../dropin/openai-tools.js";
import type { DropInDeps } from "./ollama.js";

/** Paths of the OpenAI API that Herd answers; errors on them take OpenAI's shape (see server.ts). */
export const OPENAI_PATHS = /^\/v1\/(embeddings|chat\/completions|models(\/.*)?)$/;

function usage(result: unknown): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const body = (result ?? {}) as { prompt_eval_count?: number; eval_count?: number };
  const prompt = body.prompt_eval_count ?? 0;
  const completion = body.eval_count ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function finishReason(result: unknown): "tool_calls" | "length" | "stop" {
  if (toolCallsOf(result).length > 0) return "tool_calls";
  return (result as { done_reason?: string } | undefined)?.done_reason === "length" ? "length" : "stop";
}

/** The answer as OpenAI's assistant message; a thinking model's thinking is `reasoning`, as Ollama sends it. */
function assistantMessage(result: unknown): Record<string, unknown> {
  const toolCalls = toolCallsOf(result);
  const reasoning = thinkingOf(result);
  return {
    role: "assistant",
    content: generatedText(result),
    ...(reasoning ? { reasoning } : {}),
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((call) => openAiToolCall(call, undefined)) } : {}),
  };
}

async function chatCompletion(deps: DropInDeps, req: Request, res: Response): Promise<void> {
  const body = parseOpenAi(OpenAiChatBody, req.body);
  const request = chatRequest(body);
  const context = requestContext(req, res, deps.config.auth.defaultConcurrency);
  const id = `chatcmpl-${randomBytes(12).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const base = { id, created, model: body.model, system_fingerprint: "fp_herd" };
  if (!body.stream) {
    const view = await runInteractive(deps, request, { timeoutMs: deps.config.syncTimeoutMs, ...context });
    if (view.status !== "completed") throw failedJob(view);
    res.json({
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message: assistantMessage(view.result), finish_reason: finishReason(view.result) }],
      usage: usage(view.result),
    });
    return;
  }
  const writer = streamWriter(res, "text/event-stream; charset=utf-8");
  const event = (data: unknown) => writer.write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
  let first = true;
  try {
    const view: JobView = await runInteractive(deps, request, {
      timeoutMs: deps.config.syncTimeoutMs,
      ...context,
      onText: (text) => {
        event(chunk(first ? { role: "assistant", content: text } : { content: text }, null));
        first = false;
      },
      onThinking: (reasoning) => {
        event(chunk(first ? { role: "assistant", content: "", reasoning } : { reasoning }, null));
        first = false;
      },
    });
    if (view.status !== "completed") throw failedJob(view);
    const toolCalls = toolCallsOf(view.result);
    if (toolCalls.length > 0) {
      event(chunk({ ...(first ? { role: "assistant", content: "" } : {}), tool_calls: toolCalls.map((call, index) => openAiToolCall(call, index)) }, null));
      first = false;
    }
    event(chunk(first ? { role: "assistant", content: "" } : {}, finishReason(view.result)));
    if (body.stream_options?.include_usage) event({ ...base, object: "chat.completion.chunk", choices: [], usage: usage(view.result) });
    writer.write("data: [DONE]\n\n");
    res.end();
  } catch (error) {
    if (!writer.started() || !(error instanceof ApiError)) throw error;
    event({ error: { message: error.message, type: "api_error", param: null, code: error.code } });
    res.end();
  }
}

/**
 * The OpenAI API's embeddings, chat completions (plain and server-sent events) and models, in
 * front of the same cache and queue.
 */
export function openAiRouter(deps: DropInDeps): Router {
  const router = Router();

  router.post("/v1/embeddings", async (req, res) => {
    const body = parseOpenAi(OpenAiEmbeddingsBody, req.body);
    const inputs = embeddingInputs(body.input);
    const request = toJobRequest({ type: "embed", model: body.model, input: inputs, ...(body.dimensions !== undefined ? { dimensions: body.dimensions } : {}), priority: "interactive" });
    const view = await runInteractive(deps, request, { timeoutMs: deps.config.syncTimeoutMs, ...requestContext(req, res, deps.config.auth.defaultConcurrency) });
    if (view.status !== "completed") throw failedJob(view);
    const vectors = (view.result as { embeddings?: number[][] }).embeddings ?? [];
    res.json({
      object: "list",
      data: vectors.map((vector, index) => ({ object: "embedding", embedding: body.encoding_format === "base64" ? base64Vector(vector) : vector, index })),
      model: body.model,
      // Ollama's /api/embed does not report tokens per input through Herd's cache: counted as 0.
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  });

  router.post("/v1/chat/completions", (req, res) => chatCompletion(deps, req, res));

  const models = async () => {
    const snapshot = await deps.fleet.fresh(1000);
    return [...snapshot.models.keys()].sort().map((id) => ({ id, object: "model", created: Math.floor(snapshot.takenAt / 1000), owned_by: "library" }));
  };
  router.get("/v1/models", async (_req, res) => void res.json({ object: "list", data: await models() }));
  router.get("/v1/models/*model", async (req, res) => {
    const wanted = ([] as string[]).concat(req.params["model"] as string | string[]).join("/");
    const found = (await models()).find((model) => model.id === wanted || model.id === `${wanted}:latest`);
    if (!found) throw new ApiError(404, "model_not_found", `The model '${wanted}' does not exist`, { details: { param: "model" } });
    res.json(found);
  });
  return router;
}
