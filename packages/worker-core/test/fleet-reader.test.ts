import { afterAll, describe, expect, it } from "vitest";
import { FleetRegistry, type WorkerHeartbeat } from "@herd/fleet";
import { createLogger } from "@herd/logger";
import { deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { FleetReader } from "../src/fleet-reader.js";
import { SharedInstanceWatch } from "../src/shared-instances.js";

/** Whether another worker serves a model decides whether a job its instance lost the model for is handed back (see handedBack). */
describe("FleetReader", () => {
  const redis = testRedis();
  const prefix = uniquePrefix("fleet-reader");
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const beat = (workerId: string, url: string, healthy: boolean, models: Array<[string, Array<"embed" | "generate">]>): WorkerHeartbeat => ({
    workerId,
    host: `box-${workerId}`,
    pid: 1,
    startedAt: "",
    updatedAt: new Date().toISOString(),
    instances: [{ name: url, url, healthy, weight: 1, models: models.map(([model, kinds]) => ({ model, kinds, slots: 1, inFlight: 0, completed: 0, failed: 0 })) }],
  });

  it("tells which models other workers' healthy instances serve, for which kind, leaving out this worker's instance", async () => {
    const registry = new FleetRegistry(redis, prefix);
    const mine = "http://gpu-1:11434";
    for (const heartbeat of [
      beat("me", mine, true, [["qwen3:latest", ["generate"]]]),
      beat("other", "http://gpu-2:11434", true, [["nomic-embed-text:latest", ["embed"]]]),
      beat("sick", "http://gpu-3:11434", false, [["all-minilm:latest", ["embed"]]]),
      // Another worker bound to this worker's own instance: it has lost the model just as much.
      beat("sharer", mine, true, [["llama3.2:latest", ["generate"]]]),
    ]) await registry.publish(heartbeat, 60_000);
    const logger = createLogger({ name: "fleet-reader-test", level: "silent", format: "json" });
    const reader = new FleetReader({ registry, workerId: "me", host: "box-me", shared: new SharedInstanceWatch({ workerId: "me", host: "box-me" }, logger), logger });
    expect(reader.serves("nomic-embed-text:latest", "embed", mine)).toBe(false);
    expect((await reader.read([{ name: "gpu-1", url: mine }]))?.map((heartbeat) => heartbeat.workerId).sort()).toEqual(["me", "other", "sharer", "sick"]);
    expect(reader.serves("nomic-embed-text:latest", "embed", mine)).toBe(true);
    expect(reader.serves("nomic-embed-text:latest", "generate", mine)).toBe(false);
    expect(reader.serves("all-minilm:latest", "embed", mine)).toBe(false);
    expect(reader.serves("llama3.2:latest", "generate", mine)).toBe(false);
    expect(reader.serves("qwen3:latest", "generate", mine)).toBe(false);
  });
});
