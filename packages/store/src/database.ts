import pg from "pg";
import { coerceError, type Logger } from "@herd/logger";
import { EmbeddedProcess } from "./embedded-process.js";

export type Queryable = pg.Pool | pg.PoolClient;

export interface DatabaseOptions {
  /** A Postgres URL; unset means the embedded PGlite server, started as a child process. */
  url: string | undefined;
  /** Where the embedded server keeps its data. */
  embeddedDataDir: string;
  poolMax: number;
  logger: Logger;
}

export interface Database {
  pool: pg.Pool;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * One code path for both servers: everything talks to Postgres through `pg`. With no URL, Herd
 * runs PGlite (with pgvector) as a child process and connects to it over the wire protocol with a
 * single connection, because PGlite is a single session.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const embedded = options.url ? undefined : await EmbeddedProcess.start(options.embeddedDataDir, options.logger);
  const url = embedded ? embedded.url : (options.url ?? "");
  // The embedded server's one connection is never closed for idleness: a query arriving as the pool
  // closed it would open another while the first was still closing, which that server refuses
  // (measured: 7 of 60 queries failed when they came as the pool reaped its idle client).
  const pool = new pg.Pool({ connectionString: url, max: embedded ? 1 : options.poolMax, idleTimeoutMillis: embedded ? 0 : 30_000, connectionTimeoutMillis: 10_000 });
  pool.on("error", (error) => options.logger.warn({ err: coerceError(error) }, "idle postgres connection failed"));
  if (embedded) keepSessionAfterFailedStatements(pool);
  return {
    pool,
    url,
    embedded: embedded !== undefined,
    async close() {
      await pool.end();
      await embedded?.close();
    },
  };
}

/**
 * A checked-out client whose connection dies emits 'error' with nobody listening unless we do,
 * which would crash the process; the failing query rejects anyway, so recording it is enough.
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const onError = (error: Error) => {
    (client as pg.PoolClient & { lastError?: Error }).lastError = error;
  };
  client.on("error", onError);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    client.off("error", onError);
    return release(destroy);
  };
  return client;
}

/**
 * pg-pool ends a client whose query failed and opens a new connection for the next query at once,
 * while the old one is still closing. The embedded server takes one connection, so it refuses the
 * new one and the next query fails with "Connection terminated unexpectedly": a request paid for
 * another's SQL error (and the session's prepared statements outlived the client that knew them).
 * A statement that failed outside a transaction leaves the session as it was, so the embedded
 * pool keeps its client unless the connection itself broke.
 */
function keepSessionAfterFailedStatements(pool: pg.Pool): void {
  const query = async (config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> => {
    const client = await checkout(pool);
    try {
      const result = await client.query(config, values);
      client.release();
      return result;
    } catch (error) {
      client.release(isDatabaseUnavailable(error) ? (error as Error) : undefined);
      throw error;
    }
  };
  pool.query = query as pg.Pool["query"];
}

/** Runs `work` in a transaction on one pooled connection. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool);
  let result: T;
  try {
    await client.query("BEGIN");
    result = await work(client);
    await client.query("COMMIT");
  } catch (error) {
    // The original error is what matters; a failed ROLLBACK means the connection is gone anyway.
    await client.query("ROLLBACK").catch(() => undefined);
    // A broken connection is dropped rather than returned to the pool.
    client.release(isDatabaseUnavailable(error) ? (error as Error) : undefined);
    throw error;
  }
  client.release();
  return result;
}

/** A row referenced by the write is gone (SQLSTATE 23503): for chunks, their document or collection was deleted. */
export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "23503";
}

/**
 * The statement held a character the database cannot store: U+0000 in text or jsonb (SQLSTATE
 * 22021 for text, 22P05 for a jsonb \u0000 escape). The request's data is at fault, not the database.
 */
export function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "22021" || code === "22P05";
}

/** True for errors that mean "the database is not reachable right now" (worth a retry). */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (/^08/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"].includes(code))) return true;
  return error instanceof Error && /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(error.message);
}
