import { spawn, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, deletePrefix, testEnv, testRedis, uniquePrefix, type TestDatabase } from "@herd/testing";

const entry = (app: string) => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));

describe("start-up configuration errors", () => {
  it("a worker without instances exits 2 naming HERD_INSTANCES", () => {
    const result = spawnSync(process.execPath, [entry("worker")], { env: { PATH: process.env["PATH"] }, encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("HERD_INSTANCES: at least one Ollama instance is required");
  });

  it("a worker with a malformed setting exits 2 naming it", () => {
    const result = spawnSync(process.execPath, [entry("worker")], {
      env: { PATH: process.env["PATH"], HERD_INSTANCES: "http://127.0.0.1:1", HERD_PROBE_INTERVAL: "often" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("HERD_PROBE_INTERVAL: expected a duration");
  });

  it("the API with a bad port exits 2 naming PORT", () => {
    const result = spawnSync(process.execPath, [entry("api")], { env: { PATH: process.env["PATH"], PORT: "99999" }, encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("PORT: must be between 0 and 65535");
  });
});

describe("a listening address already in use", () => {
  let taken: Server;
  let port: number;
  let database: TestDatabase;
  const prefix = uniquePrefix("boot");
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    port = (taken.address() as { port: number }).port;
    database = await createTestDatabase(prefix);
  });
  afterAll(async () => {
    await new Promise((resolve) => taken?.close(resolve));
    await database?.drop();
    const redis = testRedis();
    try {
      await deletePrefix(redis, prefix);
    } finally {
      redis.disconnect();
    }
  });

  /** Runs an app to its exit: status and what it printed on stderr. */
  const run = (app: string, env: Record<string, string>) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [entry(app)], { env: { PATH: process.env["PATH"], REDIS_URL: testEnv.TEST_REDIS_URL, HERD_PREFIX: prefix, ...env }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.once("exit", (status) => {
        clearTimeout(timer);
        resolve({ status, stderr });
      });
    });

  it("the API exits 2 naming PORT and the address, without a stack trace", async () => {
    const result = await run("api", { PORT: String(port), HOST: "127.0.0.1", HERD_AUTH: "open", DATABASE_URL: database.url });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`PORT: 127.0.0.1:${port} is already in use; set another port (or HOST)`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("a worker exits 2 naming HERD_METRICS_PORT, before taking any job", async () => {
    const result = await run("worker", { HERD_INSTANCES: "http://127.0.0.1:1", HERD_METRICS_PORT: String(port), HERD_METRICS_HOST: "127.0.0.1" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`HERD_METRICS_PORT: 127.0.0.1:${port} is already in use; set another port, or "off"`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
