import type { IncomingMessage, ServerResponse } from "node:http";
import { canComplete, capabilitiesOf, withLatestTag, type ModelSpec } from "../catalog.js";
import { findModel, scaledMs, withSlot, type InstanceContext } from "../context.js";
import { generate, thinkAbout, type ThinkLevel } from "../generation.js";
import { HttpError, NdjsonWriter, expectType, msToNs, nowRfc3339Nano, parseKeepAlive, sendJson, withoutZeroes } from "../http.js";
import { runInference, type RequestLife } from "../inference.js";
import { waitUntil } from "../latency.js";
import { countTokens, fnv1a, splitSentences, tokenize } from "../text.js";
import { chatContext, fitChat, generationBudget, keptOfPrompt, NUM_KEEP, promptTokensIn } from "../context-window.js";
import { describeImages, IMAGE_TOKENS, readImages, seeImages } from "../images.js";
import { capabilityMissing, chooseToolCall, readTools, type EmulatedToolCall, type ToolSpec } from "../tools.js";
import { LogprobCounter, readLogprobs, type Logprob, type LogprobsRequest } from "../logprobs.js";

type Mode = "generate" | "chat";

interface Conversation {
  /** Chat only: the messages' roles and text. */
  messages: Array<{ role: string; content: string }>;
  context: string;
  question: string;
  promptTokens: number;
  empty: boolean;
  /** Fill-in-the-middle (generate with a suffix): the text after the insertion point. */
  suffix?: string;
  /** Chat only: the system prompt given beside the messages. */
  system?: string;
}

/** A suffix that says something (Go's zero value "" is none). */
function suffixOf(body: Record<string, unknown>): string | undefined {
  return typeof body["suffix"] === "string" && body["suffix"] !== "" ? body["suffix"] : undefined;
}

function readOptions(body: Record<string, unknown>): Record<string, unknown> {
  const options = body["options"];
  return typeof options === "object" && options !== null && !Array.isArray(options) ? (options as Record<string, unknown>) : {};
}

function conversationOf(mode: Mode, body: Record<string, unknown>): Conversation {
  const system = typeof body["system"] === "string" ? body["system"] : "";
  if (mode === "generate") {
    const prompt = typeof body["prompt"] === "string" ? body["prompt"] : "";
    const suffix = suffixOf(body);
    // With a suffix Ollama fills the template's Prompt and Suffix only: no system prompt.
    if (suffix !== undefined) return { messages: [], context: prompt, question: prompt, promptTokens: countTokens(`${prompt}\n${suffix}`), empty: prompt === "", suffix };
    const sentences = splitSentences(prompt);
    const context = `${system}\n${prompt}`;
    return { messages: [], context, question: sentences.at(-1) ?? prompt, promptTokens: countTokens(context), empty: prompt === "" };
  }
  const messages = body["messages"];
  if (messages !== undefined && !Array.isArray(messages)) throw new HttpError(400, "json: cannot unmarshal object into Go struct field ChatRequest.messages of type []api.Message");
  const list = ((messages as unknown[] | undefined) ?? []).map((message) => {
    if (typeof message !== "object" || message === null) throw new HttpError(400, "json: cannot unmarshal string into Go struct field ChatRequest.messages of type api.Message");
    const { role, content } = message as { role?: unknown; content?: unknown };
    return { role: typeof role === "string" ? role : "", content: typeof content === "string" ? content : "" };
  });
  // An image sent as a message of its own (as Ollama's OpenAI layer sends image parts) asks nothing.
  const lastUser = [...list].reverse().find((message) => message.role === "user" && message.content !== "");
  const context = chatContext(system, list);
  const question = splitSentences(lastUser?.content ?? "").at(-1) ?? "";
  return { messages: list, context, question, promptTokens: countTokens(context), empty: list.length === 0, system };
}

/** A chat with the messages Ollama keeps when it does not fit num_ctx (see fitChat). */
function fitted(conversation: Conversation, numCtx: number, truncate: boolean): Conversation {
  if (conversation.system === undefined || !truncate || conversation.promptTokens <= numCtx) return conversation;
  const messages = fitChat(conversation.system, conversation.messages, numCtx);
  const context = chatContext(conversation.system, messages);
  return { ...conversation, messages, context, promptTokens: countTokens(context) };
}

function seedOf(options: Record<string, unknown>): number {
  return typeof options["seed"] === "number" ? options["seed"] : 0;
}

function formatOf(body: Record<string, unknown>): "json" | Record<string, unknown> | undefined {
  const format = body["format"];
  if (format === "json") return "json";
  if (typeof format === "object" && format !== null && !Array.isArray(format)) return format as Record<string, unknown>;
  if (format === undefined || format === null || format === "") return undefined;
  throw new HttpError(400, `invalid format: "${String(format)}"`);
}

/** `think` as Ollama reads it: off, or a level (`true` is "medium"); a bad value is a 400. */
function thinkLevelOf(body: Record<string, unknown>): ThinkLevel | undefined {
  const think = body["think"];
  if (think === undefined || think === null || think === false) return undefined;
  if (think === true) return "medium";
  if (think === "low" || think === "medium" || think === "high") return think;
  throw new HttpError(400, `invalid think value: ${JSON.stringify(think)} (must be "high", "medium", "low", true, or false)`);
}

interface Extra {
  thinking?: string;
  toolCalls?: EmulatedToolCall[];
  logprobs?: Logprob[] | undefined;
}

function chunk(mode: Mode, model: string, piece: string, done: boolean, extra: Extra = {}): Record<string, unknown> {
  const base = { model, created_at: nowRfc3339Nano() };
  const thinking = extra.thinking ? { thinking: extra.thinking } : {};
  // Beside the message, as Ollama's GenerateResponse and ChatResponse carry them (omitted when empty).
  const logprobs = extra.logprobs && extra.logprobs.length > 0 ? { logprobs: extra.logprobs } : {};
  if (mode === "generate") return { ...base, response: piece, ...thinking, done, ...logprobs };
  return { ...base, message: { role: "assistant", content: piece, ...thinking, ...(extra.toolCalls ? { tool_calls: extra.toolCalls } : {}) }, done, ...logprobs };
}

/** What a request asks of the model beyond text, read (and checked against the model) once. */
interface Asked {
  tools: ToolSpec[];
  level: ThinkLevel | undefined;
  images: Buffer[];
  /** The model has a vision projector (the runner refuses images otherwise). */
  vision: boolean;
  /** Each generated token's log probability (and how many alternatives), when asked. */
  logprobs: LogprobsRequest | undefined;
}

async function produce(ctx: InstanceContext, spec: ModelSpec, mode: Mode, body: Record<string, unknown>, asked: Asked, life: RequestLife, res: ServerResponse): Promise<unknown> {
  const stream = body["stream"] !== false;
  const options = readOptions(body);
  const whole = conversationOf(mode, body);
  const format = formatOf(body);
  const keepAlive = parseKeepAlive(body["keep_alive"]);
  const numCtx = typeof options["num_ctx"] === "number" ? options["num_ctx"] : undefined;
  const started = performance.now();
  const lease = await ctx.scheduler.acquire(spec, numCtx, keepAlive, life.signal);
  const truncate = body["truncate"] !== false;
  const conversation = fitted(whole, lease.runner.numCtx, truncate);
  try {
    if (conversation.empty) {
      return { ...chunk(mode, body["model"] as string, "", true), done_reason: "load" };
    }
    return await withSlot(ctx, lease.runner, life.signal, async () => {
      // The runner reads the images (and refuses them without a vision projector) once it has the model.
      const seen = seeImages(asked.images, asked.vision);
      const promptTokens = promptTokensIn(conversation.promptTokens + seen.length * IMAGE_TOKENS, lease.runner.numCtx, truncate);
      // The model answers from what the runner kept of a prompt too long for num_ctx, not from all of it.
      let context = conversation.context;
      if (conversation.promptTokens > lease.runner.numCtx) {
        ctx.stats.promptTruncated(spec.name);
        context = keptOfPrompt(context, lease.runner.numCtx, typeof options["num_keep"] === "number" ? options["num_keep"] : NUM_KEEP);
      }
      const numPredict = typeof options["num_predict"] === "number" && options["num_predict"] >= 0 ? options["num_predict"] : undefined;
      let maxTokens = generationBudget(numPredict, promptTokens, lease.runner.numCtx, body["shift"] !== false);
      // Thinking comes first and counts against num_predict like any output.
      const thoughts: string[] = [];
      for (const piece of asked.level ? thinkAbout(conversation.question, asked.level) : []) {
        const tokens = Math.max(1, tokenize(piece).length);
        if (maxTokens !== undefined && tokens > maxTokens) break;
        thoughts.push(piece);
        if (maxTokens !== undefined) maxTokens -= tokens;
      }
      const toolCall = chooseToolCall(asked.tools, conversation.messages);
      // A model calling a tool writes the call instead of text (Ollama parses it out of the output).
      const output = toolCall ? { pieces: [], doneReason: "stop" as const } : generate({ context, question: conversation.question, seed: seedOf(options), maxTokens, format, seen: describeImages(seen), ...(conversation.suffix !== undefined ? { suffix: conversation.suffix } : {}) });
      const promptStart = performance.now();
      let deadline = promptStart + scaledMs(ctx, ctx.latency.requestMs + promptTokens * ctx.latency.promptTokenMs);
      await waitUntil(deadline, life.signal);
      const evalStart = performance.now();
      const writer = stream ? new NdjsonWriter(res) : undefined;
      let evalCount = 0;
      /** Produces `text`'s tokens at the model's pace, then streams `line`. */
      const produceTokens = async (text: string, line: () => Record<string, unknown>) => {
        const tokens = Math.max(1, tokenize(text).length);
        deadline += scaledMs(ctx, tokens * ctx.latency.evalTokenMs);
        await waitUntil(deadline, life.signal);
        evalCount += tokens;
        writer?.write(line());
      };
      const counter = asked.logprobs ? new LogprobCounter(asked.logprobs) : undefined;
      const allLogprobs: Logprob[] = [];
      const logprobsOf = (piece: string) => {
        const entries = counter?.entries(piece);
        if (entries) allLogprobs.push(...entries);
        return entries;
      };
      for (const piece of thoughts) {
        const logprobs = logprobsOf(piece);
        await produceTokens(piece, () => chunk(mode, body["model"] as string, "", false, { thinking: piece, logprobs }));
      }
      for (const piece of output.pieces) {
        const logprobs = logprobsOf(piece);
        await produceTokens(piece, () => chunk(mode, body["model"] as string, piece, false, { logprobs }));
      }
      if (toolCall) await produceTokens(JSON.stringify(toolCall.function), () => chunk(mode, body["model"] as string, "", false, { toolCalls: [toolCall] }));
      const finished = performance.now();
      const text = output.pieces.join("");
      const final = {
        ...chunk(mode, body["model"] as string, stream ? "" : text, true, stream ? {} : { thinking: thoughts.join(""), ...(toolCall ? { toolCalls: [toolCall] } : {}), logprobs: allLogprobs }),
        done_reason: output.doneReason,
        ...(mode === "generate" && body["raw"] !== true ? { context: tokenize(`${conversation.context} ${text}`).map((token) => fnv1a(token) % 128_000) } : {}),
        ...withoutZeroes({
          total_duration: msToNs(finished - started),
          load_duration: msToNs(lease.loadDurationMs),
          prompt_eval_count: promptTokens,
          prompt_eval_duration: msToNs(evalStart - promptStart),
          eval_count: evalCount,
          eval_duration: msToNs(finished - evalStart),
        }),
      };
      if (!writer) return final;
      life.end("completed");
      writer.write(final);
      writer.end();
      return undefined;
    });
  } finally {
    lease.release();
  }
}

/** POST /api/generate and /api/chat, streaming NDJSON unless `"stream": false`. */
export async function handleGeneration(mode: Mode, ctx: InstanceContext, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  const struct = mode === "generate" ? "GenerateRequest" : "ChatRequest";
  expectType(body, "model", "string", struct);
  expectType(body, "stream", "boolean", struct);
  expectType(body, "options", "object", struct);
  expectType(body, "truncate", "boolean", struct);
  expectType(body, "shift", "boolean", struct);
  expectType(body, "logprobs", "boolean", struct);
  expectType(body, "top_logprobs", "number", struct);
  const logprobs = readLogprobs(body, struct);
  if (mode === "generate") {
    expectType(body, "prompt", "string", struct);
    expectType(body, "suffix", "string", struct);
    expectType(body, "system", "string", struct);
    expectType(body, "raw", "boolean", struct);
  }
  const modelName = (body["model"] as string | undefined) ?? "";
  if (modelName === "") throw new HttpError(400, "model is required");
  const spec = findModel(ctx, modelName);
  if (!spec) throw new HttpError(404, `model '${modelName}' not found`);
  // As Ollama: an empty request with keep_alive 0 unloads any model (an embedding one too, which
  // is what `ollama stop` sends), before the capability checks and without loading it first.
  const empty = mode === "generate" ? !body["prompt"] : !Array.isArray(body["messages"]) || body["messages"].length === 0;
  if (empty && parseKeepAlive(body["keep_alive"]) === 0) {
    ctx.scheduler.expire(spec);
    sendJson(res, 200, { ...chunk(mode, modelName, "", true), done_reason: "unload" });
    return;
  }
  if (!canComplete(spec)) throw new HttpError(400, `"${modelName}" does not support ${mode}`);
  if (mode === "generate" && body["raw"] === true && [body["system"], body["template"]].some((field) => typeof field === "string" && field !== "")) {
    throw new HttpError(400, "raw mode does not support template, system, or context");
  }
  const capabilities = capabilitiesOf(spec);
  const asked: Asked = { tools: mode === "chat" ? readTools(body) : [], level: thinkLevelOf(body), images: readImages(mode, body), vision: capabilities.includes("vision"), logprobs };
  if (asked.tools.length > 0 && !capabilities.includes("tools")) throw capabilityMissing(withLatestTag(modelName), "tools");
  if (asked.level !== undefined && !capabilities.includes("thinking")) throw new HttpError(400, `"${modelName}" does not support thinking`);
  if (mode === "generate" && suffixOf(body) !== undefined && !capabilities.includes("insert")) throw capabilityMissing(withLatestTag(modelName), "insert");
  await runInference(ctx, req, res, spec, (life) => produce(ctx, spec, mode, body, asked, life, res));
}
