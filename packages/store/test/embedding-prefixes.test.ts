import { describe, expect, it } from "vitest";
import { findCollection, insertCollection, listCollections, loadMigrations, migrate } from "../src/index.js";
import { databaseServers, usePool } from "./servers.js";

describe.each(databaseServers("prefixes"))("collections' embedding prefixes on $name", (server) => {
  const pool = usePool(server);

  it("gives collections made before them no prefixes, and stores those a new collection names", async () => {
    const all = loadMigrations();
    await migrate(pool(), all.filter((migration) => migration.version <= 10));
    await pool().query("INSERT INTO collections (tenant, name, model, dimensions, chunk_tokens, chunk_overlap) VALUES ('t', 'old', 'nomic-embed-text:latest', 4, 64, 8)");
    expect(await migrate(pool(), all.filter((migration) => migration.version <= 11))).toEqual([11]);
    expect(await findCollection(pool(), "t", "old")).toMatchObject({ queryPrefix: "", documentPrefix: "" });

    await insertCollection(pool(), { tenant: "t", name: "new", model: "nomic-embed-text:latest", dimensions: 4, chunkTokens: 64, chunkOverlap: 8, queryPrefix: "search_query: ", documentPrefix: "search_document: " });
    expect(await findCollection(pool(), "t", "new")).toMatchObject({ queryPrefix: "search_query: ", documentPrefix: "search_document: " });
    expect((await listCollections(pool(), "t")).map(({ name, queryPrefix, documentPrefix }) => ({ name, queryPrefix, documentPrefix }))).toEqual([
      { name: "new", queryPrefix: "search_query: ", documentPrefix: "search_document: " },
      { name: "old", queryPrefix: "", documentPrefix: "" },
    ]);
  });
});
