import type { Job } from "bullmq";
import type { HerdKeys } from "@herd/jobs";
import type { RedisClient } from "@herd/redis";

/**
 * Appends a stored result to its queue's list and deletes the results that fall off its front:
 * the list keeps the newest `ARGV[3]`. The deleted keys share the list's hash tag (one slot, as
 * BullMQ's own scripts reach their job keys). LPOP with a count needs Redis 6.2.
 */
const TRIM_LUA = `
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local over = n - tonumber(ARGV[3])
if over > 0 then
  local ids = redis.call('LPOP', KEYS[1], over)
  for _, id in ipairs(ids) do redis.call('DEL', ARGV[4] .. id) end
end
return over`;

/**
 * Keeps a queue's stored results to the newest `keep` (HERD_JOB_RETENTION_COUNT), as BullMQ keeps
 * its finished jobs. A result lives under a key of its own with the retention's TTL, which alone
 * bounds it by age: at a steady 100 embeddings a second an hour's results would be gigabytes in a
 * Redis that evicts nothing, long after BullMQ dropped their jobs (which then read as unknown, so
 * nobody could fetch them). An ingestion's batch results are left alone: the document's store step
 * reads them however many jobs finished meanwhile, and drops them itself.
 */
export function trimResults(redis: RedisClient, keys: HerdKeys, job: Job, ttlMs: number, keep: number): Promise<unknown> | undefined {
  if (job.parent || job.id === undefined) return undefined;
  return redis.eval(TRIM_LUA, 1, keys.results(job.queueName), job.id, String(ttlMs), String(keep), keys.resultPrefix);
}
