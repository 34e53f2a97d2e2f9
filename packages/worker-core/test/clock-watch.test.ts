import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, silentLogger } from "@herd/logger";
import { testRedis } from "@herd/testing";
import { ClockWatch } from "../src/clock-watch.js";

interface Line {
  level: number;
  msg: string;
  clockOffsetMs?: number;
}

describe("ClockWatch", () => {
  const redis = testRedis();
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => {
    redis.disconnect();
  });

  it("reads this clock against Redis's, warns once while it lags, and says when it agrees again", async () => {
    const lines: Line[] = [];
    const logger = createLogger({ name: "clock-test", level: "info", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as Line) } });
    const watch = new ClockWatch(redis, logger, 0);
    expect(watch.offsetMs).toBeUndefined();
    await watch.refresh();
    // Redis runs on this machine: the same clock, read a round trip apart.
    expect(Math.abs(watch.offsetMs ?? Number.NaN)).toBeLessThan(50);
    expect(lines).toEqual([]);

    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, "now").mockImplementation(() => realNow() - 5000);
    await watch.refresh();
    await watch.refresh();
    expect(Math.abs((watch.offsetMs ?? Number.NaN) - 5000)).toBeLessThan(50);
    expect(lines.map((line) => line.level)).toEqual([40]);
    expect(lines[0]?.msg).toMatch(/^this machine's clock is (49|50)\d\d ms behind Redis's clock: .*\(NTP\)$/);

    vi.restoreAllMocks();
    await watch.refresh();
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [40, expect.any(String)],
      [30, "this machine's clock agrees with Redis's again"],
    ]);
  });

  it("reads Redis's clock at most once per interval", async () => {
    const watch = new ClockWatch(redis, silentLogger(), 60_000);
    const time = vi.spyOn(redis, "time");
    await watch.refresh();
    await watch.refresh();
    expect(time).toHaveBeenCalledTimes(3);
    expect(watch.offsetMs).toBeDefined();
  });
});
