import { clockSkewed, describeOffset, CLOCK_SKEW_WARN_MS } from "@herd/redis";
import type { FleetReading } from "./fleet.js";
import { ok, type Finding, warn } from "./report.js";

const CHECK = "clocks";
const ADVICE = "BullMQ's retry delays and Herd's queue-wait timings compare timestamps taken on different machines; keep their clocks in sync (NTP)";

/**
 * This machine's clock and every live worker's (from its heartbeat) against the queue Redis's, the
 * one clock they all see. Nothing when the queue Redis could not be read: its own check says so.
 */
export function checkClocks(fleet: FleetReading | Error): Finding[] {
  if (fleet instanceof Error) return [];
  const offsets = [{ who: "this machine", offsetMs: fleet.clock.offsetMs, skewed: clockSkewed(fleet.clock) }];
  for (const worker of fleet.workers) {
    if (worker.clockOffsetMs === undefined) continue;
    // A heartbeat carries the offset alone: its reading's round trip stayed with the worker.
    offsets.push({ who: `worker ${worker.workerId} (${worker.host})`, offsetMs: worker.clockOffsetMs, skewed: clockSkewed({ offsetMs: worker.clockOffsetMs }) });
  }
  const skewed = offsets.filter((entry) => entry.skewed);
  if (skewed.length > 0) return [warn(CHECK, `${skewed.map((entry) => `${entry.who} is ${describeOffset(entry.offsetMs)}`).join("; ")}: ${ADVICE}`)];
  const unreported = fleet.workers.length - (offsets.length - 1);
  const largest = offsets.reduce((a, b) => (Math.abs(b.offsetMs) > Math.abs(a.offsetMs) ? b : a));
  return [
    ok(
      CHECK,
      `this machine and ${offsets.length - 1} live worker(s) within ${CLOCK_SKEW_WARN_MS} ms of the queue Redis's clock (largest: ${largest.who}, ${Math.round(largest.offsetMs)} ms)${unreported > 0 ? `; ${unreported} worker(s) report no clock reading (older version)` : ""}`,
    ),
  ];
}
