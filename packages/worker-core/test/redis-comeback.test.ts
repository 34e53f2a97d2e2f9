import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { FleetRegistry, instanceKey } from "@herd/fleet";
import { herdKeys } from "@herd/jobs";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { RedisServer, uniquePrefix, waitFor } from "@herd/testing";
import { startWorker, workerConfig } from "./harness.js";

describe("a worker when Redis comes back", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("publishes its heartbeat and claims at once, not at its next heartbeat", async () => {
    // Without persistence, a restart loses every key: the heartbeat and the instance's lease.
    const redis = await RedisServer.start(undefined, ["--appendonly", "no"]);
    cleanups.push(() => redis.close());
    const instance = await new EmulatorInstance({ name: "emu-0", preload: true }).listen();
    cleanups.push(() => instance.close());
    const prefix = uniquePrefix("comeback");
    // A heartbeat interval far longer than the test may wait: only the reconnection can publish in time.
    const config = workerConfig(prefix, [instance], { REDIS_URL: redis.url, HERD_HEARTBEAT_INTERVAL: "60s", HERD_CLAIM_INSTANCES: "1" });
    const runtime = await startWorker(config);
    cleanups.push(() => runtime.close(1000));
    const reader = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    cleanups.push(async () => reader.disconnect());
    const registry = new FleetRegistry(reader, prefix);
    const published = async () => (await registry.list()).some((heartbeat) => heartbeat.workerId === config.workerId && heartbeat.instances.length === 1);
    expect(await published()).toBe(true);
    expect(await reader.get(herdKeys(prefix).instanceClaim(instanceKey(hostname(), instance.url)))).toBe(config.workerId);

    await redis.stop();
    await redis.restart();
    await waitFor(async () => (await reader.dbsize().catch(() => -1)) >= 0);
    await waitFor(published, { timeoutMs: 15_000 });
    expect(await reader.get(herdKeys(prefix).instanceClaim(instanceKey(hostname(), instance.url)))).toBe(config.workerId);
    expect(runtime.monitors.map((monitor) => monitor.instance.name)).toEqual(["emu-0"]);
  });
});
