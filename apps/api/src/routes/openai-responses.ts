import type { Request, Response } from "express";
import type { Logprob, ToolCall } from "@herd/jobs";
import { ApiError } from "../errors.js";
import { OpenAiResponsesBody, responsesRequest } from "../dropin/openai-responses.js";
import { chatLogprobs } from "../dropin/openai-logprobs.js";
import { parseOpenAi } from "../dropin/openai-requests.js";
import { newId, requestContext, runCompleted, runStream, streamWriter } from "../dropin/respond.js";
import { cutAtLimit, generatedText, logprobsOf, thinkingOf, tokenCounts, toolCallsOf } from "../interactive.js";
import type { DropInDeps } from "./ollama.js";

type Item = Record<string, unknown>;

const reasoningItem = (id: string, thinking: string): Item => ({ id, type: "reasoning", summary: [{ type: "summary_text", text: thinking }], encrypted_content: thinking });
/** Log probabilities as the Responses API lists them (as chat completions' content entries). */
const listed = (logprobs: readonly Logprob[]) => chatLogprobs(logprobs).content;
const textPart = (text: string, logprobs: readonly Logprob[] = []) => ({ type: "output_text", text, annotations: [], logprobs: listed(logprobs) });
const messageItem = (id: string, text: string, status: string, logprobs: readonly Logprob[] = []): Item => ({ id, type: "message", status, role: "assistant", content: status === "in_progress" ? [] : [textPart(text, logprobs)] });
const callItem = (id: string, call: ToolCall, status: string, args: string): Item => ({ id, type: "function_call", status, call_id: call.id ?? newId("call_"), name: call.function.name, arguments: args });

function usageOf(result: unknown): Record<string, unknown> {
  const { prompt, output } = tokenCounts(result);
  return { input_tokens: prompt, output_tokens: output, total_tokens: prompt + output, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } };
}

/** The response object, echoing the request's settings as OpenAI's does; `output` and `usage` once known. */
function responseObject(body: OpenAiResponsesBody, id: string, createdAt: number, status: string, output: Item[], result?: unknown): Item {
  return {
    id,
    object: "response",
    created_at: createdAt,
    completed_at: result === undefined ? null : Math.floor(Date.now() / 1000),
    status,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    model: body.model,
    previous_response_id: null,
    instructions: body.instructions ?? null,
    output,
    error: null,
    tools: body.tools ?? [],
    tool_choice: body.tool_choice ?? "auto",
    truncation: body.truncation ?? "auto",
    parallel_tool_calls: true,
    text: { format: body.text?.format ?? { type: "text" } },
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    reasoning: body.reasoning ? { effort: body.reasoning.effort ?? null, summary: body.reasoning.summary ?? null } : null,
    max_output_tokens: body.max_output_tokens ?? null,
    usage: result === undefined ? null : usageOf(result),
    store: false,
    background: false,
    service_tier: "default",
    metadata: {},
  };
}

/**
 * The finished output items, in output_index order: the thinking (a reasoning item), the answer
 * (a message; left out when the model only called tools), then each tool call.
 */
function outputOf(result: unknown, ids: { reasoning: string; message: string }): Item[] {
  const thinking = thinkingOf(result);
  const text = generatedText(result);
  const calls = toolCallsOf(result);
  return [
    ...(thinking ? [reasoningItem(ids.reasoning, thinking)] : []),
    ...(text !== "" || calls.length === 0 ? [messageItem(ids.message, text, cutAtLimit(result) ? "incomplete" : "completed", logprobsOf(result))] : []),
    ...calls.map((call, index) => callItem(`fc_${ids.message.slice(4)}_${index}`, call, "completed", JSON.stringify(call.function.arguments))),
  ];
}

/** A generation cut at max_output_tokens without calling a tool is "incomplete". */
const statusOf = (result: unknown) => (cutAtLimit(result) && toolCallsOf(result).length === 0 ? "incomplete" : "completed");

/**
 * Streams the response as OpenAI's typed server-sent events, in the order Ollama's layer sends
 * them: created and in_progress with the first output, the reasoning item's summary deltas, the
 * message's text deltas (or the function calls, whole), then completed (or incomplete).
 */
class ResponseEvents {
  #sequence = 0;
  #started = false;
  #thinking = "";
  #text = "";
  /** Every token's log probabilities so far, a thinking model's thinking included (as Ollama lists them). */
  readonly #logprobs: Logprob[] = [];
  #outputIndex = 0;
  #phase: "none" | "reasoning" | "text" = "none";

  constructor(
    private readonly send: (type: string, data: Item) => void,
    private readonly object: (status: string, output: Item[], result?: unknown) => Item,
    private readonly ids: { reasoning: string; message: string },
  ) {}

  #event(type: string, data: Item): void {
    this.send(type, { type, sequence_number: this.#sequence++, ...data });
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#event("response.created", { response: this.object("in_progress", []) });
    this.#event("response.in_progress", { response: this.object("in_progress", []) });
  }

  thinking(piece: string, logprobs: readonly Logprob[] = []): void {
    this.#start();
    this.#logprobs.push(...logprobs);
    if (this.#phase === "none") {
      this.#phase = "reasoning";
      this.#event("response.output_item.added", { output_index: this.#outputIndex, item: { id: this.ids.reasoning, type: "reasoning", summary: [] } });
    }
    this.#thinking += piece;
    this.#event("response.reasoning_summary_text.delta", { item_id: this.ids.reasoning, output_index: this.#outputIndex, summary_index: 0, delta: piece });
  }

  #endReasoning(): void {
    if (this.#phase !== "reasoning") return;
    this.#event("response.reasoning_summary_text.done", { item_id: this.ids.reasoning, output_index: this.#outputIndex, summary_index: 0, text: this.#thinking });
    this.#event("response.output_item.done", { output_index: this.#outputIndex, item: reasoningItem(this.ids.reasoning, this.#thinking) });
    this.#outputIndex += 1;
    this.#phase = "none";
  }

  text(piece: string, logprobs: readonly Logprob[] = []): void {
    this.#start();
    this.#logprobs.push(...logprobs);
    this.#endReasoning();
    if (this.#phase === "none") {
      this.#phase = "text";
      this.#event("response.output_item.added", { output_index: this.#outputIndex, item: messageItem(this.ids.message, "", "in_progress") });
      this.#event("response.content_part.added", { item_id: this.ids.message, output_index: this.#outputIndex, content_index: 0, part: textPart("") });
    }
    this.#text += piece;
    this.#event("response.output_text.delta", { item_id: this.ids.message, output_index: this.#outputIndex, content_index: 0, delta: piece, logprobs: listed(logprobs) });
  }

  /** Closes the streamed items and sends the ones only the finished job has (tool calls), then the response. */
  finish(result: unknown): void {
    this.#start();
    this.#endReasoning();
    const output = outputOf(result, this.ids);
    if (this.#phase === "text") {
      const message = output.find((item) => item["type"] === "message");
      this.#event("response.output_text.done", { item_id: this.ids.message, output_index: this.#outputIndex, content_index: 0, text: this.#text, logprobs: listed(this.#logprobs) });
      this.#event("response.content_part.done", { item_id: this.ids.message, output_index: this.#outputIndex, content_index: 0, part: textPart(this.#text, this.#logprobs) });
      this.#event("response.output_item.done", { output_index: this.#outputIndex, item: message ?? messageItem(this.ids.message, this.#text, "completed", this.#logprobs) });
    }
    output.forEach((item, at) => {
      if (item["type"] !== "function_call") return;
      this.#event("response.output_item.added", { output_index: at, item: { ...item, status: "in_progress", arguments: "" } });
      this.#event("response.function_call_arguments.delta", { item_id: item["id"], output_index: at, delta: item["arguments"] });
      this.#event("response.function_call_arguments.done", { item_id: item["id"], output_index: at, arguments: item["arguments"] });
      this.#event("response.output_item.done", { output_index: at, item });
    });
    const status = statusOf(result);
    this.#event(`response.${status}`, { response: this.object(status, output, result) });
  }

  /** A failure once streaming: OpenAI's error event (the status line has been sent). */
  error(error: ApiError): void {
    this.#event("error", { code: error.code, message: error.message, param: null });
  }
}

/** POST /v1/responses: OpenAI's Responses API over a chat job, plain or as typed server-sent events. */
export async function responses(deps: DropInDeps, req: Request, res: Response): Promise<void> {
  const body = parseOpenAi(OpenAiResponsesBody, req.body);
  const request = responsesRequest(body);
  const context = requestContext(deps.config, req, res);
  const id = newId("resp_");
  const ids = { reasoning: `rs_${id.slice(5)}`, message: `msg_${id.slice(5)}` };
  const createdAt = Math.floor(Date.now() / 1000);
  const object = (status: string, output: Item[], result?: unknown) => responseObject(body, id, createdAt, status, output, result);
  if (!body.stream) {
    const view = await runCompleted(deps, request, context);
    res.json(object(statusOf(view.result), outputOf(view.result, ids), view.result));
    return;
  }
  const writer = streamWriter(res, "text/event-stream; charset=utf-8");
  const events = new ResponseEvents((type, data) => writer.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`), object, ids);
  await runStream(
    res,
    writer,
    async () => {
      const view = await runCompleted(deps, request, { ...context, onText: (text, logprobs) => events.text(text, logprobs), onThinking: (thinking, logprobs) => events.thinking(thinking, logprobs) });
      events.finish(view.result);
    },
    (error) => events.error(error),
  );
}
