import { createHash } from "node:crypto";
import { chunkCacheKey, type HerdCache } from "@herd/cache";
import type { Chunk, ParsePool } from "@herd/ingest";
import { loadDocumentContent, type DocumentRecord, type Queryable } from "@herd/store";
import type { IngestJobData } from "@herd/jobs";

/** Bump when chunking changes, so cached chunk lists and "unchanged" checks start over. */
const CHUNKER_VERSION = "chunker/1";

/**
 * What a document's chunks depend on: its content, the type it is parsed as, and every setting
 * that changes chunking or vectors.
 */
export function chunkedHashOf(document: Pick<DocumentRecord, "contentHash" | "mimeType">, data: Pick<IngestJobData, "model" | "dimensions" | "chunkTokens" | "chunkOverlap">): string {
  return createHash("sha256")
    .update([CHUNKER_VERSION, document.contentHash, document.mimeType, data.model, data.dimensions, data.chunkTokens, data.chunkOverlap].join("|"))
    .digest("hex");
}

/** warnings: what could not be read of the document (see parseDocument). */
export type ChunkList = { ok: true; chunks: Chunk[]; warnings: string[] } | { ok: false; reason: string };

/**
 * The chunks of a document: from the chunk cache layer (30 days) when this exact content was
 * chunked with these settings before, else parsed on a worker thread and cached. Its warnings,
 * when it has any, are cached beside the chunks under a key of their own (the chunk entry keeps
 * the shape every version reads).
 */
export async function loadChunks(db: Queryable, cache: HerdCache, pool: ParsePool, document: DocumentRecord, data: IngestJobData, chunkedHash: string): Promise<ChunkList> {
  // Scoped like the embedding cache: one tenant's upload never speeds up (so reveals) another's.
  const cacheKey = chunkCacheKey(chunkedHash, data.cacheScope);
  const warningsKey = `${cacheKey}:warnings`;
  const [cached, cachedWarnings] = await Promise.all([cache.get("chunk", cacheKey), cache.get("chunk", warningsKey)]);
  // A list cached before parsing dropped U+0000 (parseDocument) holds chunks PostgreSQL refuses: parsed again instead.
  if (cached && !cached.includes("\\u0000")) return { ok: true, chunks: JSON.parse(cached) as Chunk[], warnings: cachedWarnings ? (JSON.parse(cachedWarnings) as string[]) : [] };
  const body = await loadDocumentContent(db, document.id);
  if (!body) return { ok: false, reason: "the document's content is missing" };
  const result = await pool.run({ bytes: new Uint8Array(body), type: document.mimeType, chunkTokens: data.chunkTokens, chunkOverlap: data.chunkOverlap });
  if (!result.ok) return result;
  // Warnings first: a reader that finds the chunks then finds their warnings too.
  if (result.warnings.length > 0) await cache.set("chunk", warningsKey, JSON.stringify(result.warnings));
  await cache.set("chunk", cacheKey, JSON.stringify(result.chunks));
  return result;
}
