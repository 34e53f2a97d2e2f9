import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, RedisClusterServer, uniquePrefix, type TestDatabase } from "@herd/testing";

const CLI = fileURLToPath(new URL("../dist/main.js", import.meta.url));

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env["PATH"], HERD_DOCTOR_TIMEOUT: "2s", ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

// The CLI entered through a cluster node that does not own the prefix's slot.
describe("herd keys and herd doctor on a Redis Cluster", () => {
  const prefix = uniquePrefix("cli-cluster");
  let cluster: RedisClusterServer;
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await RedisClusterServer.start({ masters: 3 });
    const owner = await cluster.ownerOf(`{${prefix}}`);
    database = await createTestDatabase(prefix);
    env = { REDIS_URL: cluster.urlOf(cluster.ports.find((port) => port !== owner) ?? 0), HERD_PREFIX: prefix, DATABASE_URL: database.url };
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
    await cluster?.close();
  });

  it("herd keys creates and lists keys with HERD_REDIS_CLUSTER=true, and fails with MOVED without it", async () => {
    const created = await run(["keys", "create", "--name", "ops"], { ...env, HERD_REDIS_CLUSTER: "true" });
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const listed = await run(["keys", "list", "--json"], { ...env, HERD_REDIS_CLUSTER: "true" });
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: "ops" })]);

    const single = await run(["keys", "list"], env);
    expect(single.code).not.toBe(0);
    expect(single.stderr).toContain("MOVED");
  });

  it("herd doctor says a cluster node needs HERD_REDIS_CLUSTER=true, and passes the queue Redis with it", async () => {
    const without = JSON.parse((await run(["doctor", "--json"], env)).stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
    expect(without.findings.find((finding) => finding.check === "queue Redis")).toMatchObject({ status: "fail", detail: expect.stringContaining("is a Redis Cluster node: set HERD_REDIS_CLUSTER=true") });

    const withFlag = JSON.parse((await run(["doctor", "--json"], { ...env, HERD_REDIS_CLUSTER: "true" })).stdout) as typeof without;
    expect(withFlag.findings.find((finding) => finding.check === "queue Redis")).toMatchObject({ status: "ok", detail: expect.stringContaining("(cluster)") });
    // With no HERD_INSTANCES the doctor reads the workers' heartbeats from the cluster: there are none.
    expect(withFlag.findings.find((finding) => finding.check === "Ollama instances")).toMatchObject({ status: "warn", detail: expect.stringContaining("no live worker reports any") });
  });
});
