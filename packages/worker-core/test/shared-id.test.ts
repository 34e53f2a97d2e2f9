import { afterAll, describe, expect, it } from "vitest";
import { FleetRegistry, type WorkerHeartbeat } from "@herd/fleet";
import { createLogger } from "@herd/logger";
import { deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { SharedIdWatch } from "../src/heartbeat.js";

interface Line {
  level: number;
  msg: string;
  other?: { pid: number };
}

describe("SharedIdWatch", () => {
  const prefix = uniquePrefix("shared-id");
  const redis = testRedis();
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  const run = (pid: number): WorkerHeartbeat => ({ workerId: "gpu-1", host: "box", pid, startedAt: `2026-12-06T00:00:0${pid}.000Z`, updatedAt: "", instances: [] });

  it("stays quiet when a restart replaces its own previous run, and warns once while another run shares the id", async () => {
    const lines: Line[] = [];
    const logger = createLogger({ name: "shared-id-test", level: "info", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
    const registry = new FleetRegistry(redis, prefix);
    // A previous run of this worker left its heartbeat (killed, say); this run's first one replaces it.
    await registry.publish(run(1), 60_000);
    const watch = new SharedIdWatch(run(2), logger);
    watch.replaced(await registry.publish(run(2), 60_000));
    watch.replaced(await registry.publish(run(2), 60_000));
    expect(lines).toEqual([]);

    // Another live process publishes under the same id between this one's heartbeats.
    for (let beat = 0; beat < 3; beat += 1) {
      await registry.publish(run(3), 60_000);
      watch.replaced(await registry.publish(run(2), 60_000));
    }
    expect(lines.map((line) => [line.level, line.other?.pid])).toEqual([[40, 3]]);
    expect(lines[0]?.msg).toMatch(/^another worker process publishes heartbeats as HERD_WORKER_ID=gpu-1: give each worker its own id/);
  });
});
