import { describe, expect, it } from "vitest";
import { insertCollection, loadMigrations, migrate, searchCandidates, searchChunks, textSearchLanguages, upsertChunks, upsertDocument, type Collection } from "../src/index.js";
import { databaseServers, usePool } from "./servers.js";

const GERMAN = ["Die Pumpen müssen vor dem ersten Start entlüftet werden.", "Der Keilriemen wird monatlich gespannt."];

describe.each(databaseServers("language"))("collection languages on $name", (server) => {
  const pool = usePool(server);

  async function store(collection: Collection, texts: readonly string[]): Promise<void> {
    const document = await upsertDocument(pool(), { collectionId: collection.id, externalId: `doc-${collection.name}`, source: null, mimeType: "text/plain", contentHash: collection.name, metadata: {} });
    await upsertChunks(pool(), collection.id, document.id, texts.map((text, ordinal) => ({ ordinal, heading: null, text, tokenCount: 8, contentHash: `${collection.name}-${ordinal}`, embedding: [1, 0, 0, ordinal] })));
  }
  const keyword = (collection: Collection, query: string) =>
    searchChunks(pool(), "keyword", { collectionId: collection.id, dimensions: 4, language: collection.language, k: 5, candidates: searchCandidates(5), query });

  it("keeps the English chunks stored before languages, and stems each collection's own language after", async () => {
    const all = loadMigrations();
    expect(await migrate(pool(), all.filter((migration) => migration.version <= 5))).toEqual([1, 2, 3, 4, 5]);
    const { rows: created } = await pool().query<{ id: string }>("INSERT INTO collections (tenant, name, model, dimensions, chunk_tokens, chunk_overlap) VALUES ('t', 'old', 'm', 4, 64, 8) RETURNING id");
    const oldId = Number(created[0]?.id);
    const { rows: documents } = await pool().query<{ id: string }>("INSERT INTO documents (collection_id, external_id, mime_type, content_hash, status) VALUES ($1, 'a', 'text/plain', 'h', 'ready') RETURNING id", [oldId]);
    await pool().query("INSERT INTO chunks (collection_id, document_id, ordinal, text, token_count, content_hash, embedding) VALUES ($1, $2, 0, 'Replacing the pumps', 3, 'c', '[1,0,0,0]')", [oldId, documents[0]?.id]);

    expect(await migrate(pool(), all.filter((migration) => migration.version <= 6))).toEqual([6]);
    await migrate(pool(), all);
    const { rows: kept } = await pool().query<{ tsv: string; language: string }>("SELECT k.tsv::text AS tsv, c.language::text AS language FROM chunks k JOIN collections c ON c.id = k.collection_id");
    expect(kept).toEqual([{ tsv: "'pump':3 'replac':1", language: "english" }]);
    const old = { id: oldId, tenant: "t", name: "old", model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8, language: "english", queryPrefix: "", documentPrefix: "", vectorIndex: "hnsw" as const, createdAt: "" };
    expect((await keyword(old, "pump replaced")).map((hit) => hit.text)).toEqual(["Replacing the pumps"]);

    const german = await insertCollection(pool(), { tenant: "t", name: "handbuch", model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8, language: "german" });
    const english = await insertCollection(pool(), { tenant: "t", name: "manual", model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8 });
    if (!german || !english) throw new Error("collections not created");
    expect([german.language, english.language]).toEqual(["german", "english"]);
    await store(german, GERMAN);
    await store(english, GERMAN);
    // German stemming finds "Pumpen" for "Pumpe" and drops "der"/"die" as stop words; English does neither.
    expect((await keyword(german, "Pumpe entlüften")).map((hit) => hit.text)).toEqual([GERMAN[0]]);
    expect((await keyword(german, "Pumpen")).map((hit) => hit.text)).toEqual([GERMAN[0]]);
    expect(await keyword(english, "Pumpe entlüften")).toEqual([]);
    expect(await keyword(german, "der die")).toEqual([]);
    expect((await keyword(english, "der die")).length).toBe(2);
  });

  it("recomputes a rewritten chunk's terms in its collection's language", async () => {
    const { rows } = await pool().query<{ id: string; language: string }>("SELECT id, language::text AS language FROM collections WHERE name = 'handbuch'");
    const german = { id: Number(rows[0]?.id), tenant: "t", name: "handbuch", model: "m", dimensions: 4, chunkTokens: 64, chunkOverlap: 8, language: rows[0]?.language ?? "", queryPrefix: "", documentPrefix: "", vectorIndex: "hnsw" as const, createdAt: "" };
    const { rows: documents } = await pool().query<{ id: string }>("SELECT id FROM documents WHERE collection_id = $1", [german.id]);
    await upsertChunks(pool(), german.id, Number(documents[0]?.id), [{ ordinal: 1, heading: "Ventile", text: "Die Ventile werden jährlich geprüft.", tokenCount: 6, contentHash: "changed", embedding: [0, 1, 0, 0] }]);
    expect((await keyword(german, "Ventil prüfen")).map((hit) => hit.heading)).toEqual(["Ventile"]);
    expect(await keyword(german, "Keilriemen")).toEqual([]);
  });

  it("lists the languages the database has", async () => {
    const languages = await textSearchLanguages(pool());
    expect(languages).toEqual(expect.arrayContaining(["english", "german", "french", "simple"]));
  });
});
