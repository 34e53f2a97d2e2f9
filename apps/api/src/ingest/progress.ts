import { execAll, type RedisClient } from "@herd/redis";
import type { HerdKeys, IngestionSummary } from "@herd/jobs";

export type DocumentState =
  | { status: "pending" }
  | { status: "embedding"; chunks: number }
  | { status: "done"; chunks: number; unchanged?: boolean; warnings?: string[] }
  | { status: "failed"; error: string }
  | { status: "superseded" };

export type { IngestionSummary };

const TTL_SECONDS = 7 * 86_400;

/** A document stored with its chunks, and what could not be read of it, if anything. */
export function doneState(chunks: number, warnings: readonly string[], unchanged?: true): DocumentState {
  return { status: "done", chunks, ...(unchanged ? { unchanged } : {}), ...(warnings.length > 0 ? { warnings: [...warnings] } : {}) };
}

/**
 * Ingestion progress lives in Redis (three hashes per ingestion, kept a week): the durable
 * outcome of each document is its row in Postgres; this is the running tally the CLI's progress
 * bar and GET /v1/ingestions/:id read. Embedding workers add to the `embedded` counters.
 */
export class IngestionProgress {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: HerdKeys,
  ) {}

  embeddedKey(id: string): string {
    return this.keys.ingestionEmbedded(id);
  }

  async create(id: string, collection: string, tenant: string, documentIds: readonly string[]): Promise<void> {
    const pending = JSON.stringify({ status: "pending" });
    const multi = this.redis
      .multi()
      .hset(this.keys.ingestion(id), { collection, tenant, createdAt: new Date().toISOString(), total: String(documentIds.length) })
      .expire(this.keys.ingestion(id), TTL_SECONDS);
    if (documentIds.length > 0) multi.hset(this.keys.ingestionDocs(id), Object.fromEntries(documentIds.map((doc) => [doc, pending])));
    await execAll(multi.expire(this.keys.ingestionDocs(id), TTL_SECONDS));
  }

  /**
   * Writes the record of an ingestion whose record is gone (Redis lost it) from where each of its
   * documents stands in Postgres. Returns false, writing nothing, when the record exists.
   */
  async restore(id: string, collection: string, tenant: string, documents: ReadonlyArray<{ externalId: string; state: DocumentState }>): Promise<boolean> {
    if ((await this.redis.exists(this.keys.ingestion(id))) > 0) return false;
    const multi = this.redis
      .multi()
      .hset(this.keys.ingestion(id), { collection, tenant, createdAt: new Date().toISOString(), total: String(documents.length) })
      .expire(this.keys.ingestion(id), TTL_SECONDS);
    if (documents.length > 0) multi.hset(this.keys.ingestionDocs(id), Object.fromEntries(documents.map((doc) => [doc.externalId, JSON.stringify(doc.state)])));
    await execAll(multi.expire(this.keys.ingestionDocs(id), TTL_SECONDS));
    return true;
  }

  async set(id: string, documentId: string, state: DocumentState): Promise<void> {
    await execAll(this.redis.multi().hset(this.keys.ingestionDocs(id), documentId, JSON.stringify(state)).expire(this.keys.ingestionEmbedded(id), TTL_SECONDS));
  }

  /** Records the ingestion canceled, and the documents it had pending failed with `error`. */
  async cancel(id: string, externalIds: readonly string[], error: string): Promise<void> {
    const failed = JSON.stringify({ status: "failed", error });
    const multi = this.redis.multi().hset(this.keys.ingestion(id), "canceledAt", new Date().toISOString());
    if (externalIds.length > 0) multi.hset(this.keys.ingestionDocs(id), Object.fromEntries(externalIds.map((doc) => [doc, failed])));
    await execAll(multi);
  }

  /** With `tenant`, another tenant's ingestion reads as unknown. */
  async read(id: string, tenant?: string): Promise<IngestionSummary | undefined> {
    const [meta, docs, embedded] = await Promise.all([
      this.redis.hgetall(this.keys.ingestion(id)),
      this.redis.hgetall(this.keys.ingestionDocs(id)),
      this.redis.hgetall(this.keys.ingestionEmbedded(id)),
    ]);
    if (!meta["collection"]) return undefined;
    if (tenant !== undefined && (meta["tenant"] ?? "local") !== tenant) return undefined;
    const summary: IngestionSummary = {
      id,
      collection: meta["collection"],
      status: "running",
      documents: { total: Number(meta["total"] ?? 0), done: 0, failed: 0, pending: 0, superseded: 0 },
      chunks: { total: 0, embedded: 0 },
      errors: [],
      warnings: [],
      createdAt: meta["createdAt"] ?? "",
      ...(meta["canceledAt"] ? { canceledAt: meta["canceledAt"] } : {}),
    };
    for (const [documentId, raw] of Object.entries(docs)) {
      const state = JSON.parse(raw) as DocumentState;
      const chunks = "chunks" in state ? state.chunks : 0;
      summary.chunks.total += chunks;
      if (state.status === "done") {
        summary.documents.done += 1;
        summary.chunks.embedded += chunks;
        for (const warning of state.warnings ?? []) summary.warnings.push({ documentId, warning });
      } else {
        // A batch retried after counting can count twice; never report more than there is.
        summary.chunks.embedded += Math.min(chunks, Number(embedded[documentId] ?? 0));
        if (state.status === "failed") {
          summary.documents.failed += 1;
          summary.errors.push({ documentId, error: state.error });
        } else if (state.status === "superseded") summary.documents.superseded += 1;
        else summary.documents.pending += 1;
      }
    }
    if (summary.documents.pending === 0) summary.status = summary.documents.failed > 0 ? "completed_with_errors" : "completed";
    return summary;
  }
}
