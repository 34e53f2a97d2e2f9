import { existsSync } from "node:fs";
import pg from "pg";
import type { DatabaseConfig } from "@herd/config";
import { createLogger } from "@herd/logger";
import { dataDirOwner, loadMigrations, openDatabase, type Queryable } from "@herd/store";
import { fail, ok, versionAtLeast, warn, type Finding } from "./report.js";
import type { CollectionChunking } from "./chunks.js";

const MIN_POSTGRES = 150000;
const MIN_PGVECTOR = "0.7.0";

export interface DatabaseReport {
  findings: Finding[];
  /** Each collection's embedding model and chunk size, when the database could be read. */
  collections: CollectionChunking[] | undefined;
}

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return `${parsed.host}${parsed.pathname}`;
}

async function tableExists(db: Queryable, table: string): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
  return rows[0]?.found != null;
}

/** Server and pgvector versions, migrations applied, and the models the collections embed with. */
async function inspect(db: Queryable, where: string): Promise<DatabaseReport> {
  const findings: Finding[] = [];
  const server = (await db.query<{ version: string; num: string }>("SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num")).rows[0];
  const versionText = server?.version ?? "unknown";
  if (Number(server?.num ?? 0) < MIN_POSTGRES) findings.push(fail("Postgres", `PostgreSQL ${versionText} at ${where} is too old: Herd needs 15 or newer`));
  else findings.push(ok("Postgres", `PostgreSQL ${versionText} at ${where}`));

  const installed = (await db.query<{ version: string }>("SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'")).rows[0]?.version;
  const available = (await db.query<{ version: string }>("SELECT default_version AS version FROM pg_available_extensions WHERE name = 'vector'")).rows[0]?.version;
  const vector = installed ?? available;
  if (!vector) findings.push(fail("pgvector", "the vector extension is not installed on the server: use the pgvector/pgvector image, or scripts/install-pgvector.sh"));
  else if (!versionAtLeast(vector, MIN_PGVECTOR)) findings.push(fail("pgvector", `pgvector ${vector} is too old: Herd needs ${MIN_PGVECTOR} or newer (HNSW indexes, halfvec)`));
  else findings.push(ok("pgvector", installed ? `pgvector ${installed} in this database` : `pgvector ${available} available (the first migration creates the extension)`));

  const latest = loadMigrations().at(-1)?.version ?? 0;
  const applied = (await tableExists(db, "herd_migrations")) ? Number((await db.query<{ v: number | null }>("SELECT max(version) AS v FROM herd_migrations")).rows[0]?.v ?? 0) : 0;
  if (applied > latest) findings.push(fail("migrations", `the database is at migration ${applied}, newer than this Herd (${latest}): upgrade Herd`));
  else if (applied < latest) findings.push(warn("migrations", `${applied} of ${latest} applied: the API applies the rest at start-up, or run herd migrate`));
  else findings.push(ok("migrations", `all ${latest} applied`));

  const collections = (await tableExists(db, "collections")) ? (await db.query<CollectionChunking>('SELECT name, model, chunk_tokens AS "chunkTokens" FROM collections ORDER BY name')).rows : [];
  return { findings, collections };
}

export async function checkDatabase(config: DatabaseConfig, timeoutMs: number): Promise<DatabaseReport> {
  if (config.url) {
    const pool = new pg.Pool({ connectionString: config.url, max: 1, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
    // A dropped connection rejects the pending query; the event would otherwise crash the process.
    pool.on("error", () => undefined);
    try {
      return await inspect(pool, redacted(config.url));
    } catch (error) {
      return { findings: [fail("Postgres", `cannot use DATABASE_URL (${redacted(config.url)}): ${(error as Error).message}`)], collections: undefined };
    } finally {
      await pool.end();
    }
  }
  const embedded = "DATABASE_URL is unset: the API runs the embedded PGlite database (development only; set DATABASE_URL for production)";
  if (!existsSync(config.embeddedDataDir)) {
    return { findings: [warn("Postgres", `${embedded}; ${config.embeddedDataDir} does not exist yet (npm start creates it)`)], collections: [] };
  }
  const owner = dataDirOwner(config.embeddedDataDir);
  if (owner !== undefined) {
    return { findings: [warn("Postgres", `${embedded}; in use by a running Herd (process ${owner}), so its collections are not checked`)], collections: undefined };
  }
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase({ url: undefined, embeddedDataDir: config.embeddedDataDir, poolMax: 1, logger: createLogger({ name: "herd-doctor", level: "silent", format: "json" }) });
  } catch (error) {
    return { findings: [fail("Postgres", `${embedded}; it cannot be opened: ${(error as Error).message.split("\n")[0]}`)], collections: undefined };
  }
  try {
    const report = await inspect(db.pool, `embedded (${config.embeddedDataDir})`);
    return { findings: [warn("embedded database", embedded), ...report.findings], collections: report.collections };
  } finally {
    await db.close();
  }
}
