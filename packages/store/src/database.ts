import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { coerceError, type Logger } from "@herd/logger";

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

const EMBEDDED_MAIN = fileURLToPath(new URL("./embedded-main.js", import.meta.url));

/** Starts the embedded server in its own process and resolves with its URL once it listens. */
export async function startEmbeddedProcess(dataDir: string, logger: Logger, timeoutMs = 60_000): Promise<{ url: string; child: ChildProcess }> {
  // Its own process group: a Ctrl+C on the API's terminal must not stop the database under the
  // API's shutdown; close() stops it last, and it stops by itself when its stdin closes.
  const child = spawn(process.execPath, [EMBEDDED_MAIN, "--data-dir", dataDir], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    logger.warn({ embedded: chunk.toString().trim() }, "embedded postgres");
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`embedded postgres did not start within ${timeoutMs}ms: ${output}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((entry) => entry.includes('"event":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded postgres exited (${code}): ${output}`));
    });
  });
  return { url, child };
}

/**
 * One code path for both servers: everything talks to Postgres through `pg`. With no URL, Herd
 * runs PGlite (with pgvector) as a child process and connects to it over the wire protocol with a
 * single connection, because PGlite is a single session.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let child: ChildProcess | undefined;
  let url = options.url;
  if (!url) {
    const embedded = await startEmbeddedProcess(options.embeddedDataDir, options.logger);
    url = embedded.url;
    child = embedded.child;
  }
  const pool = new pg.Pool({ connectionString: url, max: child ? 1 : options.poolMax, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  pool.on("error", (error) => options.logger.warn({ err: coerceError(error) }, "idle postgres connection failed"));
  return {
    pool,
    url,
    embedded: child !== undefined,
    async close() {
      await pool.end();
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
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

/** True for errors that mean "the database is not reachable right now" (worth a retry). */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (/^08/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"].includes(code))) return true;
  return error instanceof Error && /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(error.message);
}
