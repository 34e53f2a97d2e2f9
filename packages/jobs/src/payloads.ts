import { z } from "zod";
import { ChatMessage, Logprob, ModelOptions, Think, ToolCall, ToolDefinition } from "./requests.js";

/**
 * A source a RAG answer was given: its document, chunk, the chunk's heading path (null when it has
 * none; absent from results of workers older than the field) and the start of its text.
 */
export const Citation = z.object({ documentId: z.string(), chunkId: z.number(), heading: z.string().nullable().optional(), excerpt: z.string() });
export type Citation = z.infer<typeof Citation>;
/** What a RAG answer's generation carries to its result: the sources in its prompt, and how many retrieved ones did not fit. */
/** Why retrieval fell back (a hybrid search ranked by keywords alone while the embedding model was unavailable). */
export const RetrievalDegraded = z.object({ code: z.string(), message: z.string() });
export type RetrievalDegraded = z.infer<typeof RetrievalDegraded>;
export const AnswerSources = z.object({ citations: z.array(Citation), sourcesOmitted: z.number().int().positive().optional(), degraded: RetrievalDegraded.optional() });
export type AnswerSources = z.infer<typeof AnswerSources>;

/**
 * What an embed job carries in Redis. `model` is normalised; `requestModel` is echoed in results.
 * Strict, like GenerateJobData: a field a worker does not know means a newer API queued the job
 * (see payloadError in @herd/worker-core), never one to drop.
 */
export const EmbedJobData = z.object({
  model: z.string().min(1),
  requestModel: z.string().min(1),
  inputs: z.array(z.string()).min(1),
  dimensions: z.number().int().positive().optional(),
  truncate: z.boolean().optional(),
  options: ModelOptions.optional(),
  keepAlive: z.union([z.string(), z.number()]).optional(),
  /** Cache each input's vector when the job finishes (false when the embedding layer is off). */
  cache: z.boolean(),
  /** The cache scope (the tenant) when cached values are not shared between tenants. */
  cacheScope: z.string().optional(),
  /** For ingestion batches: a Redis hash field counting embedded chunks. */
  progress: z.object({ key: z.string(), field: z.string() }).optional(),
  /** Where a client waits for the result: the API process's reply channel (see replies.ts). */
  replyTo: z.string().optional(),
}).strict();
export type EmbedJobData = z.infer<typeof EmbedJobData>;

export const GenerateJobData = z.object({
  model: z.string().min(1),
  requestModel: z.string().min(1),
  mode: z.enum(["generate", "chat"]),
  prompt: z.string().optional(),
  /** Fill-in-the-middle: the text after the insertion point (never empty; absent without). */
  suffix: z.string().optional(),
  /** The prompt goes to the model without its template. */
  raw: z.literal(true).optional(),
  images: z.array(z.string()).optional(),
  messages: z.array(ChatMessage).optional(),
  system: z.string().optional(),
  options: ModelOptions.optional(),
  format: z.union([z.literal("json"), z.record(z.string(), z.unknown())]).optional(),
  tools: z.array(ToolDefinition).optional(),
  think: Think.optional(),
  /** Ollama's truncate and shift, kept only when turned off (on is Ollama's default). */
  truncate: z.literal(false).optional(),
  shift: z.literal(false).optional(),
  /** Ollama's logprobs and top_logprobs, kept only when asked for (true; 1 to 20). */
  logprobs: z.literal(true).optional(),
  topLogprobs: z.number().int().min(1).max(20).optional(),
  /**
   * Set when the job finished and its images (the bulk of its data) were dropped from Redis: how
   * many there were. Such a job cannot run again (a retry from Bull Board fails it, saying so).
   */
  imagesReleased: z.number().int().positive().optional(),
  keepAlive: z.union([z.string(), z.number()]).optional(),
  /** Inference-cache key to fill on success, or null when this generation must not be cached. */
  cacheKey: z.string().nullable(),
  /** Set for RAG answers: the result becomes `{ answer, citations }` with these citations. */
  answer: AnswerSources.optional(),
  /** A client waits for the tokens: the worker publishes them as job progress (TokenProgress) as they come. */
  stream: z.boolean().optional(),
  /** Where a client waits for the result: the API process's reply channel (see replies.ts). */
  replyTo: z.string().optional(),
}).strict();
export type GenerateJobData = z.infer<typeof GenerateJobData>;

/**
 * One piece of a streamed generation, sent as BullMQ job progress (the events stream carries it to
 * every API process). `seq` numbers the pieces from 0, so a listener can tell a gap or a repeat.
 */
export const TokenProgress = z.object({
  seq: z.number().int().nonnegative(),
  text: z.string(),
  thinking: z.string().optional(),
  /** The log probabilities of the tokens in this piece (thinking and text, in order), when the job asked for them. */
  logprobs: z.array(Logprob).optional(),
});
export type TokenProgress = z.infer<typeof TokenProgress>;

export const EmbedResult = z.object({
  model: z.string(),
  embeddings: z.array(z.array(z.number())),
  /** Ollama's tokens over all inputs (a cached input counts what its call counted). */
  prompt_eval_count: z.number().int().nonnegative().optional(),
});
export type EmbedResult = z.infer<typeof EmbedResult>;


export const GenerateResult = z.object({
  model: z.string(),
  response: z.string().optional(),
  /** A thinking model's thinking, apart from its answer (requests with `think`). */
  thinking: z.string().optional(),
  answer: z.string().optional(),
  citations: z.array(Citation).optional(),
  /** RAG answers: retrieved sources left out of the prompt because the model's context had no room for them. */
  sourcesOmitted: z.number().int().positive().optional(),
  /** RAG answers: why its sources were found by keywords alone, when they were. */
  degraded: RetrievalDegraded.optional(),
  message: z.object({ role: z.literal("assistant"), content: z.string(), thinking: z.string().optional(), tool_calls: z.array(ToolCall).optional() }).optional(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().int().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
  /** Each generated token's log probability, in order (requests with `logprobs`). */
  logprobs: z.array(Logprob).optional(),
});
export type GenerateResult = z.infer<typeof GenerateResult>;

/**
 * The BullMQ return value. It is written to the job hash and to the events stream, so it stays
 * small: the result body itself is stored once under the job's result key.
 */
export const JobReturnValue = z.object({
  instance: z.string(),
  resultBytes: z.number().int().nonnegative(),
  /** Inputs answered from the embedding cache instead of Ollama. */
  cachedInputs: z.number().int().nonnegative().optional(),
});
export type JobReturnValue = z.infer<typeof JobReturnValue>;

/** One document of an ingestion, processed in steps: parse (and fan out embeddings) → store. */
export const IngestJobData = z.object({
  ingestionId: z.string(),
  collectionId: z.number().int(),
  documentId: z.number().int(),
  externalId: z.string(),
  contentHash: z.string(),
  model: z.string(),
  dimensions: z.number().int().positive(),
  /** Vector length the model returns natively; `dimensions` below it asks Ollama to cut. */
  modelDimensions: z.number().int().positive().optional(),
  chunkTokens: z.number().int().positive(),
  chunkOverlap: z.number().int().nonnegative(),
  /** The collection's document prefix, put before each chunk's text when it is embedded (absent: none). */
  documentPrefix: z.string().optional(),
  embedBatch: z.number().int().positive(),
  step: z.enum(["parse", "store"]).default("parse"),
  chunkedHash: z.string().optional(),
  batches: z.number().int().nonnegative().optional(),
  /** Bumped when embeddings had to be requested again (child ids stay unique). */
  round: z.number().int().nonnegative().default(0),
  /** The embedding cache scope of the collection's tenant (absent: the cache is shared). */
  cacheScope: z.string().optional(),
});
export type IngestJobData = z.infer<typeof IngestJobData>;
