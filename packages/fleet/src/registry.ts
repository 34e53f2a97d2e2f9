import { execAll, type RedisClient } from "@herd/redis";
import { herdKeys } from "@herd/jobs";
import { WorkerHeartbeat } from "./heartbeat.js";

/**
 * The heartbeat as a script Redis runs even when it is out of memory (Redis ≥ 7 `allow-oom`):
 * the value replaces one of the same size, and a fleet whose heartbeats Redis refused would look
 * dead to the API (503 no_live_workers, /ready failing) for as long as Redis stays full, though
 * every worker is there and accepted jobs can still be polled.
 */
const PUBLISH_ALLOW_OOM = `#!lua flags=allow-oom
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`;

/** Redis 6.2 knows no script flags: the shebang line does not compile there. */
const isShebangRefused = (error: unknown) => error instanceof Error && /Error compiling script|shebang/i.test(error.message);

/**
 * Worker heartbeats live in Redis: one expiring key per worker plus a sorted set (score = expiry)
 * to list them without SCAN. A worker that dies simply stops refreshing and ages out.
 */
export class FleetRegistry {
  readonly #keys: ReturnType<typeof herdKeys>;
  /** False once Redis refused the flagged script (before 7.0): plain writes from then on. */
  #allowOom = true;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#keys = herdKeys(prefix);
  }

  async publish(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<void> {
    const expiresAt = Date.now() + ttlMs;
    const key = this.#keys.worker(heartbeat.workerId);
    const value = JSON.stringify(heartbeat);
    if (this.#allowOom) {
      try {
        await this.redis.eval(PUBLISH_ALLOW_OOM, 2, key, this.#keys.workers, value, ttlMs, expiresAt, heartbeat.workerId);
        return;
      } catch (error) {
        if (!isShebangRefused(error)) throw error;
        this.#allowOom = false;
      }
    }
    await execAll(this.redis.multi().set(key, value, "PX", ttlMs).zadd(this.#keys.workers, expiresAt, heartbeat.workerId));
  }

  async remove(workerId: string): Promise<void> {
    // A pipeline, as in list(): a worker leaving a full Redis must still leave the fleet.
    await execAll(this.redis.pipeline().del(this.#keys.worker(workerId)).zrem(this.#keys.workers, workerId));
  }

  /** Live workers' heartbeats; expired members are pruned on the way. Malformed entries are skipped. */
  async list(): Promise<WorkerHeartbeat[]> {
    const now = Date.now();
    // A pipeline, not a MULTI: Redis refuses a whole MULTI while it is out of memory (even this
    // one, which only frees memory and reads), and the fleet must stay readable then.
    const [, ids] = await execAll(this.redis.pipeline().zremrangebyscore(this.#keys.workers, "-inf", now).zrange(this.#keys.workers, 0, -1));
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
