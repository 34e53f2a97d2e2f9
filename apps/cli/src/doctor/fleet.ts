import { readClockOffset, type ClockReading, type RedisClient, type RedisTarget } from "@herd/redis";
import { FleetRegistry, type WorkerHeartbeat } from "@herd/fleet";
import { connectOnce } from "../redis-check.js";

/** What the queue Redis says of the fleet: every live worker's heartbeat, and this machine's clock against Redis's. */
export interface FleetReading {
  workers: WorkerHeartbeat[];
  clock: ClockReading;
}

/**
 * One connection to the queue Redis for both the clocks check and the instances a run without
 * HERD_INSTANCES checks, so both judge the same list of workers. The error when Redis cannot be
 * read, for each check to report in its own terms.
 */
export async function readFleet(target: RedisTarget, prefix: string, timeoutMs: number): Promise<FleetReading | Error> {
  let redis: RedisClient | undefined;
  try {
    redis = await connectOnce(target, timeoutMs);
    const clock = await readClockOffset(redis);
    const workers = await new FleetRegistry(redis, prefix).list();
    return { workers, clock };
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    redis?.disconnect();
  }
}
