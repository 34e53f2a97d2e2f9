import { afterEach, describe, expect, it } from "vitest";
import { FleetRegistry } from "@herd/fleet";
import { EmulatorInstance, NO_FAULT } from "@herd/ollama-emulator";
import { deletePrefix, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import type { WorkerRuntime } from "../src/index.js";
import { Producer, startWorker, workerConfig } from "./harness.js";

const EMBED = "nomic-embed-text:latest";

describe("worker health and shutdown", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(count: number, latencyMs: number, extra: Record<string, string> = {}) {
    const prefix = uniquePrefix("health");
    const instances: EmulatorInstance[] = [];
    for (let i = 0; i < count; i += 1) instances.push(await new EmulatorInstance({ name: `emu-${i}`, preload: true, latency: { embedMs: latencyMs } }).listen());
    cleanups.push(async () => Promise.all(instances.map((instance) => instance.close())));
    const producer = new Producer(prefix);
    cleanups.push(async () => {
      await deletePrefix(producer.redis, prefix);
      await producer.close();
    });
    const config = workerConfig(prefix, instances, extra);
    const runtime = await startWorker(config);
    cleanups.push(() => runtime.close(1000));
    return { prefix, instances, producer, runtime, config };
  }

  function healthOf(runtime: WorkerRuntime, name: string): boolean | undefined {
    return runtime.monitors.find((monitor) => monitor.instance.name === name)?.healthy;
  }

  it("publishes a heartbeat with instances, models and slots, and leaves the fleet on close", async () => {
    const { prefix, runtime, config } = await setup(1, 0);
    const redis = testRedis();
    cleanups.push(async () => redis.disconnect());
    const registry = new FleetRegistry(redis, prefix);
    const [heartbeat] = await waitFor(async () => {
      const list = await registry.list();
      return list.length === 1 && list[0]?.instances[0]?.healthy ? list : undefined;
    });
    expect(heartbeat?.workerId).toBe(config.workerId);
    expect(heartbeat?.instances[0]?.models.map((model) => [model.model, model.kinds, model.slots])).toEqual([
      ["nomic-embed-text:latest", ["embed"], 1],
      ["all-minilm:latest", ["embed"], 1],
      ["llama3.2:latest", ["generate"], 1],
    ]);
    await runtime.close(1000);
    expect(await registry.list()).toEqual([]);
  });

  it("stops pulling from an instance that refuses connections and resumes when it is back", async () => {
    const { instances, producer, runtime } = await setup(1, 0);
    const [only] = instances as [EmulatorInstance];
    await only.setFault({ ...NO_FAULT, mode: "refuse" });
    await waitFor(() => healthOf(runtime, "emu-0") === false, { message: "instance marked unhealthy" });
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.embed(`while down ${i}`)));
    // Nothing is pulled (so nothing burns attempts) while the only instance is down: looked at
    // after three more of its failing probes, time in which a pulling binding takes them all.
    const monitor = runtime.monitors.find((candidate) => candidate.instance.name === "emu-0");
    let probes = 0;
    let lastProbe = monitor?.lastProbeAt;
    await waitFor(() => {
      if (monitor?.lastProbeAt !== lastProbe) [probes, lastProbe] = [probes + 1, monitor?.lastProbeAt];
      return probes >= 3;
    }, { message: "three more probes" });
    expect(await Promise.all(ids.map((id) => producer.state(id)))).toEqual(ids.map(() => "prioritized"));
    await only.clearFault();
    await waitFor(() => healthOf(runtime, "emu-0") === true, { message: "instance healthy again" });
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { message: "jobs completed after recovery" });
  });

  it("takes a hanging instance out, aborts its calls, and retries them on a healthy one", async () => {
    const { instances, producer, runtime } = await setup(2, 30);
    const [hung, healthy] = instances as [EmulatorInstance, EmulatorInstance];
    await hung.setFault({ ...NO_FAULT, mode: "hang", scope: "all" });
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => producer.embed(`hang ${i}`)));
    await waitFor(() => healthOf(runtime, "emu-0") === false, { message: "hung instance marked unhealthy" });
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 15_000, message: "all jobs completed" });
    expect(healthy.stats().models[EMBED]?.completed).toBe(6);
  });

  it("quarantines an instance that answers probes but returns broken bodies", async () => {
    const { instances, producer, runtime } = await setup(2, 5, { HERD_PROBE_INTERVAL: "500ms" });
    const [broken, healthy] = instances as [EmulatorInstance, EmulatorInstance];
    await broken.setFault({ ...NO_FAULT, mode: "wrong_dims" });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.embed(`broken ${i}`)));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 15_000, message: "all jobs completed" });
    expect(healthOf(runtime, "emu-0")).toBe(false);
    // Two bad answers trip it; every job still ends on the healthy instance with a valid vector.
    expect(broken.stats().models[EMBED]?.completed ?? 0).toBeLessThanOrEqual(3);
    expect(healthy.stats().models[EMBED]?.completed).toBe(20);
    const result = JSON.parse((await producer.result(ids[0] ?? "")) ?? "{}") as { embeddings: number[][] };
    expect(result.embeddings[0]).toHaveLength(768);
  });

  it("hands running jobs back on a shutdown deadline; another worker finishes them without losing an attempt", async () => {
    const { instances, producer, runtime, prefix } = await setup(1, 2000);
    const ids = await Promise.all([producer.embed("long job a"), producer.embed("long job b")]);
    await waitFor(async () => (await producer.state(ids[0] ?? "")) === "active", { message: "first job running" });
    await runtime.close(200);
    expect(await Promise.all(ids.map((id) => producer.state(id)))).toEqual(["prioritized", "prioritized"]);
    (instances[0] as EmulatorInstance).ctx.latency.embedMs = 0;
    const second = await startWorker(workerConfig(prefix, instances));
    cleanups.push(() => second.close(1000));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { message: "handed-back jobs completed" });
    const job = await producer.queue.getJob(ids[0] ?? "");
    expect(job?.attemptsMade).toBe(1);
  });
});
