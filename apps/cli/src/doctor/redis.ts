import { redactUrl, type RedisTarget } from "@herd/redis";
import { connectOnce } from "../redis-check.js";
import { fail, ok, versionAtLeast, warn, type Finding } from "./report.js";

const MIN_REDIS = "6.2.0";

/** INFO's `key:value` lines as a map (works on managed Redis, where CONFIG is often disabled). */
async function info(url: string, timeoutMs: number): Promise<Map<string, string>> {
  // The node REDIS_URL names, on its own: INFO reads no key, so a cluster node answers it too.
  const client = await connectOnce(url, timeoutMs);
  try {
    const text = await client.info();
    return new Map(
      text
        .split(/\r?\n/)
        .filter((line) => line.includes(":") && !line.startsWith("#"))
        .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)] as [string, string]),
    );
  } finally {
    client.disconnect();
  }
}

interface RedisFacts {
  fields: Map<string, string>;
  version: string;
  policy: string;
}

/**
 * INFO from the Redis at `target` (named by its `variable`, with `clusterVariable` saying whether
 * it is a cluster), or the finding that says why it is unusable.
 */
async function inspect(check: string, target: RedisTarget, [variable, clusterVariable]: [string, string], timeoutMs: number): Promise<RedisFacts | Finding> {
  const { url } = target;
  let fields: Map<string, string>;
  try {
    fields = await info(url, timeoutMs);
  } catch (error) {
    return fail(check, `cannot reach ${redactUrl(url)} (${variable}): ${(error as Error).message}`);
  }
  const version = fields.get("redis_version") ?? "unknown";
  if (!versionAtLeast(version, MIN_REDIS)) return fail(check, `Redis ${version} is too old: BullMQ needs ${MIN_REDIS} or newer`);
  const isCluster = fields.get("cluster_enabled") === "1";
  if (isCluster && !target.cluster) return fail(check, `${redactUrl(url)} is a Redis Cluster node: set ${clusterVariable}=true (a single-node client fails with MOVED on keys other nodes own)`);
  if (!isCluster && target.cluster) return fail(check, `${clusterVariable}=true but ${redactUrl(url)} is not a Redis Cluster node: unset ${clusterVariable}`);
  return { fields, version, policy: fields.get("maxmemory_policy") ?? "unknown" };
}

/** The queue Redis: version, `noeviction` (evicting a queue key loses jobs) and persistence. */
export async function checkQueueRedis(target: RedisTarget, timeoutMs: number): Promise<Finding[]> {
  const check = "queue Redis";
  const facts = await inspect(check, target, ["REDIS_URL", "HERD_REDIS_CLUSTER"], timeoutMs);
  if ("status" in facts) return [facts];
  const { fields, version, policy } = facts;
  const memory = memoryOf(fields);
  const findings: Finding[] = [ok(check, `Redis ${version} at ${redactUrl(target.url)}${target.cluster ? " (cluster)" : ""}, maxmemory-policy ${policy}, ${memory.summary}`)];
  const share = memory.max > 0 ? memory.used / memory.max : 0;
  if (share >= 0.9) {
    const consequence = "at maxmemory Redis refuses writes: new jobs answer 503 redis_out_of_memory and workers cannot store results; raise maxmemory or keep fewer finished jobs (HERD_JOB_RETENTION, HERD_JOB_RETENTION_COUNT)";
    findings.push((share >= 1 ? fail : warn)(`${check} memory`, `${share >= 1 ? "full" : "nearly full"}: ${mib(memory.used)} of ${mib(memory.max)} used; ${consequence}`));
  }
  if (policy !== "noeviction") {
    findings.push(fail(`${check} eviction`, `maxmemory-policy is ${policy}: Redis may evict queue keys and lose jobs; set maxmemory-policy noeviction on REDIS_URL`));
  }
  if (fields.get("aof_enabled") !== "1") {
    findings.push(warn(`${check} persistence`, "appendonly is off: jobs queued since the last snapshot are lost if Redis restarts (appendonly yes, appendfsync everysec)"));
  }
  return findings;
}

/** The cache Redis: a separate LRU Redis is best; sharing the queue Redis works for small deployments. */
export async function checkCacheRedis(target: RedisTarget, queueUrl: string, timeoutMs: number): Promise<Finding[]> {
  const check = "cache Redis";
  const { url } = target;
  if (url === queueUrl) {
    return [warn(check, "shares REDIS_URL: cache entries take the queue's memory and leave only when their TTL ends; set HERD_CACHE_REDIS_URL to a Redis with maxmemory and allkeys-lru")];
  }
  const facts = await inspect(check, target, ["HERD_CACHE_REDIS_URL", "HERD_CACHE_REDIS_CLUSTER"], timeoutMs);
  if ("status" in facts) return [facts];
  const { fields, version, policy } = facts;
  const memory = memoryOf(fields);
  const summary = `Redis ${version} at ${redactUrl(url)}${target.cluster ? " (cluster)" : ""}, maxmemory-policy ${policy}, ${memory.summary}`;
  if (memory.max === 0) return [warn(check, `${summary}: the cache grows until the machine runs out of memory; set maxmemory`)];
  if (policy === "noeviction") return [warn(check, `${summary}: once full, cache writes fail (counted as cache errors); use allkeys-lru`)];
  return [ok(check, summary)];
}

const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

/** Used memory against maxmemory (0: no limit), from INFO. */
function memoryOf(fields: Map<string, string>): { used: number; max: number; summary: string } {
  const used = Number(fields.get("used_memory") ?? "0");
  const max = Number(fields.get("maxmemory") ?? "0");
  return { used, max, summary: max > 0 ? `maxmemory ${mib(max)} (${Math.round((used / max) * 100)}% used)` : `maxmemory unlimited (${mib(used)} used)` };
}
