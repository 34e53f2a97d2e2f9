import pg from "pg";
import { HerdClient, type UploadDocument } from "@herd/client";
import { createTestDatabase } from "@herd/testing";
import { fmt } from "./load.js";
import { startHerd } from "./herd.js";
import { startEmulator } from "./processes.js";
import { TextGenerator } from "./synthetic.js";

export interface IngestionResult {
  documents: number;
  chunks: number;
  instances: number;
  pipeline: { seconds: number; chunksPerSecond: number; failed: number };
  bulk: { seconds: number; chunksPerSecond: number };
}

const MODEL = "nomic-embed-text";
const UPLOAD_GROUP = 50;

function documents(count: number, tag: string): UploadDocument[] {
  const text = new TextGenerator(7);
  return Array.from({ length: count }, (_, i) => ({ id: `${tag}/manual-${i}.md`, data: text.markdown(`Manual ${i}`, 20, 3), mimeType: "text/markdown" }));
}

async function ingestAll(client: HerdClient, collection: string, docs: UploadDocument[]): Promise<{ chunks: number; failed: number }> {
  const ids: string[] = [];
  for (let i = 0; i < docs.length; i += UPLOAD_GROUP) ids.push(await client.ingest(collection, docs.slice(i, i + UPLOAD_GROUP)));
  let chunks = 0;
  let failed = 0;
  for (const id of ids) {
    const summary = await client.waitForIngestion(id, { pollMs: 25 });
    chunks += summary.chunks.embedded;
    failed += summary.documents.failed;
  }
  return { chunks, failed };
}

interface StoredChunk {
  external_id: string;
  ordinal: number;
  heading: string | null;
  text: string;
  token_count: number;
  content_hash: string;
  embedding: string;
}

/**
 * The baseline: the same documents and vectors written straight into the same tables (same
 * HNSW and GIN indexes) with batched multi-row inserts on one connection — the cost of the
 * store alone, with no parsing, chunking, embedding or queueing.
 */
async function bulkInsert(pool: pg.Pool, sourceCollection: number, targetCollection: number): Promise<{ seconds: number; chunks: number }> {
  const docs = (await pool.query<{ external_id: string; mime_type: string; content_hash: string }>("SELECT external_id, mime_type, content_hash FROM documents WHERE collection_id = $1 ORDER BY id", [sourceCollection])).rows;
  const chunks = (
    await pool.query<StoredChunk>(
      `SELECT d.external_id, c.ordinal, c.heading, c.text, c.token_count, c.content_hash, c.embedding::text AS embedding
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.collection_id = $1 ORDER BY c.id`,
      [sourceCollection],
    )
  ).rows;
  const client = await pool.connect();
  try {
    const started = performance.now();
    const inserted = await client.query<{ id: string; external_id: string }>(
      `INSERT INTO documents (collection_id, external_id, mime_type, content_hash, status, chunk_count)
       SELECT $1, d.external_id, d.mime_type, d.content_hash, 'ready', 0 FROM unnest($2::text[], $3::text[], $4::text[]) AS d (external_id, mime_type, content_hash)
       RETURNING id, external_id`,
      [targetCollection, docs.map((doc) => doc.external_id), docs.map((doc) => doc.mime_type), docs.map((doc) => doc.content_hash)],
    );
    const idOf = new Map(inserted.rows.map((row) => [row.external_id, row.id]));
    for (let i = 0; i < chunks.length; i += 500) {
      const batch = chunks.slice(i, i + 500);
      await client.query(
        `INSERT INTO chunks (collection_id, document_id, ordinal, heading, text, token_count, content_hash, embedding)
         SELECT $1, c.document_id, c.ordinal, c.heading, c.text, c.token_count, c.content_hash, c.embedding
           FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::vector[])
                AS c (document_id, ordinal, heading, text, token_count, content_hash, embedding)`,
        [
          targetCollection,
          batch.map((chunk) => idOf.get(chunk.external_id)),
          batch.map((chunk) => chunk.ordinal),
          batch.map((chunk) => chunk.heading),
          batch.map((chunk) => chunk.text),
          batch.map((chunk) => chunk.token_count),
          batch.map((chunk) => chunk.content_hash),
          batch.map((chunk) => chunk.embedding),
        ],
      );
    }
    return { seconds: (performance.now() - started) / 1000, chunks: chunks.length };
  } finally {
    client.release();
  }
}

export async function ingestionScenario(redisUrl: string, prefix: string, adminUrl: string, documentCount: number, instanceCount = 2): Promise<IngestionResult> {
  const database = await createTestDatabase("bench_ingest", adminUrl);
  const emulator = await startEmulator(["--instances", String(instanceCount), "--latency", "zero"]);
  const instances = emulator.urls.map((url, i) => ({ url, name: `emu-${i}` }));
  const herd = await startHerd(instances, prefix, redisUrl, { DATABASE_URL: database.url });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    const client = new HerdClient({ baseUrl: herd.url });
    // Warm-up: JIT, connections and BullMQ scripts, in a collection of its own.
    await client.createCollection({ name: "warmup", model: MODEL });
    await ingestAll(client, "warmup", documents(20, "warmup"));

    const pipelineCollection = await client.createCollection({ name: "pipeline", model: MODEL });
    const docs = documents(documentCount, "bench");
    const started = performance.now();
    const { chunks, failed } = await ingestAll(client, pipelineCollection.name, docs);
    const pipelineSeconds = (performance.now() - started) / 1000;
    if (failed > 0) throw new Error(`${failed} documents failed in the ingestion benchmark`);

    await client.createCollection({ name: "bulk", model: MODEL });
    const ids = await pool.query<{ id: string; name: string }>("SELECT id, name FROM collections WHERE name IN ('pipeline', 'bulk')");
    const idOf = (name: string) => Number(ids.rows.find((row) => row.name === name)?.id);
    const bulk = await bulkInsert(pool, idOf("pipeline"), idOf("bulk"));
    if (bulk.chunks !== chunks) throw new Error(`bulk insert wrote ${bulk.chunks} chunks, the pipeline ${chunks}`);
    return {
      documents: documentCount,
      chunks,
      instances: instanceCount,
      pipeline: { seconds: pipelineSeconds, chunksPerSecond: chunks / pipelineSeconds, failed },
      bulk: { seconds: bulk.seconds, chunksPerSecond: bulk.chunks / bulk.seconds },
    };
  } finally {
    await pool.end();
    await herd.stop();
    await emulator.proc.stop();
    await database.drop();
  }
}

export function ingestionTable(result: IngestionResult): string {
  return [
    "| path | chunks | seconds | chunks/s |",
    "|---|---:|---:|---:|",
    `| Herd pipeline: upload → parse → chunk → embed (${result.instances} emulated instances, zero latency) → store | ${result.chunks} | ${fmt(result.pipeline.seconds, 2)} | **${fmt(result.pipeline.chunksPerSecond, 0)}** |`,
    `| baseline: bulk insert of the same rows and vectors (500 per statement, same indexes) | ${result.chunks} | ${fmt(result.bulk.seconds, 2)} | **${fmt(result.bulk.chunksPerSecond, 0)}** |`,
  ].join("\n");
}
