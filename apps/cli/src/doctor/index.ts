import { parseArgs } from "node:util";
import { DoctorEnv, loadConfig, toDoctorConfig, type DoctorConfig, type EnvSource } from "@herd/config";
import { hostname } from "node:os";
import { instanceKey, reachableFrom } from "@herd/fleet";
import { checkBindings } from "./bindings.js";
import { checkClocks } from "./clocks.js";
import { readFleet, type FleetReading } from "./fleet.js";
import { checkDatabase } from "./postgres.js";
import { checkCollectionModels, checkInstances, checkPinnedModels, type InstanceToCheck } from "./ollama.js";
import { checkCacheRedis, checkQueueRedis } from "./redis.js";
import { fail, renderReport, type Finding } from "./report.js";
import { checkChunkSizes } from "./chunks.js";

export const DOCTOR_USAGE = `Usage: herd doctor [--json]

Checks what a deployment depends on and prints a table: the queue Redis (version 6.2 or newer,
maxmemory-policy noeviction, persistence), this machine's and every live worker's clock against
the queue Redis's, whether two live workers bind one Ollama instance (which oversubscribes it),
the cache Redis, PostgreSQL and pgvector versions and migrations, every Ollama instance
(reachable, version, models; HERD_INSTANCES, or else the ones live workers report), the
models that collections need, and the models HERD_MODEL_OPTIONS pins. Exits 1 when a check fails.
--json prints the findings as JSON ({ ok, findings: [{ check, status, detail }] }) instead.
Reads REDIS_URL, HERD_REDIS_CLUSTER, HERD_CACHE_REDIS_URL, HERD_CACHE_REDIS_CLUSTER, HERD_PREFIX, DATABASE_URL, HERD_DATA_DIR, HERD_INSTANCES,
HERD_MODEL_OPTIONS and HERD_DOCTOR_TIMEOUT (per check, default 3s).`;

/**
 * The instances live workers report in their heartbeats, for a doctor run without HERD_INSTANCES.
 * One a worker on another machine reaches through a loopback URL is judged by that worker's report.
 */
function instancesFromHeartbeats(fleet: FleetReading | Error): InstanceToCheck[] | Finding {
  if (fleet instanceof Error) return fail("Ollama instances", `HERD_INSTANCES is empty and the live workers cannot be read from Redis: ${fleet.message}`);
  const here = hostname();
  const byKey = new Map<string, InstanceToCheck>();
  for (const worker of fleet.workers) {
    for (const instance of worker.instances) {
      const seenBy = reachableFrom(here, worker.host, instance.url)
        ? undefined
        : { workerId: worker.workerId, host: worker.host, healthy: instance.healthy, version: instance.version, models: instance.models.map((binding) => binding.model), lastError: instance.lastError };
      byKey.set(instanceKey(worker.host, instance.url), { name: instance.name, url: instance.url, ...(seenBy ? { seenBy } : {}) });
    }
  }
  return [...byKey.values()];
}

export async function collectFindings(config: DoctorConfig): Promise<Finding[]> {
  const queueRedis = { url: config.redisUrl, cluster: config.redisCluster };
  const [queue, cache, database] = await Promise.all([
    checkQueueRedis(queueRedis, config.timeoutMs),
    checkCacheRedis({ url: config.cacheRedisUrl, cluster: config.cacheRedisCluster }, config.redisUrl, config.timeoutMs),
    checkDatabase(config.database, config.timeoutMs),
  ]);
  // After the queue Redis's memory was read: this connection would count in the memory reported.
  const fleet = await readFleet(queueRedis, config.prefix, config.timeoutMs);
  const findings = [...queue, ...checkClocks(fleet), ...checkBindings(fleet), ...cache, ...database.findings];
  const listed = config.instances.length > 0 ? config.instances : instancesFromHeartbeats(fleet);
  if (!Array.isArray(listed)) return [...findings, listed];
  const instances = await checkInstances(listed, config.instances.length > 0 ? "HERD_INSTANCES" : "worker heartbeat", config.timeoutMs);
  findings.push(...instances.findings);
  if (database.collections) {
    findings.push(...checkCollectionModels(database.collections, instances.models));
    findings.push(...(await checkChunkSizes(database.collections, listed, instances.models, config.modelOptions, config.timeoutMs)));
  }
  findings.push(...checkPinnedModels(config.modelOptions, instances.models));
  return findings;
}

/** `herd doctor`: prints the table; 0 when nothing failed, 1 otherwise. */
export async function runDoctor(argv: string[], env: EnvSource, out: NodeJS.WriteStream | NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: "boolean" }, json: { type: "boolean" } } });
  if (values.help) {
    out.write(`${DOCTOR_USAGE}\n`);
    return 0;
  }
  const config = loadConfig(DoctorEnv, toDoctorConfig, env);
  const findings = await collectFindings(config);
  out.write(values.json ? `${JSON.stringify({ ok: !findings.some((finding) => finding.status === "fail"), findings }, null, 2)}\n` : renderReport(findings, "isTTY" in out && out.isTTY === true));
  return findings.some((finding) => finding.status === "fail") ? 1 : 0;
}
