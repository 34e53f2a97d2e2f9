import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { instanceKey } from "@herd/fleet";
import { herdKeys } from "@herd/jobs";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { deletePrefix, testRedis, uniquePrefix, waitFor } from "@herd/testing";
import type { WorkerRuntime } from "../src/index.js";
import { Producer, startWorker, workerConfig } from "./harness.js";

const EMBED = "nomic-embed-text:latest";

/** The instance names a worker serves right now. */
const served = (runtime: WorkerRuntime) => runtime.monitors.map((monitor) => monitor.instance.name).sort();

describe("exclusive instance claims (HERD_CLAIM_INSTANCES)", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("replicas with the same instance list split it, never oversubscribe, and a standby takes over", async () => {
    const prefix = uniquePrefix("claims");
    const instances = await Promise.all([0, 1].map((i) => new EmulatorInstance({ name: `emu-${i}`, preload: true, latency: { embedMs: 15 } }).listen()));
    cleanups.push(() => Promise.all(instances.map((instance) => instance.close())));
    const producer = new Producer(prefix);
    cleanups.push(async () => {
      await deletePrefix(producer.redis, prefix);
      await producer.close();
    });
    // Three replicas, identical configuration but for their id, as `docker compose --scale worker=3` runs them.
    const replicas: WorkerRuntime[] = [];
    for (let i = 0; i < 3; i++) {
      const runtime = await startWorker(workerConfig(prefix, instances, { HERD_CLAIM_INSTANCES: "1", HERD_WORKER_ID: `${prefix}-replica-${i}` }));
      replicas.push(runtime);
      cleanups.push(() => runtime.close(1000));
    }
    const [first, second, standby] = replicas as [WorkerRuntime, WorkerRuntime, WorkerRuntime];
    expect(served(first)).toEqual(["emu-0"]);
    expect(served(second)).toEqual(["emu-1"]);
    expect(served(standby)).toEqual([]);
    expect(await producer.redis.get(herdKeys(prefix).instanceClaim(instanceKey(hostname(), instances[0]?.url ?? "")))).toBe(`${prefix}-replica-0`);

    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => producer.embed(`claimed load ${i}`)));
    await waitFor(async () => (await Promise.all(ids.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "all jobs completed" });
    for (const instance of instances) {
      const stats = instance.stats();
      // One slot each: with both replicas bound to one instance this would reach 2.
      expect(stats.models[EMBED]?.maxInFlight).toBe(1);
      expect(stats.models[EMBED]?.maxWaiting).toBe(0);
      expect(stats.models[EMBED]?.requests).toBeGreaterThan(0);
    }

    // The first replica stops: its instance is released and the standby takes it.
    await first.close(1000);
    await waitFor(() => served(standby).length === 1, { timeoutMs: 10_000, message: "standby took over" });
    expect(served(standby)).toEqual(["emu-0"]);
    const after = await Promise.all(Array.from({ length: 6 }, (_, i) => producer.embed(`after takeover ${i}`)));
    await waitFor(async () => (await Promise.all(after.map((id) => producer.state(id)))).every((state) => state === "completed"), { timeoutMs: 20_000, message: "jobs after takeover" });
  });

  it("a lease taken by another worker makes the holder let go of the instance", async () => {
    const prefix = uniquePrefix("claims-lost");
    const instance = await new EmulatorInstance({ name: "emu-0", preload: true }).listen();
    cleanups.push(() => instance.close());
    const redis = testRedis();
    cleanups.push(async () => {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    });
    const runtime = await startWorker(workerConfig(prefix, [instance], { HERD_CLAIM_INSTANCES: "1" }));
    cleanups.push(() => runtime.close(1000));
    expect(served(runtime)).toEqual(["emu-0"]);
    // Another worker holds it now (as after a pause longer than the lease).
    await redis.set(herdKeys(prefix).instanceClaim(instanceKey(hostname(), instance.url)), "someone-else", "PX", 60_000);
    await waitFor(() => served(runtime).length === 0, { timeoutMs: 5000, message: "instance let go" });
    expect(runtime.bindings).toEqual([]);
    await redis.del(herdKeys(prefix).instanceClaim(instanceKey(hostname(), instance.url)));
    await waitFor(() => served(runtime).length === 1, { timeoutMs: 5000, message: "instance claimed again" });
  });
});
