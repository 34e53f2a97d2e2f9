import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, waitFor, type TestDatabase } from "@herd/testing";
import { MIGRATION_LOCK, migrate } from "../src/index.js";

// Two sessions at once: native PostgreSQL only (PGlite serves one).
let database: TestDatabase;
let pool: pg.Pool;
let otherProcess: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase("migrate-lock");
  pool = new pg.Pool({ connectionString: database.url, max: 1 });
  otherProcess = new pg.Client({ connectionString: database.url });
  await otherProcess.connect();
});

afterAll(async () => {
  await otherProcess?.end();
  await pool?.end();
  await database?.drop();
});

it("reports that it waits behind another session's migration, then migrates once that one ends", async () => {
  await otherProcess.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  let waits = 0;
  let settled = false;
  const migrating = migrate(pool, [{ version: 1, name: "after_lock", sql: "CREATE TABLE after_lock (id int)" }], () => {
    waits += 1;
  }).finally(() => {
    settled = true;
  });
  await waitFor(() => waits === 1, { message: "migrate to report the wait" });
  // The wait is real: the migration has not run while the other session holds the lock.
  const table = await otherProcess.query("SELECT to_regclass('after_lock') AS name");
  expect(table.rows[0]?.name).toBeNull();
  expect(settled).toBe(false);
  await otherProcess.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  expect(await migrating).toEqual([1]);
  expect(waits).toBe(1);
  // With the lock free, a later run neither waits nor applies anything again.
  expect(await migrate(pool, [{ version: 1, name: "after_lock", sql: "CREATE TABLE after_lock (id int)" }], () => (waits += 1))).toEqual([]);
  expect(waits).toBe(1);
});
