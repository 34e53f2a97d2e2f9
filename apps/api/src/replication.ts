import type { ApiConfig } from "@herd/config";
import type { Logger } from "@herd/logger";
import { waitForReplicas, type RedisClient } from "@herd/redis";

export interface ReplicationDeps {
  redis: RedisClient;
  logger: Logger;
  config: Pick<ApiConfig, "replication">;
}

/**
 * With HERD_REDIS_WAIT_REPLICAS, work is answered for only once that many replicas hold what this
 * connection wrote (`key` routes the WAIT on a cluster), so a failover cannot lose it. Too few
 * within the timeout: the work stands (it is queued on the primary) and the shortfall is logged;
 * an unreachable Redis rejects, which the caller turns into 503.
 */
export async function confirmReplicated(deps: ReplicationDeps, key: string, context: Record<string, unknown>): Promise<void> {
  const { waitReplicas, timeoutMs } = deps.config.replication;
  if (waitReplicas === 0) return;
  const acknowledged = await waitForReplicas(deps.redis, key, waitReplicas, timeoutMs);
  if (acknowledged < waitReplicas) deps.logger.warn({ ...context, acknowledged, wanted: waitReplicas, timeoutMs }, "queued on fewer Redis replicas than HERD_REDIS_WAIT_REPLICAS asks");
}
