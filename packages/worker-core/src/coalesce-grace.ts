import type { Job } from "bullmq";
import type { RedisClient } from "@herd/redis";

/**
 * How long identical requests keep joining a job after it completed. The API looks in the cache
 * before it adds a job; a request whose lookup ran just before the worker cached the result, and
 * whose add ran just after BullMQ dropped the job's deduplication key on completion, would start a
 * second, identical Ollama call. Under load the gap between that lookup and that add can reach
 * tens of milliseconds (a coalescing test once made 2 calls from 50 identical submits so), and it
 * is longer still when the cache lives on its own Redis or is switched off. Within the grace such a
 * request gets the completed job and its result instead.
 */
export const COALESCE_GRACE_MS = 5000;

/**
 * Gives the job's deduplication key an expiry, so BullMQ's completion leaves it in place (it
 * deletes only keys without one) and it lapses after the grace. Only the job's own key, and only a
 * key without an expiry (one BullMQ would delete), is touched.
 */
const EXTEND_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('PTTL', KEYS[1]) == -1 then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/**
 * Keeps a completing job joinable for COALESCE_GRACE_MS. Called only on success, before BullMQ
 * records the completion: a failed job still drops the key, so a resubmission runs again. Issued
 * on the connection the completion follows on, so Redis runs it first.
 */
export function keepJoinable(redis: RedisClient, job: Job): Promise<unknown> | undefined {
  if (!job.deduplicationId || job.id === undefined) return undefined;
  return redis.eval(EXTEND_LUA, 1, `${job.queueQualifiedName}:de:${job.deduplicationId}`, job.id, String(COALESCE_GRACE_MS));
}
