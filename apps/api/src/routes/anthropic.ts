import { Router, type Request, type Response } from "express";
import type { ToolCall } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { AnthropicMessagesBody, estimateInputTokens, messagesRequest } from "../dropin/anthropic-requests.js";
import { newId, requestContext, runCompleted, runStream, streamWriter } from "../dropin/respond.js";
import { cutAtLimit, generatedText, thinkingOf, tokenCounts, toolCallsOf } from "../interactive.js";
import type { DropInDeps } from "./ollama.js";

/** Paths of Anthropic's API that Herd answers; errors on them take Anthropic's shape (see server.ts). */
export const ANTHROPIC_PATHS = /^\/v1\/messages(\/count_tokens)?$/;

type Block = Record<string, unknown>;

/** A tool call as a tool_use block: Anthropic's clients need an id to answer it by. */
const toolUse = (call: ToolCall, input: unknown): Block => ({ type: "tool_use", id: call.id ?? newId("toolu_"), name: call.function.name, input });

/** Ollama's done_reason as Anthropic's stop_reason, as Ollama's layer maps it. */
function stopReason(result: unknown): string {
  if (toolCallsOf(result).length > 0) return "tool_use";
  return cutAtLimit(result) ? "max_tokens" : "end_turn";
}

function usageOf(result: unknown): { input_tokens: number; output_tokens: number } {
  const { prompt, output } = tokenCounts(result);
  return { input_tokens: prompt, output_tokens: output };
}

/** The answer's content blocks: thinking, text, then each tool call. */
function contentOf(result: unknown): Block[] {
  const thinking = thinkingOf(result);
  const text = generatedText(result);
  return [...(thinking ? [{ type: "thinking", thinking }] : []), ...(text ? [{ type: "text", text }] : []), ...toolCallsOf(result).map((call) => toolUse(call, call.function.arguments))];
}

/**
 * Anthropic's streamed message: message_start with the first output, then a content block per
 * kind as it comes (thinking deltas, text deltas, each tool call whole as input_json_delta), then
 * message_delta (stop_reason, usage) and message_stop.
 */
class MessageEvents {
  #started = false;
  #index = 0;
  #open: "thinking" | "text" | undefined;

  constructor(
    private readonly send: (type: string, data: Block) => void,
    private readonly message: Block,
  ) {}

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.send("message_start", { type: "message_start", message: this.message });
  }

  #close(): void {
    if (this.#open === undefined) return;
    this.send("content_block_stop", { type: "content_block_stop", index: this.#index });
    this.#index += 1;
    this.#open = undefined;
  }

  #delta(kind: "thinking" | "text", delta: Block): void {
    this.#start();
    if (this.#open !== kind) {
      this.#close();
      this.#open = kind;
      this.send("content_block_start", { type: "content_block_start", index: this.#index, content_block: kind === "text" ? { type: "text", text: "" } : { type: "thinking", thinking: "" } });
    }
    this.send("content_block_delta", { type: "content_block_delta", index: this.#index, delta });
  }

  thinking(piece: string): void {
    this.#delta("thinking", { type: "thinking_delta", thinking: piece });
  }

  text(piece: string): void {
    this.#delta("text", { type: "text_delta", text: piece });
  }

  finish(result: unknown): void {
    this.#start();
    this.#close();
    for (const call of toolCallsOf(result)) {
      this.send("content_block_start", { type: "content_block_start", index: this.#index, content_block: toolUse(call, {}) });
      this.send("content_block_delta", { type: "content_block_delta", index: this.#index, delta: { type: "input_json_delta", partial_json: JSON.stringify(call.function.arguments) } });
      this.send("content_block_stop", { type: "content_block_stop", index: this.#index });
      this.#index += 1;
    }
    this.send("message_delta", { type: "message_delta", delta: { stop_reason: stopReason(result), stop_sequence: null }, usage: usageOf(result) });
    this.send("message_stop", { type: "message_stop" });
  }

  error(error: ApiError): void {
    this.send("error", { type: "error", error: { type: "api_error", message: error.message } });
  }
}

async function messages(deps: DropInDeps, req: Request, res: Response): Promise<void> {
  const body = parseAnthropic(req.body);
  const request = messagesRequest(body);
  const context = requestContext(deps.config, req, res);
  const base = { id: newId("msg_"), type: "message", role: "assistant", model: body.model };
  if (!body.stream) {
    const view = await runCompleted(deps, request, context);
    res.json({ ...base, content: contentOf(view.result), stop_reason: stopReason(view.result), stop_sequence: null, usage: usageOf(view.result) });
    return;
  }
  const writer = streamWriter(res, "text/event-stream; charset=utf-8");
  // Until the job's counts arrive, input tokens are Ollama's estimate (as its own layer sends them).
  const started = { ...base, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: estimateInputTokens(body), output_tokens: 0 } };
  const events = new MessageEvents((type, data) => writer.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`), started);
  await runStream(
    res,
    writer,
    async () => {
      const view = await runCompleted(deps, request, { ...context, onText: (text) => events.text(text), onThinking: (thinking) => events.thinking(thinking) });
      events.finish(view.result);
    },
    (error) => events.error(error),
  );
}

function parseAnthropic(body: unknown): AnthropicMessagesBody {
  const parsed = AnthropicMessagesBody.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  const message = issue?.message ?? "invalid request";
  throw new ApiError(400, "invalid_request", message.startsWith(`${path}:`) || path === "" ? message : `${path}: ${message}`);
}

/** Anthropic's Messages API (plain and streamed) and its token count, in front of the same cache and queue. */
export function anthropicRouter(deps: DropInDeps): Router {
  const router = Router();
  router.post("/v1/messages", (req, res) => messages(deps, req, res));
  // Ollama's estimate, as its own layer answers it: a quarter of the characters.
  router.post("/v1/messages/count_tokens", (req, res) => {
    const body = (req.body ?? {}) as { model?: unknown; system?: unknown; messages?: unknown; tools?: unknown };
    if (typeof body.model !== "string" || body.model === "") throw new ApiError(400, "invalid_request", "model: Field required");
    if (!Array.isArray(body.messages)) throw new ApiError(400, "invalid_request", "messages: Field required");
    res.json({ input_tokens: estimateInputTokens(body) });
  });
  return router;
}
