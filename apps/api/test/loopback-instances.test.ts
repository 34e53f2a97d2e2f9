import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetRegistry, InstanceDescriptions, type WorkerHeartbeat } from "@herd/fleet";
import { freePort, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/**
 * Workers beside Ollama on GPU boxes, each bound to its own `http://127.0.0.1:11434`: the API runs
 * on another machine and cannot call those servers. The boxes' workers are stood in for by the
 * heartbeats and descriptions such workers write (hosts other than this one), with the loopback
 * URL of a port where nothing listens here: any call the API made to it would fail.
 */
describe("instances that workers on other machines reach through a loopback URL", () => {
  let stack: Stack;
  const prefix = uniquePrefix("loopback");
  const redis = testRedis();
  const registry = new FleetRegistry(redis, prefix);
  const descriptions = new InstanceDescriptions(redis, prefix);
  let boxUrl: string;

  const boxWorker = (host: string, models: string[]): WorkerHeartbeat => ({
    workerId: `${host}-worker`,
    host,
    pid: 1,
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    instances: [
      {
        name: `${host}-11434`,
        url: boxUrl,
        healthy: true,
        weight: 1,
        version: "0.13.5",
        lastProbeAt: new Date().toISOString(),
        lastProbeMs: 1.5,
        models: models.map((model) => ({ model, kinds: ["embed"], slots: 1, inFlight: 0, completed: 0, failed: 0, embeddingLength: 768 })),
      },
    ],
  });

  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true } });
    boxUrl = `http://127.0.0.1:${await freePort()}`;
  });

  afterAll(async () => {
    const published = await registry.list();
    for (const host of ["gpu-box-a", "gpu-box-b"]) {
      for (const run of published.filter((worker) => worker.workerId === `${host}-worker`)) await registry.leave(run);
      await descriptions.remove(`${host}-worker`, [boxUrl]);
    }
    await stack?.close();
    redis.disconnect();
  });

  it("a worker publishes what its instance said at discovery: /api/tags entries and /api/show answers", async () => {
    const local = stack.fleet.instances[0];
    const described = await waitFor(() => descriptions.read(stack.workerConfig.workerId, local?.url ?? ""), { message: "the local worker's description" });
    expect(described.tags.map((entry) => entry.name)).toContain("nomic-embed-text:latest");
    expect(described.tags.find((entry) => entry.name === "nomic-embed-text:latest")).toMatchObject({ digest: expect.any(String), details: { family: "nomic-bert" } });
    expect(described.show["nomic-embed-text:latest"]).toMatchObject({ model_info: { "nomic-bert.embedding_length": 768 }, capabilities: ["embedding"] });
  });

  it("keeps two boxes' local servers apart and answers for them from their workers' reports, never calling them", async () => {
    const local = stack.fleet.instances[0];
    const template = await waitFor(() => descriptions.read(stack.workerConfig.workerId, local?.url ?? ""), { message: "the local worker's description" });
    const nomic = template.tags.find((entry) => entry.name === "nomic-embed-text:latest");
    // Box B alone has a model: its tag entry and /api/show answer exist only in its worker's description.
    const onlyOnB = { ...nomic, name: "mxbai-embed-large:latest", model: "mxbai-embed-large:latest" };
    const onlyOnBShow = { ...(template.show["nomic-embed-text:latest"] as object), license: "box b's copy" };
    await registry.publish(boxWorker("gpu-box-a", ["nomic-embed-text:latest"]), 60_000);
    await registry.publish(boxWorker("gpu-box-b", ["nomic-embed-text:latest", "mxbai-embed-large:latest"]), 60_000);
    await descriptions.publish("gpu-box-a-worker", boxUrl, { tags: [nomic ?? { name: "nomic-embed-text:latest" }], show: { "nomic-embed-text:latest": template.show["nomic-embed-text:latest"] } }, 60_000);
    await descriptions.publish("gpu-box-b-worker", boxUrl, { tags: [nomic ?? { name: "nomic-embed-text:latest" }, onlyOnB], show: { "nomic-embed-text:latest": template.show["nomic-embed-text:latest"], "mxbai-embed-large:latest": onlyOnBShow } }, 60_000);
    await waitFor(async () => (await stack.get("/v1/fleet")).body.workers.length === 3, { message: "the API to see both boxes' workers" });

    const health = await stack.get("/api/ollama-health");
    expect(health.status).toBe(200);
    const byName = Object.fromEntries((health.body.instances as Array<{ name: string }>).map((instance) => [instance.name, instance]));
    expect(Object.keys(byName).sort()).toEqual(["gpu-box-a-11434", "gpu-box-b-11434", local?.ctx.name].sort());
    expect(byName["gpu-box-a-11434"]).toMatchObject({ url: boxUrl, healthy: true, latencyMs: 1.5, version: "0.13.5", workers: ["gpu-box-a-worker"], probedBy: "worker" });
    expect(byName["gpu-box-b-11434"]).toMatchObject({ healthy: true, workers: ["gpu-box-b-worker"], probedBy: "worker" });
    expect(byName[local?.ctx.name ?? ""]).toMatchObject({ healthy: true, probedBy: "api" });
    expect(health.body.healthy).toBe(true);

    const tags = await stack.get("/api/tags");
    expect(tags.status).toBe(200);
    expect((tags.body.models as Array<{ name: string }>).map((model) => model.name)).toContain("mxbai-embed-large:latest");

    const shown = await stack.post("/api/show", { model: "mxbai-embed-large" });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ license: "box b's copy", model_info: { "nomic-bert.embedding_length": 768 } });
    // A model the API can ask a server of its own about is answered by that server.
    const ownShown = await stack.post("/api/show", { model: "nomic-embed-text" });
    expect(ownShown.status).toBe(200);
    expect(ownShown.body.license).not.toBe("box b's copy");
    // Either way, a name in another case is the served model, as Ollama finds it.
    expect((await stack.post("/api/show", { model: "MXBAI-Embed-Large" })).body).toMatchObject({ license: "box b's copy" });
    expect((await stack.post("/api/show", { model: "Nomic-Embed-Text" })).status).toBe(200);

    const ps = await stack.get("/api/ps");
    expect(ps.status).toBe(200);
  });
});
