import { randomBytes } from "node:crypto";
import pg from "pg";
import { testEnv } from "./env.js";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database on the native test server (TEST_DATABASE_URL, or `adminUrl`) for one test
 * file or benchmark, dropped at the end. It starts empty: the code under test runs its own migrations.
 */
export async function createTestDatabase(prefix: string, adminUrl: string = testEnv.TEST_DATABASE_URL): Promise<TestDatabase> {
  const name = `herd_${prefix.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
