import type pg from "pg";
import { expect } from "vitest";
import { collectionFingerprint, findCollection } from "@herd/store";
import { waitFor } from "@herd/testing";

const TOPICS = ["pump", "valve", "filter", "belt", "bearing", "seal", "hose", "motor", "sensor", "clamp", "ram", "tank"];
export const DOCUMENTS = 48;

/** Manuals of a few sections each, different enough to get different vectors. */
export function corpus() {
  return Array.from({ length: DOCUMENTS }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length] as string;
    const sections = Array.from({ length: 3 }, (_, s) => `## Step ${s + 1}\n\n` + Array.from({ length: 5 }, (_, k) => `Check the ${topic} number ${i} in step ${s} and note reading ${k * 7 + i}.`).join(" "));
    return { id: `doc-${String(i).padStart(2, "0")}-${topic}.md`, text: `# ${topic} procedure ${i}\n\n${sections.join("\n\n")}`, mimeType: "text/markdown" };
  });
}

export interface IngestionView {
  status: string;
  documents: { total: number; done: number; failed: number };
  errors?: Array<{ documentId: string; error: string }>;
}

/** The calls an ingestion scenario makes against one API, and how it compares the stored rows. */
export function ingestionClient(api: { url?: string | undefined }, db: pg.Pool, output: () => string) {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${api.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const view = async (id: string) => {
    const response = await fetch(`${api.url}/v1/ingestions/${id}`).catch(() => undefined);
    return response?.status === 200 ? ((await response.json()) as IngestionView) : undefined;
  };
  return {
    post,
    view,
    /** Creates `collection` and submits the corpus to it; the ingestion's id. */
    async start(collection: string): Promise<string> {
      expect((await post("/v1/collections", { name: collection, model: "nomic-embed-text", chunkTokens: 48, chunkOverlap: 8 })).status).toBe(201);
      const accepted = await post(`/v1/collections/${collection}/documents`, { documents: corpus() });
      expect(accepted.status).toBe(202);
      return accepted.body["ingestionId"] as string;
    },
    finished: (id: string) =>
      waitFor(async () => {
        const current = await view(id);
        return current && current.status !== "running" ? current : undefined;
      }, { timeoutMs: 120_000, intervalMs: 100, message: `ingestion ${id}\n${output().slice(-3000)}` }),
    /** Waits until some documents of `id` are stored, but not most. */
    underWay: (id: string) =>
      waitFor(async () => {
        const current = await view(id);
        return current !== undefined && current.documents.done >= 2 && current.documents.done < current.documents.total * 0.6;
      }, { intervalMs: 20, message: "the ingestion to be under way" }),
    async fingerprint(name: string) {
      const collection = await findCollection(db, "local", name);
      if (!collection) throw new Error(`no collection ${name}`);
      return collectionFingerprint(db, collection.id);
    },
  };
}

type Fingerprint = Awaited<ReturnType<ReturnType<typeof ingestionClient>["fingerprint"]>>;

/** Rows of `disturbed` stored twice for one (document, ordinal), and rows of `reference` it lacks. */
function compareRows(reference: Fingerprint, disturbed: Fingerprint): { duplicateRows: number; missingRows: number; identical: boolean } {
  const key = (row: { externalId: string; ordinal: number }) => `${row.externalId}#${row.ordinal}`;
  const present = new Set(disturbed.map(key));
  return {
    duplicateRows: disturbed.length - present.size,
    missingRows: [...new Set(reference.map(key))].filter((k) => !present.has(k)).length,
    identical: JSON.stringify(disturbed) === JSON.stringify(reference),
  };
}

/** Failure reasons of an ingestion's documents, counted by their first 60 characters. */
function failureCounts(view: IngestionView): Record<string, number> {
  const failed: Record<string, number> = {};
  for (const error of view.errors ?? []) failed[error.error.slice(0, 60)] = (failed[error.error.slice(0, 60)] ?? 0) + 1;
  return failed;
}

/** The counting columns of an ingestion's row, and a note comparing its rows with the reference's. */
export function ingestionTally(summary: IngestionView, reference: Fingerprint, disturbed: Fingerprint) {
  const { duplicateRows, missingRows, identical } = compareRows(reference, disturbed);
  return {
    columns: {
      accepted: summary.documents.total,
      completed: summary.documents.done,
      failed: failureCounts(summary),
      lost: summary.documents.total - summary.documents.done - summary.documents.failed,
      duplicates: duplicateRows,
    },
    comparison: `Chunk rows compared with an undisturbed ingestion of the same documents in the same run: ${disturbed.length} vs ${reference.length}, ${missingRows} missing, vectors and hashes ${identical ? "identical" : "DIFFERENT"}`,
  };
}

/** Every document done, and the same rows, vectors and hashes as the undisturbed ingestion. */
export function expectSameRows(summary: IngestionView, reference: Fingerprint, disturbed: Fingerprint): void {
  const { duplicateRows, missingRows } = compareRows(reference, disturbed);
  expect(summary).toMatchObject({ status: "completed", documents: { done: DOCUMENTS, failed: 0 } });
  expect(duplicateRows).toBe(0);
  expect(missingRows).toBe(0);
  expect(disturbed).toEqual(reference);
}
