import type { RedisClient } from "@herd/redis";
import { herdKeys } from "@herd/jobs";

/** Drops lapsed entries, then adds the job if the key is under its limit: one atomic step. */
const ADMIT = `
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[4])
redis.call("PEXPIRE", KEYS[1], ARGV[5])
return 1`;

/** An entry lapses after this long even if nobody released it (a worker that died at the wrong moment). */
export const QUOTA_LEASE_MS = 3_600_000;

/**
 * How many jobs each API key has queued or running, across every API process: the API admits a new
 * job only under the key's limit, and the worker that ends it (or the API that cancels it) releases
 * it. Entries lapse after QUOTA_LEASE_MS so a lost release cannot hold a slot forever.
 */
export class ConcurrencyQuota {
  readonly #keys: ReturnType<typeof herdKeys>;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#keys = herdKeys(prefix);
  }

  async admit(keyId: string, jobId: string, limit: number): Promise<boolean> {
    const now = Date.now();
    const admitted = await this.redis.eval(ADMIT, 1, this.#keys.keyInflight(keyId), String(now), String(now + QUOTA_LEASE_MS), String(limit), jobId, String(QUOTA_LEASE_MS));
    return admitted === 1;
  }

  async release(keyId: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.#keys.keyInflight(keyId), jobId);
  }

  async count(keyId: string): Promise<number> {
    return this.redis.zcount(this.#keys.keyInflight(keyId), Date.now(), "+inf");
  }
}
