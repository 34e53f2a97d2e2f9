import express, { Router, type NextFunction, type Request, type Response } from "express";
import multer from "multer";
import { z } from "zod";
import type { ApiConfig } from "@herd/config";
import { chunkTokensLimit, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_TOKENS, MIN_CHUNK_TOKENS, modelContext, normalizeModel } from "@herd/jobs";
import { createCollection, deleteCollection, deleteDocument, findCollection, findDocumentView, listDocuments, listCollections, textSearchLanguages, type Collection, type Database } from "@herd/store";
import { ApiError, invalidRequest } from "../errors.js";
import { tenantOf } from "../auth.js";
import type { FleetView } from "../fleet-view.js";
import type { IngestionProgress } from "../ingest/progress.js";
import { startIngestion, type IngestDeps } from "../ingest/submit.js";
import { withdrawEmbeddings } from "../ingest/withdraw.js";
import { cancelIngestion } from "../ingest/cancel.js";
import { notServed } from "../submit.js";
import { holdsNul, StorableString } from "../storable.js";
import { defaultPrefixes } from "../embedding-prefixes.js";
import { estimateTokens } from "../answer-prompt.js";
import { pinOf } from "../prepare-job.js";
import { assertUniqueIds, documentsFromFiles, documentsFromJson, storedId, type MultipartFile } from "../ingest/uploads.js";

export interface CollectionsRouteDeps extends IngestDeps {
  config: IngestDeps["config"] & Pick<ApiConfig, "modelOptions">;
  db: Database;
  fleet: FleetView;
  progress: IngestionProgress;
  limits: { maxUploadBytes: number; maxDocuments: number };
}

const CollectionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "use 1–63 letters, digits, '.', '_' or '-'");

const CreateCollection = z
  .object({
    name: CollectionName,
    model: z.string().trim().min(1).max(300),
    dimensions: z.number().int().min(1).max(16_000).optional(),
    chunkTokens: z.number().int().min(MIN_CHUNK_TOKENS).max(8192).optional(),
    chunkOverlap: z.number().int().min(0).max(4096).optional(),
    language: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z_][a-z0-9_]*$/, "a PostgreSQL text search configuration name, such as english, german or simple")
      .default("english"),
    queryPrefix: StorableString.max(500, "is too long").optional(),
    documentPrefix: StorableString.max(500, "is too long").optional(),
  })
  .strict();

const DocumentListQuery = z
  .object({
    status: z.enum(["pending", "ready", "failed"]).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    after: StorableString.min(1).max(500).optional(),
  })
  .strict();

/**
 * A document id from the path: it may hold slashes (a file's path), which the wildcard splits.
 * One holding U+0000 (%00) names no document, since no id can hold it (see storable.ts).
 */
function documentIdParam(req: Request, collection: Collection): string {
  const raw = req.params["id"] as unknown;
  const id = Array.isArray(raw) ? raw.join("/") : String(raw);
  if (holdsNul(id)) throw documentNotFound(id, collection);
  return id;
}

/**
 * `act` on the document `id` names: stored under exactly that id, or else under its composed
 * (NFC) form, as ids are stored since they are normalised (see storedId). An id stored
 * decomposed before stays reachable as written.
 */
async function byStoredId<T>(id: string, act: (stored: string) => Promise<T | undefined>): Promise<{ id: string; found: T } | undefined> {
  const exact = await act(id);
  if (exact !== undefined) return { id, found: exact };
  const composed = storedId(id);
  if (composed === id) return undefined;
  const found = await act(composed);
  return found === undefined ? undefined : { id: composed, found };
}

function documentNotFound(id: string, collection: Collection): ApiError {
  return new ApiError(404, "document_not_found", `no document ${JSON.stringify(id)} in ${collection.name}`);
}

function collectionNotFound(name: string): ApiError {
  return new ApiError(404, "collection_not_found", `no collection named ${JSON.stringify(name)}`);
}

/** The caller's collection of that name; another tenant's reads as missing (404), never as forbidden. */
export async function collectionOr404(db: Database, tenant: string, name: string): Promise<Collection> {
  const collection = holdsNul(name) ? undefined : await findCollection(db.pool, tenant, name);
  if (!collection) throw collectionNotFound(name);
  return collection;
}

function publicCollection(collection: Collection & { documents?: number; chunks?: number }) {
  const { id: _id, tenant: _tenant, ...rest } = collection;
  return rest;
}

/**
 * A collection's chunk size and overlap: as asked, or the defaults, within what the model reads of
 * one input (its own context length, or less when a smaller num_ctx is pinned for it).
 */
function chunking(asked: { chunkTokens?: number | undefined; chunkOverlap?: number | undefined }, model: string, ownContext: number | undefined, pinnedContext: number | undefined, documentPrefix: string): { chunkTokens: number; chunkOverlap: number } {
  const context = modelContext(ownContext, pinnedContext);
  const limit = context ? chunkTokensLimit(context.tokens, estimateTokens(documentPrefix)) : Number.POSITIVE_INFINITY;
  const reads = `${model} reads at most ${context?.tokens} tokens of an input (${context?.requested ? "the num_ctx pinned for it in HERD_MODEL_OPTIONS" : "its context length"})`;
  if (limit < MIN_CHUNK_TOKENS) throw new ApiError(400, "invalid_request", `model: ${reads}, too few for chunks of ${MIN_CHUNK_TOKENS} tokens with their heading${documentPrefix ? " and documentPrefix" : ""}`);
  const chunkTokens = asked.chunkTokens ?? Math.min(DEFAULT_CHUNK_TOKENS, limit);
  if (chunkTokens > limit) {
    throw new ApiError(400, "invalid_request", `chunkTokens: ${reads} and cuts a longer one without a word, so the end of each chunk of ${chunkTokens} tokens would be missing from its vector; use at most ${limit}`);
  }
  const chunkOverlap = asked.chunkOverlap ?? (chunkTokens > DEFAULT_CHUNK_OVERLAP ? DEFAULT_CHUNK_OVERLAP : Math.floor(chunkTokens / 4));
  if (chunkOverlap >= chunkTokens) throw new ApiError(400, "invalid_request", `chunkOverlap: must be smaller than chunkTokens (${chunkTokens})`);
  return { chunkTokens, chunkOverlap };
}

export function collectionsRouter(deps: CollectionsRouteDeps): Router {
  const router = Router();
  const uploadJson = express.json({ limit: deps.limits.maxUploadBytes, type: "application/json", inflate: false });
  // preservePath: file names are document ids, and the CLI sends paths relative to the folder it ingests.
  // defParamCharset: browsers, curl and the CLI write a file name as UTF-8 (the HTML form encoding);
  // busboy's default, latin1, turned "Prüfung.md" into "PrÃ¼fung.md".
  const uploadFiles = multer({ storage: multer.memoryStorage(), preservePath: true, defParamCharset: "utf8", limits: { fileSize: deps.limits.maxUploadBytes, files: deps.limits.maxDocuments, fields: 10 } }).any();

  router.post("/v1/collections", async (req: Request, res: Response) => {
    const parsed = CreateCollection.safeParse(req.body);
    if (!parsed.success) throw invalidRequest(parsed.error);
    const requested = normalizeModel(parsed.data.model);
    const snapshot = await deps.fleet.fresh();
    // The collection records the model as the fleet serves it, however the request wrote its case.
    const model = snapshot.spelling(requested, "embed") ?? requested;
    const served = snapshot.models.get(model);
    if (!served?.kinds.has("embed")) throw notServed(snapshot, model, "embed");
    const native = served.embeddingLength;
    const dimensions = parsed.data.dimensions ?? native;
    if (dimensions === undefined) throw new ApiError(400, "invalid_request", "dimensions: required, the fleet does not report this model's vector size");
    if (native !== undefined && dimensions > native) throw new ApiError(400, "invalid_request", `dimensions: ${model} returns ${native}-dimensional vectors`);
    const languages = await textSearchLanguages(deps.db.pool);
    if (!languages.includes(parsed.data.language)) {
      throw new ApiError(400, "invalid_request", `language: the database has no text search configuration "${parsed.data.language}"; it has ${languages.join(", ")}`, { details: { languages } });
    }
    const { name, language } = parsed.data;
    const known = defaultPrefixes(model);
    const queryPrefix = parsed.data.queryPrefix ?? known.queryPrefix;
    const documentPrefix = parsed.data.documentPrefix ?? known.documentPrefix;
    const { chunkTokens, chunkOverlap } = chunking(parsed.data, model, served.contextLength, pinOf(deps.config.modelOptions, model)?.options.num_ctx, documentPrefix);
    const collection = await createCollection(deps.db.pool, { tenant: tenantOf(res), name, model, dimensions, chunkTokens, chunkOverlap, language, queryPrefix, documentPrefix });
    if (!collection) throw new ApiError(409, "collection_exists", `a collection named ${JSON.stringify(parsed.data.name)} already exists`);
    res.status(201).json(publicCollection(collection));
  });

  router.get("/v1/collections", async (_req: Request, res: Response) => {
    res.json({ collections: (await listCollections(deps.db.pool, tenantOf(res))).map(publicCollection) });
  });

  router.get("/v1/collections/:name", async (req: Request, res: Response) => {
    const name = String(req.params["name"]);
    const found = (await listCollections(deps.db.pool, tenantOf(res))).find((collection) => collection.name === name);
    if (!found) throw collectionNotFound(name);
    res.json(publicCollection(found));
  });

  router.post(
    "/v1/collections/:name/documents",
    (req: Request, res: Response, next: NextFunction) => (req.is("multipart/form-data") ? uploadFiles(req, res, next) : uploadJson(req, res, next)),
    async (req: Request, res: Response) => {
      const collection = await collectionOr404(deps.db, tenantOf(res), String(req.params["name"]));
      const files = (req as Request & { files?: MultipartFile[] }).files;
      let documents;
      if (Array.isArray(files)) documents = documentsFromFiles(files, (req.body ?? {}) as Record<string, unknown>, deps.limits.maxDocuments);
      else if (req.body !== undefined) documents = documentsFromJson(req.body, deps.limits.maxDocuments);
      else throw new ApiError(415, "unsupported_media_type", "send application/json or multipart/form-data");
      assertUniqueIds(documents);
      const modelDimensions = deps.fleet.snapshot.models.get(collection.model)?.embeddingLength;
      const ingestionId = await startIngestion(deps, collection, modelDimensions, documents);
      res.setHeader("Location", `/v1/ingestions/${ingestionId}`);
      res.status(202).json({ ingestionId, documents: documents.length });
    },
  );

  router.delete("/v1/collections/:name", async (req: Request, res: Response) => {
    const name = String(req.params["name"]);
    const deleted = holdsNul(name) ? undefined : await deleteCollection(deps.db.pool, tenantOf(res), name);
    if (!deleted) throw collectionNotFound(name);
    await withdrawEmbeddings(deps, deleted.unfinished);
    res.json({ deleted: name, documents: deleted.documents, chunks: deleted.chunks });
  });

  router.get("/v1/collections/:name/documents", async (req: Request, res: Response) => {
    const collection = await collectionOr404(deps.db, tenantOf(res), String(req.params["name"]));
    const parsed = DocumentListQuery.safeParse(req.query);
    if (!parsed.success) throw invalidRequest(parsed.error, {}, "query");
    const documents = await listDocuments(deps.db.pool, collection.id, parsed.data);
    const next = documents.length === parsed.data.limit ? (documents.at(-1)?.id ?? null) : null;
    res.json({ collection: collection.name, documents, next });
  });

  router.get("/v1/collections/:name/documents/*id", async (req: Request, res: Response) => {
    const collection = await collectionOr404(deps.db, tenantOf(res), String(req.params["name"]));
    const id = documentIdParam(req, collection);
    const document = await byStoredId(id, (stored) => findDocumentView(deps.db.pool, collection.id, stored));
    if (!document) throw documentNotFound(id, collection);
    res.json(document.found);
  });

  router.delete("/v1/collections/:name/documents/*id", async (req: Request, res: Response) => {
    const collection = await collectionOr404(deps.db, tenantOf(res), String(req.params["name"]));
    const id = documentIdParam(req, collection);
    const deleted = await byStoredId(id, (stored) => deleteDocument(deps.db.pool, collection.id, stored));
    if (!deleted) throw documentNotFound(id, collection);
    if (deleted.found.unfinished) await withdrawEmbeddings(deps, [deleted.found.unfinished]);
    res.json({ deleted: deleted.id });
  });

  router.get("/v1/ingestions/:id", async (req: Request, res: Response) => {
    const summary = await deps.progress.read(String(req.params["id"]), tenantOf(res));
    if (!summary) throw new ApiError(404, "ingestion_not_found", "unknown or expired ingestion id");
    res.json(summary);
  });

  router.delete("/v1/ingestions/:id", async (req: Request, res: Response) => {
    const id = String(req.params["id"]);
    if (!(await deps.progress.read(id, tenantOf(res)))) throw new ApiError(404, "ingestion_not_found", "unknown or expired ingestion id");
    res.json({ id, canceled: await cancelIngestion(deps, id) });
  });

  return router;
}
