import { RedisClusterServer, waitFor } from "@herd/testing";
import { Stack, type StackOptions } from "./stack.js";

/**
 * A Redis Cluster with a replica per master, and a whole Herd on it entering through a node that
 * does not own its slot; `owner` is the master that does (the one the failover tests kill).
 */
export async function herdOnCluster(
  prefix: string,
  options: { nodeTimeoutMs: number; env: Record<string, string>; workerEnv: Record<string, string>; fleet: StackOptions["fleet"]; errorLog?: string[] },
): Promise<{ cluster: RedisClusterServer; stack: Stack; owner: number }> {
  const cluster = await RedisClusterServer.start({ masters: 3, replicas: 1, nodeTimeoutMs: options.nodeTimeoutMs });
  try {
    const owner = await cluster.ownerOf(`{${prefix}}`);
    const entry = cluster.ports.find((port) => port !== owner) ?? 0;
    const stack = await Stack.start({
      prefix,
      redisUrl: cluster.urlOf(entry),
      ownRedis: true,
      env: { HERD_REDIS_CLUSTER: "true", ...options.env },
      workerEnv: options.workerEnv,
      fleet: options.fleet,
      ...(options.errorLog ? { errorLog: options.errorLog } : {}),
    });
    return { cluster, stack, owner };
  } catch (error) {
    await cluster.close();
    throw error;
  }
}

/** Waits until a replica owns the slot `owner` had (as a surviving node sees it); its port. */
export function promotedOwner(cluster: RedisClusterServer, prefix: string, owner: number): Promise<number> {
  const survivor = cluster.ports.find((port) => port !== owner) ?? 0;
  return waitFor(async () => {
    const port = await cluster.ownerOf(`{${prefix}}`, survivor).catch(() => undefined);
    return port !== undefined && port !== owner ? port : undefined;
  }, { timeoutMs: 30_000, message: "a replica promoted" });
}
