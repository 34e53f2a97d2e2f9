import { clockSkewed, describeOffset, readClockOffset, CLOCK_SKEW_WARN_MS, type RedisClient, type RedisTarget } from "@herd/redis";
import { FleetRegistry } from "@herd/fleet";
import { connectOnce } from "../redis-check.js";
import { ok, warn, type Finding } from "./report.js";

const CHECK = "clocks";
const ADVICE = "BullMQ's retry delays and Herd's queue-wait timings compare timestamps taken on different machines; keep their clocks in sync (NTP)";

/**
 * This machine's clock and every live worker's (from its heartbeat) against the queue Redis's, the
 * one clock they all see. Nothing when the queue Redis cannot be reached: its own check says so.
 */
export async function checkClocks(target: RedisTarget, prefix: string, timeoutMs: number): Promise<Finding[]> {
  let redis: RedisClient;
  try {
    redis = await connectOnce(target, timeoutMs);
  } catch {
    return [];
  }
  try {
    const own = await readClockOffset(redis);
    const workers = await new FleetRegistry(redis, prefix).list();
    const offsets = [{ who: "this machine", offsetMs: own.offsetMs, skewed: clockSkewed(own) }];
    for (const worker of workers) {
      if (worker.clockOffsetMs === undefined) continue;
      offsets.push({ who: `worker ${worker.workerId} (${worker.host})`, offsetMs: worker.clockOffsetMs, skewed: Math.abs(worker.clockOffsetMs) > CLOCK_SKEW_WARN_MS });
    }
    const skewed = offsets.filter((entry) => entry.skewed);
    if (skewed.length > 0) return [warn(CHECK, `${skewed.map((entry) => `${entry.who} is ${describeOffset(entry.offsetMs)}`).join("; ")}: ${ADVICE}`)];
    const unreported = workers.length - (offsets.length - 1);
    const largest = offsets.reduce((a, b) => (Math.abs(b.offsetMs) > Math.abs(a.offsetMs) ? b : a));
    return [
      ok(
        CHECK,
        `this machine and ${offsets.length - 1} live worker(s) within ${CLOCK_SKEW_WARN_MS} ms of the queue Redis's clock (largest: ${largest.who}, ${Math.round(largest.offsetMs)} ms)${unreported > 0 ? `; ${unreported} worker(s) report no clock reading (older version)` : ""}`,
      ),
    ];
  } catch (error) {
    return [warn(CHECK, `could not compare clocks with the queue Redis: ${(error as Error).message}`)];
  } finally {
    redis.disconnect();
  }
}
