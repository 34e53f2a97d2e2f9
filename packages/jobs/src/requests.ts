import { z } from "zod";

/** Interactive jobs always run before batch jobs; BullMQ's priority 0 would beat both, so neither uses it. */
export const PRIORITIES = { interactive: 1, batch: 10 } as const;
export type PriorityClass = keyof typeof PRIORITIES;
export const PriorityClass = z.enum(["interactive", "batch"]);

const ModelName = z
  .string({ error: "must be a string" })
  .trim()
  .min(1, "must not be empty")
  .max(300, "is too long")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "is not a valid model name");

/** Ollama's free-form Modelfile options; only the fields Herd reasons about are typed. */
export const ModelOptions = z
  .object({
    temperature: z.number().min(0).max(100).optional(),
    seed: z.number().int().optional(),
    num_predict: z.number().int().min(-2).optional(),
    num_ctx: z.number().int().min(1).optional(),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()])), z.null()]));
export type ModelOptions = z.infer<typeof ModelOptions>;

/**
 * The options Ollama loads a model with (api/types.go `Runner`). A request asking for other values
 * than the loaded model's makes Ollama unload and load it again (server/sched.go `needsReload`),
 * which is why an operator may pin them per model (HERD_MODEL_OPTIONS).
 */
export const RunnerOptions = z
  .object({
    num_ctx: z.number().int().min(1).max(16_777_216).optional(),
    num_batch: z.number().int().min(1).max(1_048_576).optional(),
    num_gpu: z.number().int().min(-1).max(1024).optional(),
    main_gpu: z.number().int().min(0).max(1024).optional(),
    use_mmap: z.boolean().optional(),
    num_thread: z.number().int().min(0).max(4096).optional(),
  })
  .strict();
export type RunnerOptions = z.infer<typeof RunnerOptions>;
export const RUNNER_OPTION_NAMES = Object.keys(RunnerOptions.shape) as ReadonlyArray<keyof RunnerOptions>;

const KeepAlive = z.union([z.string().max(32), z.number()]);

/** A string or an array of strings; a bad element is reported by its index (input.3). */
const EmbedInput = z
  .unknown()
  .superRefine((value, ctx) => {
    if (typeof value === "string") return;
    if (!Array.isArray(value)) {
      ctx.addIssue({ code: "custom", message: value === undefined ? "required" : "must be a string or an array of strings" });
      return;
    }
    value.forEach((item, index) => {
      if (typeof item !== "string") ctx.addIssue({ code: "custom", path: [index], message: "must be a string" });
    });
  })
  .transform((value) => value as string | string[]);

export const EmbedRequest = z
  .object({
    type: z.literal("embed"),
    model: ModelName,
    input: EmbedInput,
    dimensions: z.number().int().min(1).max(65_536).optional(),
    truncate: z.boolean().optional(),
    options: ModelOptions.optional(),
    keep_alive: KeepAlive.optional(),
    priority: PriorityClass.optional(),
  })
  .strict();
export type EmbedRequest = z.infer<typeof EmbedRequest>;

/**
 * A tool the model may call: Ollama takes OpenAI's function-tool shape as is. `parameters` is a
 * JSON Schema, passed on untouched (the model, not Herd, reads it).
 */
export const ToolDefinition = z.looseObject({
  type: z.literal("function", { error: 'must be "function"' }),
  function: z.looseObject({
    name: z.string({ error: "must be a string" }).min(1, "must not be empty").max(256, "is too long"),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ToolDefinition = z.infer<typeof ToolDefinition>;

/** A call the model made: a tool's name and its arguments as a JSON object (Ollama's shape). */
export const ToolCall = z.looseObject({
  id: z.string().optional(),
  function: z.looseObject({
    index: z.number().int().nonnegative().optional(),
    name: z.string({ error: "must be a string" }).min(1, "must not be empty"),
    arguments: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }),
  }),
});
export type ToolCall = z.infer<typeof ToolCall>;

// A search for one character outside the alphabet: a pattern matched over the whole string takes
// 6x as long on a multi-megabyte image (and one with a group per 4 characters overflows the stack).
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

export function isBase64(value: string): boolean {
  const compact = /[\r\n]/.test(value) ? value.replace(/[\r\n]/g, "") : value;
  if (compact.length % 4 !== 0 || NOT_BASE64.test(compact)) return false;
  const padding = compact.indexOf("=");
  return padding < 0 || (padding >= compact.length - 2 && compact.endsWith("=".repeat(compact.length - padding)));
}

/**
 * An image for a vision model, base64-encoded as Ollama takes it (standard alphabet, padded, line
 * breaks ignored: Go's decoder refuses anything else, so Herd refuses it before it is queued).
 */
export const Base64Image = z
  .string({ error: "must be a base64 string" })
  .min(1, "must not be empty")
  .refine(isBase64, "is not valid base64 (standard alphabet with = padding; no data: prefix)");

/** Images of one prompt or message, in order. */
export const Images = z.array(Base64Image, { error: "must be an array of base64 strings" });

export const ChatMessage = z
  .object({
    role: z.enum(["system", "user", "assistant", "tool"]),
    content: z.string(),
    images: Images.optional(),
    /** An assistant turn that called tools (sent back with the conversation). */
    tool_calls: z.array(ToolCall).optional(),
    /** A tool turn: which tool's result `content` is. */
    tool_name: z.string().optional(),
    /** A tool turn: the id of the call it answers (some models' templates pair them by id). */
    tool_call_id: z.string().optional(),
    /** An assistant turn's thinking, sent back with the conversation. */
    thinking: z.string().optional(),
  })
  .strict();
export type ChatMessage = z.infer<typeof ChatMessage>;

/** One alternative at a token's position: its text and log probability (Ollama's TokenLogprob). */
export const TokenLogprob = z.looseObject({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).optional() });
export type TokenLogprob = z.infer<typeof TokenLogprob>;

/**
 * A generated token's log probability, with the most likely tokens at its position when
 * `top_logprobs` asked for them (Ollama's Logprob).
 */
export const Logprob = TokenLogprob.extend({ top_logprobs: z.array(TokenLogprob).optional() });
export type Logprob = z.infer<typeof Logprob>;

/** Ollama's `think`: on or off, or how hard to think (models that take a level). */
export const Think = z.union([z.boolean(), z.enum(["low", "medium", "high"])], { error: 'must be true, false, "low", "medium" or "high"' });
export type Think = z.infer<typeof Think>;

export const GenerateRequest = z
  .object({
    type: z.literal("generate"),
    model: ModelName,
    prompt: z.string().optional(),
    /**
     * Text after the insertion point (fill-in-the-middle, for code models with Ollama's `insert`
     * capability): the model writes what goes between `prompt` and `suffix`. Prompt only.
     */
    suffix: z.string().optional(),
    /** Send the prompt to the model as is, without the model's template (prompt only, no system). */
    raw: z.boolean().optional(),
    /** Images for the prompt (vision models); a chat puts them on its messages instead. */
    images: Images.optional(),
    messages: z.array(ChatMessage).optional(),
    system: z.string().optional(),
    options: ModelOptions.optional(),
    format: z.union([z.literal("json"), z.record(z.string(), z.unknown())]).optional(),
    /** Tools the model may call (chat only); its calls come back in `message.tool_calls`. */
    tools: z.array(ToolDefinition).max(128, "at most 128 tools").optional(),
    /** Thinking models: think first; the thinking comes apart from the answer (`thinking`). */
    think: Think.optional(),
    /** false: a prompt longer than num_ctx fails instead of Ollama dropping the oldest messages (or cutting it). */
    truncate: z.boolean().optional(),
    /** false: generation stops when num_ctx is full (done_reason "length") instead of Ollama shifting the context. */
    shift: z.boolean().optional(),
    /** Return each generated token's log probability (`logprobs` in the result, and in each streamed piece). */
    logprobs: z.boolean().optional(),
    /** With logprobs: also the most likely tokens at each position, 0 to 20 of them (Ollama's limit). */
    top_logprobs: z.number({ error: "must be a whole number" }).int("must be a whole number").min(0, "top_logprobs must be between 0 and 20").max(20, "top_logprobs must be between 0 and 20").optional(),
    keep_alive: KeepAlive.optional(),
    /** Force caching on or off; by default only deterministic generations are cached. */
    cache: z.boolean().optional(),
    priority: PriorityClass.optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    const hasPrompt = request.prompt !== undefined;
    const hasMessages = request.messages !== undefined;
    if (hasPrompt === hasMessages) {
      ctx.addIssue({ code: "custom", path: ["prompt"], message: 'give exactly one of "prompt" or "messages"' });
    }
    if (request.tools !== undefined && request.tools.length > 0 && !hasMessages) {
      ctx.addIssue({ code: "custom", path: ["tools"], message: 'tools need "messages" (a chat): Ollama offers tools to /api/chat only' });
    }
    if (hasMessages) {
      if (request.suffix) ctx.addIssue({ code: "custom", path: ["suffix"], message: 'suffix needs "prompt": Ollama offers fill-in-the-middle on /api/generate only' });
      if (request.raw) ctx.addIssue({ code: "custom", path: ["raw"], message: 'raw needs "prompt": a chat is always formatted by the model\'s template' });
    }
    // Ollama's own words: a raw prompt bypasses the template that would place a system prompt.
    if (request.raw && request.system !== undefined && request.system !== "") {
      ctx.addIssue({ code: "custom", path: ["raw"], message: "raw mode does not support template, system, or context" });
    }
    // Ollama ignores top_logprobs without logprobs; a client that sets it expects to read them.
    if (request.top_logprobs !== undefined && request.top_logprobs > 0 && request.logprobs !== true) {
      ctx.addIssue({ code: "custom", path: ["top_logprobs"], message: 'top_logprobs needs "logprobs": true' });
    }
    if (request.images !== undefined && request.images.length > 0 && hasMessages) {
      ctx.addIssue({ code: "custom", path: ["images"], message: 'a chat carries its images on its messages (messages[i].images), not beside them' });
    }
  });
export type GenerateRequest = z.infer<typeof GenerateRequest>;

export const JobRequest = z.discriminatedUnion("type", [EmbedRequest, GenerateRequest]);
export type JobRequest = z.infer<typeof JobRequest>;
