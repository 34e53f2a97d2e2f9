import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMigrations, startEmbeddedServer } from "@herd/store";
import { createTestDatabase, waitFor, type TestDatabase } from "@herd/testing";

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const STORE = new URL("../../../packages/store/dist/index.js", import.meta.url).href;
const LOGGER = new URL("../../../packages/logger/dist/index.js", import.meta.url).href;

function herd(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env["PATH"], ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const MIGRATIONS = loadMigrations();
const ALL = MIGRATIONS.map((migration) => migration.version).join(", ");
const LATEST = MIGRATIONS.at(-1);

describe("herd migrate", () => {
  let database: TestDatabase;
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("cli_migrate");
  });

  afterAll(async () => {
    await database.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "herd-migrate-"));
    dirs.push(dir);
    return dir;
  }

  it("applies the migrations to DATABASE_URL once, then reports it up to date", async () => {
    const first = herd(["migrate"], { DATABASE_URL: database.url });
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(new RegExp(`^applied migrations ${ALL} to DATABASE_URL`));
    expect(first.code).toBe(0);
    const second = herd(["migrate"], { DATABASE_URL: database.url });
    expect(second.stdout).toMatch(new RegExp(`^DATABASE_URL is up to date \\(migration ${LATEST?.version}_${LATEST?.name}\\)`));
    expect(second.code).toBe(0);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
      expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(["chunks", "collections", "documents", "herd_migrations"]));
    } finally {
      await client.end();
    }
  });

  it("names the bad field when DATABASE_URL is not a Postgres URL", () => {
    const result = herd(["migrate"], { DATABASE_URL: "mysql://localhost/db" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("DATABASE_URL");
  });

  it("migrates the embedded database, and refuses one that another process has open", async () => {
    const dataDir = tempDir();
    const first = herd(["migrate"], { HERD_DATA_DIR: dataDir });
    expect(first.stdout).toContain(`applied migrations ${ALL} to embedded database (${dataDir}/pglite)`);
    expect(first.code).toBe(0);
    expect(existsSync(`${dataDir}/pglite.lock`)).toBe(false);

    const holder = await startEmbeddedServer({ dataDir: `${dataDir}/pglite` });
    try {
      const refused = herd(["migrate"], { HERD_DATA_DIR: dataDir });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`is in use by process ${process.pid}`);
    } finally {
      await holder.close();
    }
    expect(herd(["migrate"], { HERD_DATA_DIR: dataDir }).stdout).toContain("is up to date");
  }, 120_000);

  it("takes over the lock of a process killed with -9, whose embedded server goes with it", async () => {
    const dataDir = tempDir();
    const script = join(dataDir, "hold.mjs");
    // A stand-in for an API process: opens the embedded database, then waits to be killed.
    writeFileSync(
      script,
      `import { openDatabase } from ${JSON.stringify(STORE)};
       import { silentLogger } from ${JSON.stringify(LOGGER)};
       const db = await openDatabase({ url: undefined, embeddedDataDir: ${JSON.stringify(`${dataDir}/pglite`)}, poolMax: 1, logger: silentLogger() });
       await db.pool.query("SELECT 1");
       console.log("open");
       setInterval(() => {}, 1000);`,
    );
    const holder = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    holder.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes("open"), { timeoutMs: 60_000, message: "the holder to open the database" });
    expect(existsSync(`${dataDir}/pglite.lock`)).toBe(true);
    holder.kill("SIGKILL");
    // The orphaned embedded server notices its parent is gone, closes and releases the lock.
    await waitFor(() => !existsSync(`${dataDir}/pglite.lock`), { timeoutMs: 30_000, message: "the orphaned embedded server to exit" });
    const result = herd(["migrate"], { HERD_DATA_DIR: dataDir });
    expect(result.stdout).toContain("applied migrations 1");
    expect(result.code).toBe(0);
  }, 120_000);
});
