import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@herd/logger";
// The embedded server runs dist/embedded-main.js: the compiled package, as the API uses it.
import { openDatabase, type Database } from "../dist/index.js";

/**
 * The embedded server accepts one connection. A statement that fails must cost only its own
 * caller: the next statement, issued at once by someone else, runs on the same session.
 */
describe("embedded database after a failed statement", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "herd-embedded-errors-"));
  let db: Database | undefined;
  const pool = () => {
    if (!db) throw new Error("the database is not open");
    return db.pool;
  };
  beforeAll(async () => {
    db = await openDatabase({ url: undefined, embeddedDataDir: dataDir, poolMax: 1, logger: createLogger({ name: "embedded-errors", level: "silent", format: "json" }) });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ["an execution error", { text: "SELECT 1 / 0" }, /division by zero/],
    ["a bad parameter", { text: "SELECT $1::int", values: ["twelve"] }, /invalid input syntax for type integer/],
    ["a syntax error", { text: "SELEC 1" }, /syntax error/],
    ["a constraint violation", { text: "INSERT INTO numbers VALUES (1)" }, /duplicate key/],
  ])("answers the next statement at once after %s", async (_, failing, message) => {
    await pool().query("CREATE TABLE IF NOT EXISTS numbers (n int PRIMARY KEY)");
    await pool().query("INSERT INTO numbers VALUES (1) ON CONFLICT DO NOTHING");
    await expect(pool().query(failing)).rejects.toThrow(message);
    expect((await pool().query<{ n: number }>("SELECT n FROM numbers")).rows).toEqual([{ n: 1 }]);
  });

  it("keeps the session's prepared statements across a failed statement", async () => {
    await pool().query({ name: "herd-test-count", text: "SELECT count(*)::int AS n FROM numbers" });
    await expect(pool().query("SELECT 1 / 0")).rejects.toThrow(/division by zero/);
    expect((await pool().query<{ n: number }>({ name: "herd-test-count", text: "SELECT count(*)::int AS n FROM numbers" })).rows).toEqual([{ n: 1 }]);
  });
});
