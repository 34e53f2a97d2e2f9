import { describe, expect, it } from "vitest";
import { loadMigrations, migrate } from "../src/index.js";
import { databaseServers, usePool } from "./servers.js";

const DECOMPOSED = "Pru\u0308fung.md";
const COMPOSED = "Pr\u00fcfung.md";

describe.each(databaseServers("docidnfc"))("document ids composed by migration on $name", (server) => {
  const pool = usePool(server);

  it("composes stored ids, except where the composed id is taken already", async () => {
    const all = loadMigrations();
    await migrate(pool(), all.filter((migration) => migration.version <= 11));
    const collection = async (name: string) => Number((await pool().query<{ id: string }>("INSERT INTO collections (tenant, name, model, dimensions, chunk_tokens, chunk_overlap) VALUES ('t', $1, 'm', 4, 64, 8) RETURNING id", [name])).rows[0]?.id);
    const document = (collectionId: number, id: string) => pool().query("INSERT INTO documents (collection_id, external_id, mime_type, content_hash, status) VALUES ($1, $2, 'text/markdown', $2, 'ready')", [collectionId, id]);
    const alone = await collection("alone");
    const twins = await collection("twins");
    await document(alone, DECOMPOSED);
    await document(alone, "plain.md");
    await document(twins, DECOMPOSED);
    await document(twins, COMPOSED);
    expect(await migrate(pool(), all)).toEqual([12]);
    const ids = async (collectionId: number) => (await pool().query<{ external_id: string }>("SELECT external_id FROM documents WHERE collection_id = $1 ORDER BY external_id", [collectionId])).rows.map((row) => row.external_id);
    expect(await ids(alone)).toEqual([COMPOSED, "plain.md"]);
    expect((await ids(twins)).sort()).toEqual([COMPOSED, DECOMPOSED].sort());
  });
});
