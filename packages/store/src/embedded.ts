import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { lockDataDir } from "./data-dir-lock.js";

export interface EmbeddedServer {
  url: string;
  close(): Promise<void>;
}

/**
 * PGlite (Postgres compiled to WASM) with pgvector, served over the Postgres wire protocol so the
 * rest of Herd talks to it exactly as to a real server. PGlite is a single session: clients must
 * use one connection (pool max 1). It runs queries on its own thread, so it lives in its own
 * process (see embedded-main.ts) rather than inside the API.
 */
export async function startEmbeddedServer(options: { dataDir: string; port?: number; host?: string }): Promise<EmbeddedServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const unlock = lockDataDir(options.dataDir);
  try {
    const db = await PGlite.create({ dataDir: options.dataDir, extensions: { vector } });
    const host = options.host ?? "127.0.0.1";
    const server = new PGLiteSocketServer({ db, port: options.port ?? 0, host, maxConnections: 1 });
    await server.start();
    // "host:port", with the real port once listening (port 0 picks a free one).
    const port = Number(server.getServerConn().split(":").pop());
    if (!port) throw new Error(`embedded Postgres reported no port (${server.getServerConn()})`);
    return {
      url: `postgres://postgres@${host}:${port}/postgres`,
      async close() {
        try {
          await server.stop();
          await db.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
