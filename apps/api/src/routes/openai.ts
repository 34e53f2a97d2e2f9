import { Router, type Request, type Response } from "express";
import type { Logprob } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { base64Vector, chatRequest, choicesOf, completionRequest, embeddingInputs, OpenAiChatBody, OpenAiCompletionBody, OpenAiEmbeddingsBody, parseOpenAi } from "../dropin/openai-requests.js";
import { toJobRequest } from "../dropin/ollama-requests.js";
import { newId, requestContext, runChoices, runCompleted, runStream, streamWriter } from "../dropin/respond.js";
import { cutAtLimit, generatedText, logprobsOf, thinkingOf, tokenCounts, toolCallsOf } from "../interactive.js";
import { chatLogprobs, legacyLogprobs } from "../dropin/openai-logprobs.js";
import { openAiToolCall } from "../dropin/openai-tools.js";
import type { DropInDeps } from "./ollama.js";
import { responses } from "./openai-responses.js";

/** Paths of the OpenAI API that Herd answers; errors on them take OpenAI's shape (see server.ts). */
export const OPENAI_PATHS = /^\/v1\/(embeddings|chat\/completions|completions|responses|models(\/.*)?)$/;


function finishReason(result: unknown): "tool_calls" | "length" | "stop" {
  if (toolCallsOf(result).length > 0) return "tool_calls";
  return cutAtLimit(result) ? "length" : "stop";
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

/**
 * Server-sent events: `produce` sends them, then `data: [DONE]` ends the stream. An error once the
 * stream has started is one more event (the status has been sent); before, the error handler answers.
 */
async function serverSentEvents(res: Response, produce: (event: (data: unknown) => void) => Promise<void>): Promise<void> {
  const writer = streamWriter(res, "text/event-stream; charset=utf-8");
  const event = (data: unknown) => writer.write(`data: ${JSON.stringify(data)}\n\n`);
  await runStream(
    res,
    writer,
    async () => {
      await produce(event);
      writer.write("data: [DONE]\n\n");
    },
    (error) => event({ error: { message: error.message, type: "api_error", param: null, code: error.code } }),
  );
}

/** OpenAI's usage of all choices of a request: the prompt once, every choice's output. */
function usageOf(results: readonly unknown[]): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = results.length > 0 ? tokenCounts(results[0]).prompt : 0;
  const completion = results.reduce<number>((sum, result) => sum + tokenCounts(result).output, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

async function chatCompletion(deps: DropInDeps, req: Request, res: Response): Promise<void> {
  const body = parseOpenAi(OpenAiChatBody, req.body);
  const request = chatRequest(body);
  const n = choicesOf(body.n);
  const context = requestContext(deps.config, req, res);
  const base = { id: newId("chatcmpl-"), created: Math.floor(Date.now() / 1000), model: body.model, system_fingerprint: "fp_herd" };
  if (!body.stream) {
    const views = await runChoices(n, context, (_, choiceContext) => runCompleted(deps, request, choiceContext));
    res.json({
      ...base,
      object: "chat.completion",
      choices: views.map((view, index) => ({ index, message: assistantMessage(view.result), logprobs: body.logprobs === true ? chatLogprobs(logprobsOf(view.result)) : null, finish_reason: finishReason(view.result) })),
      usage: usageOf(views.map((view) => view.result)),
    });
    return;
  }
  const chunk = (index: number, delta: Record<string, unknown>, finish: string | null, logprobs?: Logprob[]) => ({
    ...base,
    object: "chat.completion.chunk",
    choices: [{ index, delta, ...(body.logprobs === true ? { logprobs: logprobs ? chatLogprobs(logprobs) : null } : {}), finish_reason: finish }],
  });
  await serverSentEvents(res, async (event) => {
    // Each choice streams as its job produces it, its chunks carrying its index.
    const views = await runChoices(n, context, async (index, choiceContext) => {
      let first = true;
      const view = await runCompleted(deps, request, {
        ...choiceContext,
        onText: (text, logprobs) => {
          event(chunk(index, first ? { role: "assistant", content: text } : { content: text }, null, logprobs));
          first = false;
        },
        onThinking: (reasoning, logprobs) => {
          event(chunk(index, first ? { role: "assistant", content: "", reasoning } : { reasoning }, null, logprobs));
          first = false;
        },
      });
      const toolCalls = toolCallsOf(view.result);
      if (toolCalls.length > 0) {
        event(chunk(index, { ...(first ? { role: "assistant", content: "" } : {}), tool_calls: toolCalls.map((call, at) => openAiToolCall(call, at)) }, null));
        first = false;
      }
      event(chunk(index, first ? { role: "assistant", content: "" } : {}, finishReason(view.result)));
      return view;
    });
    if (body.stream_options?.include_usage) event({ ...base, object: "chat.completion.chunk", choices: [], usage: usageOf(views.map((view) => view.result)) });
  });
}

/** A legacy completion (text in, text out), plain or as server-sent events; `suffix` fills in the middle. */
async function completion(deps: DropInDeps, req: Request, res: Response): Promise<void> {
  const body = parseOpenAi(OpenAiCompletionBody, req.body);
  const request = completionRequest(body);
  const n = choicesOf(body.n);
  const context = requestContext(deps.config, req, res);
  const base = { id: newId("cmpl-"), object: "text_completion", created: Math.floor(Date.now() / 1000), model: body.model, system_fingerprint: "fp_herd" };
  // With `logprobs`, each choice lists its tokens' log probabilities and where each starts in its whole text.
  const offsets = Array.from({ length: n }, () => 0);
  const choice = (index: number, text: string, finish: string | null, logprobs: Logprob[] = []) => {
    const listed = body.logprobs != null ? legacyLogprobs(logprobs, offsets[index] ?? 0) : null;
    offsets[index] = (offsets[index] ?? 0) + text.length;
    return { text, index, logprobs: listed, finish_reason: finish };
  };
  if (!body.stream) {
    const views = await runChoices(n, context, (_, choiceContext) => runCompleted(deps, request, choiceContext));
    res.json({ ...base, choices: views.map((view, index) => choice(index, generatedText(view.result), finishReason(view.result), logprobsOf(view.result))), usage: usageOf(views.map((view) => view.result)) });
    return;
  }
  await serverSentEvents(res, async (event) => {
    const views = await runChoices(n, context, async (index, choiceContext) => {
      const view = await runCompleted(deps, request, { ...choiceContext, onText: (text, logprobs) => event({ ...base, choices: [choice(index, text, null, logprobs)] }) });
      event({ ...base, choices: [choice(index, "", finishReason(view.result))] });
      return view;
    });
    if (body.stream_options?.include_usage) event({ ...base, choices: [], usage: usageOf(views.map((view) => view.result)) });
  });
}

/**
 * The OpenAI API's embeddings, chat and legacy completions, responses (plain and server-sent events) and models, in
 * front of the same cache and queue.
 */
export function openAiRouter(deps: DropInDeps): Router {
  const router = Router();

  router.post("/v1/embeddings", async (req, res) => {
    const body = parseOpenAi(OpenAiEmbeddingsBody, req.body);
    const inputs = embeddingInputs(body.input);
    const request = toJobRequest({ type: "embed", model: body.model, input: inputs, ...(body.dimensions !== undefined ? { dimensions: body.dimensions } : {}), priority: "interactive" });
    const view = await runCompleted(deps, request, requestContext(deps.config, req, res));
    const vectors = (view.result as { embeddings?: number[][] }).embeddings ?? [];
    const { prompt } = tokenCounts(view.result);
    res.json({
      object: "list",
      data: vectors.map((vector, index) => ({ object: "embedding", embedding: body.encoding_format === "base64" ? base64Vector(vector) : vector, index })),
      model: body.model,
      usage: { prompt_tokens: prompt, total_tokens: prompt },
    });
  });

  router.post("/v1/chat/completions", (req, res) => chatCompletion(deps, req, res));
  router.post("/v1/completions", (req, res) => completion(deps, req, res));
  router.post("/v1/responses", (req, res) => responses(deps, req, res));

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
