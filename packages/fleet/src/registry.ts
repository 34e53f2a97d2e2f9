import { execAll, type RedisClient } from "@herd/redis";
import { herdKeys } from "@herd/jobs";
import { WorkerHeartbeat } from "./heartbeat.js";

/**
 * Worker heartbeats live in Redis: one expiring key per worker plus a sorted set (score = expiry)
 * to list them without SCAN. A worker that dies simply stops refreshing and ages out.
 */
export class FleetRegistry {
  readonly #keys: ReturnType<typeof herdKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#keys = herdKeys(prefix);
  }

  async publish(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<void> {
    const expiresAt = Date.now() + ttlMs;
    await execAll(this.redis.multi().set(this.#keys.worker(heartbeat.workerId), JSON.stringify(heartbeat), "PX", ttlMs).zadd(this.#keys.workers, expiresAt, heartbeat.workerId));
  }

  async remove(workerId: string): Promise<void> {
    await execAll(this.redis.multi().del(this.#keys.worker(workerId)).zrem(this.#keys.workers, workerId));
  }

  /** Live workers' heartbeats; expired members are pruned on the way. Malformed entries are skipped. */
  async list(): Promise<WorkerHeartbeat[]> {
    const now = Date.now();
    const [, ids] = await execAll(this.redis.multi().zremrangebyscore(this.#keys.workers, "-inf", now).zrange(this.#keys.workers, 0, -1));
    const workerIds = ids as string[];
    if (workerIds.length === 0) return [];
    const values = await this.redis.mget(workerIds.map((id) => this.#keys.worker(id)));
    const heartbeats: WorkerHeartbeat[] = [];
    for (const value of values) {
      if (value === null) continue;
      try {
        const parsed = WorkerHeartbeat.safeParse(JSON.parse(value));
        if (parsed.success) heartbeats.push(parsed.data);
      } catch {
        // A half-written or foreign value: ignore it, the worker will overwrite it.
      }
    }
    return heartbeats;
  }
}
