import { Router, type Request, type Response } from "express";
import { warnAtMostEvery } from "@herd/logger";
import { z } from "zod";
import { normalizeModel, type RetrievalDegraded } from "@herd/jobs";
import { searchCandidates, searchChunks, SmallCollections, type Collection, type SearchHit } from "@herd/store";
import { ApiError, invalidRequest } from "../errors.js";
import { embedQuery, type SyncDeps } from "../sync.js";
import { collectionOr404, type CollectionsRouteDeps } from "./collections.js";
import { tenantOf } from "../auth.js";
import { parseWait, submitAndRespond, type JobsRouteDeps } from "./jobs.js";
import { streamAnswer } from "../answer-stream.js";
import { StorableObject, StorableString } from "../storable.js";
import { answerPrompt, fitAnswer, questionTokens, retrievalQuery, SYSTEM_PROMPT } from "../answer-prompt.js";
import { pinOf } from "../prepare-job.js";

export type RetrievalRouteDeps = CollectionsRouteDeps & SyncDeps & JobsRouteDeps;

const MAX_K = 100;
const QUERY_TIMEOUT_MS = 30_000;

const Filter = StorableObject;

const SearchRequest = z
  .object({
    query: StorableString.max(10_000, "is too long"),
    k: z.number({ error: "must be a number" }).optional(),
    mode: z.enum(["vector", "keyword", "hybrid"]).default("hybrid"),
    filter: Filter.optional(),
  })
  .strict();

/** A turn of the conversation so far, for a follow-up question (the last user turn is searched with it: retrievalQuery). */
const Turn = z.object({ role: z.enum(["user", "assistant"]), content: StorableString.max(100_000, "is too long") }).strict();

const AnswerRequest = z
  .object({
    question: StorableString.max(10_000, "is too long"),
    history: z.array(Turn).max(100, "has more than 100 turns").optional(),
    model: z.string().trim().min(1).max(300),
    k: z.number({ error: "must be a number" }).optional(),
    filter: Filter.optional(),
    stream: z.boolean({ error: "must be true or false" }).optional(),
  })
  .strict();

/** Other search APIs' names for the number of results, and the query and question mixed up. */
const RESULTS_ALIASES = { limit: "k", top_k: "k", topK: "k", top: "k", n: "k", size: "k" };
const SEARCH_ALIASES: Readonly<Record<string, string>> = { ...RESULTS_ALIASES, q: "query", text: "query", question: "query" };
const ANSWER_ALIASES: Readonly<Record<string, string>> = { ...RESULTS_ALIASES, query: "question", q: "question", prompt: "question", messages: "history" };

function parse<T>(schema: z.ZodType<T>, body: unknown, aliases: Readonly<Record<string, string>>): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalidRequest(parsed.error, aliases);
}

function checkK(k: number | undefined, fallback: number): number {
  const value = k ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_K) throw new ApiError(400, "invalid_k", `k: must be a whole number from 1 to ${MAX_K}`);
  return value;
}

function checkText(field: string, text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new ApiError(400, "empty_query", `${field}: must not be empty`);
  return trimmed;
}

interface Retrieved {
  hits: SearchHit[];
  degraded?: RetrievalDegraded;
}

/** The embedding side of a query failed for want of a model, an instance or time, not for the request's fault. */
function embeddingUnavailable(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.status >= 500 || error.status === 404 || error.status === 429);
}

type Warn = (fields: object, message: string) => void;

async function retrieve(deps: RetrievalRouteDeps, small: SmallCollections, warnDegraded: Warn, collection: Collection, mode: "vector" | "keyword" | "hybrid", asked: string, k: number, filter?: Record<string, unknown>): Promise<Retrieved> {
  // Composed (NFC) as stored text is (see parseDocument): "Prüfung" typed either way finds it.
  const query = asked.normalize("NFC");
  const served = deps.fleet.snapshot.models.get(collection.model);
  const cut = served?.embeddingLength !== undefined && collection.dimensions < served.embeddingLength ? collection.dimensions : undefined;
  const keywordOnly = (reason: string): Promise<Retrieved> => {
    const degraded: RetrievalDegraded = { code: "embedding_unavailable", message: `ranked by keywords alone: ${collection.model} ${reason}` };
    warnDegraded({ collection: collection.name, model: collection.model }, degraded.message);
    return search("keyword").then((hits) => ({ hits, degraded }));
  };
  const search = (searchMode: "vector" | "keyword" | "hybrid", embedding?: number[], exact?: boolean) =>
    searchChunks(deps.db.pool, searchMode, {
      collectionId: collection.id,
      dimensions: collection.dimensions,
      language: collection.language,
      k,
      candidates: searchCandidates(k),
      query,
      ...(embedding ? { embedding } : {}),
      ...(filter ? { filter } : {}),
      ...(exact ? { exact } : {}),
    });
  if (mode === "keyword") return { hits: await search("keyword") };
  // While no instance can embed the query, a hybrid search takes its vector from the cache or
  // answers from its keywords, at once, rather than waiting out the query's timeout in a queue
  // nobody pulls.
  const unservable = mode === "hybrid" && !served?.healthySlots;
  let embedded: [number[], boolean];
  try {
    // The size check (a database read at most every 30 s per collection) runs while the query is embedded.
    embedded = await Promise.all([
      // The model sees the query as the collection's chunks were embedded to be found: behind its query prefix.
      embedQuery(deps, collection.model, collection.queryPrefix + query, cut, QUERY_TIMEOUT_MS, unservable),
      small.isSmall(deps.db.pool, collection.id),
    ]);
  } catch (error) {
    if (unservable) return keywordOnly(served ? "has no healthy instance now" : "is served by no live worker now");
    if (mode === "hybrid" && embeddingUnavailable(error)) return keywordOnly(`could not embed the query (${error.message})`);
    throw error;
  }
  return { hits: await search(mode, ...embedded) };
}

/**
 * The context Ollama runs `model` with: its pinned num_ctx, else Ollama's default
 * (HERD_OLLAMA_CONTEXT_LENGTH), never more than the model's own context length, to which Ollama
 * caps a larger num_ctx.
 */
function answerContextLength(deps: RetrievalRouteDeps, requested: string): number {
  const model = normalizeModel(requested);
  const pinned = pinOf(deps.config.modelOptions, model)?.options.num_ctx;
  const own = deps.fleet.snapshot.models.get(deps.fleet.snapshot.spelling(model, "generate") ?? model)?.contextLength;
  return Math.min(pinned ?? deps.config.ollamaContextLength, own ?? Number.POSITIVE_INFINITY);
}

export function retrievalRouter(deps: RetrievalRouteDeps): Router {
  const router = Router();
  const small = new SmallCollections();
  const warnDegraded = warnAtMostEvery(deps.logger);

  router.post("/v1/collections/:name/search", async (req: Request, res: Response) => {
    if (req.body === undefined) throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
    const body = parse(SearchRequest, req.body, SEARCH_ALIASES);
    const query = checkText("query", body.query);
    const k = checkK(body.k, 5);
    const collection = await collectionOr404(deps.db, tenantOf(res), String(req.params["name"]));
    const started = performance.now();
    const { hits: results, degraded } = await retrieve(deps, small, warnDegraded, collection, body.mode, query, k, body.filter);
    res.json({ collection: collection.name, mode: body.mode, tookMs: Math.round((performance.now() - started) * 10) / 10, results, ...(degraded ? { degraded } : {}) });
  });

  router.post("/v1/collections/:name/answer", async (req: Request, res: Response) => {
    if (req.body === undefined) throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
    const wait = parseWait(req.query["wait"], deps.config.limits.maxWaitMs);
    const body = parse(AnswerRequest, req.body, ANSWER_ALIASES);
    // A streamed answer holds the connection until the end (HERD_SYNC_TIMEOUT), so ?wait has nothing to bound.
    if (body.stream && req.query["wait"] !== undefined) throw new ApiError(400, "invalid_wait", "wait: does not apply to a streamed answer (stream: true), which runs to its end on this connection");
    const question = checkText("question", body.question);
    const k = checkK(body.k, 5);
    const collection = await collectionOr404(deps.db, tenantOf(res), String(req.params["name"]));
    const contextLength = answerContextLength(deps, body.model);
    questionTokens(question, contextLength, body.model);
    const { hits: retrieved, degraded } = await retrieve(deps, small, warnDegraded, collection, "hybrid", retrievalQuery(question, body.history), k, body.filter);
    const { hits, omitted, history } = fitAnswer(question, retrieved, body.history ?? [], contextLength, body.model);
    const citations = hits.map((hit) => ({ documentId: hit.documentId, chunkId: hit.chunkId, heading: hit.heading, excerpt: hit.text.length > 280 ? `${hit.text.slice(0, 277)}...` : hit.text }));
    const answer = { citations, ...(omitted > 0 ? { sourcesOmitted: omitted } : {}), ...(degraded ? { degraded } : {}) };
    // A follow-up is a chat: the conversation so far, then the sources with the question.
    const asked = history.length > 0 ? { messages: [...history, { role: "user" as const, content: answerPrompt(question, hits) }] } : { prompt: answerPrompt(question, hits) };
    const request = { type: "generate" as const, model: body.model, system: SYSTEM_PROMPT, ...asked, options: { temperature: 0 }, priority: "interactive" as const };
    if (body.stream) {
      await streamAnswer(deps, req, res, request, answer);
      return;
    }
    await submitAndRespond(deps, res, request, wait, { answer });
  });

  return router;
}
