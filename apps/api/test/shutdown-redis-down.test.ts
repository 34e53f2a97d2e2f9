import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, freePort, uniquePrefix, waitFor, type TestDatabase } from "@herd/testing";

const API = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** SIGTERM while Redis cannot be reached: every step of the shutdown ends, none waits out the deadline. */
describe("the API shutting down while its Redis is unreachable", () => {
  const prefix = uniquePrefix("down-shutdown");
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(prefix);
  });
  afterAll(() => database?.drop());

  it("stops with no shutdown step timing out", async () => {
    const child = spawn(process.execPath, [API], {
      env: { PATH: process.env["PATH"], REDIS_URL: `redis://127.0.0.1:${await freePort()}`, HERD_PREFIX: prefix, PORT: "0", HERD_AUTH: "open", DATABASE_URL: database.url, LOG_FORMAT: "json", HERD_SHUTDOWN_TIMEOUT: "20s" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await waitFor(() => output.includes("herd api listening"), { timeoutMs: 30_000, message: "the API listening" });
      child.kill("SIGTERM");
      // 143: stopped by SIGTERM, after its shutdown ran (128 + 15, as a shell reports it).
      expect(await exited).toBe(143);
      expect(output).toContain('"msg":"shutting down"');
      expect(output).not.toContain("shutdown step failed");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});
