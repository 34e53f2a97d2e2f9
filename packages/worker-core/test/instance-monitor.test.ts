import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "@herd/logger";
import { EmulatorInstance, NO_FAULT } from "@herd/ollama-emulator";
import { freePort } from "@herd/testing";
import { InstanceMonitor } from "../src/instance-monitor.js";

interface Line {
  level: number;
  msg: string;
  url?: string;
  err?: { message: string };
}

describe("InstanceMonitor tells an operator about an instance that does not answer", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function monitorOf(url: string) {
    const lines: Line[] = [];
    const logger = createLogger({ name: "monitor-test", level: "info", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
    const monitor = new InstanceMonitor({
      instance: { name: "gpu-1", url, slots: 1, models: {}, weight: 1 },
      defaultSlots: 1,
      // Probed by hand (probeNow), never on a timer.
      probe: { intervalMs: 60_000, timeoutMs: 1000, unhealthyAfter: 2 },
      discoveryIntervalMs: 60_000,
      logger,
      connections: 1,
      onModels: () => undefined,
      onHealth: () => undefined,
    });
    cleanups.push(() => monitor.close());
    return { monitor, lines, warnings: () => lines.filter((line) => line.level === 40) };
  }

  it("warns once, with the URL and the error, while an instance has never answered", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { monitor, warnings } = monitorOf(url);
    for (let i = 0; i < 3; i += 1) await monitor.probeNow();
    expect(monitor.healthy).toBe(false);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ url, msg: expect.stringContaining("instance not answering") });
    expect(warnings()[0]?.err?.message).toMatch(/ECONNREFUSED|connect/i);
  });

  it("warns again only after the instance was healthy and went away", async () => {
    const port = await freePort();
    const { monitor, lines, warnings } = monitorOf(`http://127.0.0.1:${port}`);
    await monitor.probeNow();
    expect(warnings()).toHaveLength(1);
    const instance = await new EmulatorInstance({ name: "gpu-1", preload: true }).listen(port);
    cleanups.push(() => instance.close());
    await monitor.probeNow();
    expect(monitor.healthy).toBe(true);
    expect(lines.at(-1)?.msg).toBe("instance healthy: pulling jobs");
    await instance.setFault({ ...NO_FAULT, mode: "refuse" });
    for (let i = 0; i < 4; i += 1) await monitor.probeNow();
    expect(monitor.healthy).toBe(false);
    // The unhealthy transition is the one warning of this outage.
    expect(warnings().map((line) => line.msg)).toEqual([expect.stringContaining("instance not answering"), "instance unhealthy: stopped pulling"]);
  });
});
