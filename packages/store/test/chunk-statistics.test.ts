import { describe, expect, it } from "vitest";
import { waitFor } from "@herd/testing";
import { databaseServers, usePool } from "./servers.js";
import { ChunkStatistics, insertCollection, migrate, upsertChunks, upsertDocument } from "../src/index.js";

describe.each(databaseServers("chunkstats"))("chunk statistics on $name", (server) => {
  const pool = usePool(server);
  const tableRows = async () => (await pool().query<{ rows: number }>("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'chunks'::regclass")).rows[0]?.rows;

  /** A collection whose `write(from, count)` stores chunks and tells `statistics` of them. */
  async function writer(name: string, minIntervalMs: number) {
    const collection = await insertCollection(pool(), { tenant: "t1", name, model: "m", dimensions: 2, chunkTokens: 200, chunkOverlap: 20 });
    if (!collection) throw new Error("no collection");
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: `${name}.md`, source: null, mimeType: "text/markdown", contentHash: name, metadata: {} });
    const errors: unknown[] = [];
    const statistics = new ChunkStatistics(pool(), (error) => errors.push(error), minIntervalMs);
    const write = async (from: number, count: number) => {
      const chunks = Array.from({ length: count }, (_, i) => ({ ordinal: from + i, heading: null, text: `${name} valve ${from + i} seal`, tokenCount: 4, contentHash: `${name}${from + i}`, embedding: [1, 0] }));
      await upsertChunks(pool(), collection.id, document.id, chunks);
      return statistics.recordWrites(count);
    };
    return { statistics, errors, write };
  }

  it("runs ANALYZE once the rows written pass 50 plus 10% of the table, as autovacuum would", async () => {
    await migrate(pool());
    // No least interval between ANALYZEs here; the next test has one.
    const { statistics, errors, write } = await writer("stats", 0);
    const tsvStatistics = async () => (await pool().query("SELECT 1 FROM pg_stats WHERE tablename = 'chunks' AND attname = 'tsv'")).rowCount;

    expect(await write(0, 40)).toBe(false);
    expect(await tsvStatistics()).toBe(0);
    // 60 rows written, over 50 plus 10% of a table never analyzed (0 rows).
    expect(await write(40, 20)).toBe(true);
    expect(await tsvStatistics()).toBe(1);
    // The table now holds 60 rows: the next ANALYZE is due after 56 more.
    expect(await write(60, 50)).toBe(false);
    expect(await write(110, 10)).toBe(true);
    expect(await tableRows()).toBe(120);
    await statistics.close();
    expect(errors).toEqual([]);
  });

  it("analyzes at most once per interval, and when the interval ends if rows written are due by then", async () => {
    const { statistics, errors, write } = await writer("paced", 500);
    // The first test's 120 rows are in the table: due after 62 rows written, analyzed at once (the first of this instance).
    expect(await write(0, 70)).toBe(true);
    expect(await tableRows()).toBe(190);
    // Due again, but within the interval: deferred, then run when it ends.
    expect(await write(70, 80)).toBe(false);
    expect(await tableRows()).toBe(190);
    await waitFor(async () => (await tableRows()) === 270, { timeoutMs: 10_000, message: "the deferred ANALYZE" });
    await statistics.close();
    expect(errors).toEqual([]);
  });
});
