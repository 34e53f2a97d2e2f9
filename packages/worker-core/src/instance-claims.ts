import type { RedisClient } from "@herd/redis";

/** Renews a claim this worker holds, or re-takes one that expired while Redis was away. */
const RENEW = `
local owner = redis.call("GET", KEYS[1])
if owner == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
elseif not owner then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`;

/**
 * Exclusive leases on Ollama instances, so that worker replicas given the same instance list
 * (`docker compose --scale worker=N`) never bind one instance twice: two workers on one instance
 * would each fill its slots and oversubscribe it. A lease lasts `ttlMs` and is renewed on every
 * heartbeat; a worker that dies loses its leases when they expire, and a standby takes over.
 */
export class InstanceClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyOf: (url: string) => string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  async tryClaim(url: string): Promise<boolean> {
    return (await this.redis.set(this.keyOf(url), this.owner, "PX", this.ttlMs, "NX")) === "OK";
  }

  /** False when another worker holds the instance now. */
  async renew(url: string): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keyOf(url), this.owner, String(this.ttlMs))) === 1;
  }

  async release(url: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keyOf(url), this.owner);
  }

  async holder(url: string): Promise<string | null> {
    return this.redis.get(this.keyOf(url));
  }
}
