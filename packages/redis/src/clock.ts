import type { RedisClient } from "./index.js";

/** How this process's clock compares with Redis's. */
export interface ClockReading {
  /** Redis's clock minus this process's, in ms: positive when this clock lags. */
  offsetMs: number;
  /** The round trip of the reading used; the offset is known to within half of it. */
  rttMs: number;
}

/**
 * Reads Redis's clock (TIME) `samples` times and keeps the quickest round trip: its midpoint is
 * the closest to the moment Redis read its clock. Several processes on several machines share one
 * Redis, so its clock is the one reference they all can see.
 */
export async function readClockOffset(client: RedisClient, samples = 3): Promise<ClockReading> {
  let best: ClockReading | undefined;
  for (let i = 0; i < samples; i++) {
    const sentAt = Date.now();
    const startedAt = performance.now();
    const [seconds, micros] = await client.time();
    const rttMs = performance.now() - startedAt;
    const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
    const reading = { offsetMs: redisMs - (sentAt + rttMs / 2), rttMs };
    if (!best || reading.rttMs < best.rttMs) best = reading;
  }
  if (!best) throw new Error("readClockOffset needs at least one sample");
  return best;
}

/**
 * Beyond this, clocks disagree enough to show: BullMQ delays a retry until a timestamp from one
 * process's clock and a worker promotes it by its own, and queue-wait timings subtract one
 * process's timestamp from another's. NTP keeps machines within a few ms.
 */
export const CLOCK_SKEW_WARN_MS = 100;

/**
 * Whether `reading` shows a skew beyond CLOCK_SKEW_WARN_MS even allowing for its round trip (none
 * known: the offset is taken as exact).
 */
export function clockSkewed(reading: Pick<ClockReading, "offsetMs"> & Partial<Pick<ClockReading, "rttMs">>): boolean {
  return Math.abs(reading.offsetMs) - (reading.rttMs ?? 0) / 2 > CLOCK_SKEW_WARN_MS;
}

/** "12.3 s behind" / "250 ms ahead of" Redis's clock, for logs and reports. */
export function describeOffset(offsetMs: number): string {
  const size = Math.abs(offsetMs) >= 10_000 ? `${(Math.abs(offsetMs) / 1000).toFixed(1)} s` : `${Math.round(Math.abs(offsetMs))} ms`;
  return offsetMs >= 0 ? `${size} behind Redis's clock` : `${size} ahead of Redis's clock`;
}
