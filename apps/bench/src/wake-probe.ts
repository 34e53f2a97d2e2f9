import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { percentile } from "./load.js";

/** Median Redis PING round trip when the machine is busy with them vs after each idle gap. */
export interface WakeProbe {
  idleGapMs: number;
  busyPingUs: number;
  idlePingUs: number;
}

/**
 * How much slower a round trip between two processes is when both were idle just before it, as
 * they are between the requests of the overhead benchmark's realistic row. The two kinds of ping
 * alternate in rounds, so both see the same moments of the machine.
 */
export async function wakeProbe(redisUrl: string, idleGapMs = 10, rounds = 10, perRound = 30): Promise<WakeProbe> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const busy: number[] = [];
  const idle: number[] = [];
  const ping = async (into: number[]) => {
    const sent = performance.now();
    await client.ping();
    into.push((performance.now() - sent) * 1000);
  };
  try {
    await ping([]);
    for (let round = 0; round < rounds; round += 1) {
      for (let i = 0; i < perRound; i += 1) await ping(busy);
      for (let i = 0; i < perRound; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, idleGapMs));
        await ping(idle);
      }
    }
  } finally {
    client.disconnect();
  }
  return { idleGapMs, busyPingUs: percentile(busy, 50), idlePingUs: percentile(idle, 50) };
}

/**
 * The kernel's cpuidle driver ("none" when the guest halts its idle vCPUs at once, "haltpoll" when
 * it polls a little first): it decides how long a process takes to wake on an idle core.
 */
export function cpuidleDriver(): string {
  try {
    return readFileSync("/sys/devices/system/cpu/cpuidle/current_driver", "utf8").trim() || "unknown";
  } catch {
    return "unknown";
  }
}
