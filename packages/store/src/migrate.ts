import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Pool } from "pg";
import { checkout } from "./database.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));
/**
 * The session-level advisory lock migrations run under (one migrating process per database). Any
 * constant works; it only has to be the same in every process that migrates.
 */
export const MIGRATION_LOCK = 4_730_482_211;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered files `NNNN_name.sql`, in order. Landed files are never edited; new ones are added. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: Number(file.slice(0, 4)), name: file.slice(5, -4), sql: readFileSync(`${dir}${file}`, "utf8") }));
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock so several
 * processes starting at once migrate exactly once. Returns the versions applied. When another
 * session holds the lock, `warn` hears of it before this one waits (a process stuck behind a
 * migration that never ends then says why it does not start).
 */
export async function migrate(pool: Pool, migrations = loadMigrations(), warn?: (message: string) => void): Promise<number[]> {
  const client = await checkout(pool);
  const applied: number[] = [];
  try {
    const free = (await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [MIGRATION_LOCK])).rows[0]?.locked === true;
    if (!free) {
      warn?.("waiting for another process's database migration to finish (PostgreSQL advisory lock)");
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    }
    await client.query(`CREATE TABLE IF NOT EXISTS herd_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>("SELECT version FROM herd_migrations")).rows.map((row) => row.version));
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO herd_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name]);
        await client.query("COMMIT");
        applied.push(migration.version);
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    // If the connection broke, the session-level lock went with it: nothing left to release.
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
