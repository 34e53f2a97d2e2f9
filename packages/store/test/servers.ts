import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@herd/testing";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { startEmbeddedServer } from "../src/index.js";

export interface Server {
  name: string;
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

/** The two databases Herd runs on (a fresh one each start); store tests run against each. */
export function databaseServers(databaseName: string): Server[] {
  return [
    {
      name: "native PostgreSQL + pgvector",
      async start() {
        const database = await createTestDatabase(databaseName);
        return { url: database.url, stop: () => database.drop() };
      },
    },
    {
      name: "embedded PGlite + pgvector",
      async start() {
        const dir = mkdtempSync(join(tmpdir(), "herd-pglite-"));
        const server = await startEmbeddedServer({ dataDir: dir });
        return {
          url: server.url,
          async stop() {
            await server.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
}

/**
 * For a describe block: a fresh database on `server` before its tests, with a pool of one
 * connection (the embedded server runs one session), both closed after them.
 */
export function usePool(server: Server): () => pg.Pool {
  let started: { url: string; stop(): Promise<void> } | undefined;
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    started = await server.start();
    pool = new pg.Pool({ connectionString: started.url, max: 1 });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await started?.stop();
  });
  return () => {
    if (!pool) throw new Error("the database is not started yet");
    return pool;
  };
}
