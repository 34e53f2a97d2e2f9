/** Redis keys Herd owns besides BullMQ's. All share the `{prefix}` hash tag. */
export function herdKeys(prefix: string) {
  const tag = `{${prefix}}`;
  const resultPrefix = `${tag}:result:`;
  return {
    tag,
    result: (jobId: string) => `${resultPrefix}${jobId}`,
    /** What every result key starts with (followed by the job id): the trim script appends ids. */
    resultPrefix,
    /** Ids of a queue's stored results, oldest first (see trimResults in @herd/worker-core). */
    results: (queue: string) => `${tag}:results:${queue}`,
    canceled: (jobId: string) => `${tag}:canceled:${jobId}`,
    /**
     * When a canceled job was created (epoch ms): its own key beside the marker, whose
     * `<time>|<tenant>` format every API process of a rolling upgrade must keep reading alike.
     */
    canceledCreated: (jobId: string) => `${tag}:canceled-created:${jobId}`,
    /** Pub/sub channel: a job id published here is aborted by the worker running it. */
    cancelChannel: `${tag}:cancel`,
    /** Pub/sub channel of one API process: finished results of the jobs its clients wait for. */
    replies: (apiId: string) => `${tag}:replies:${apiId}`,
    workers: `${tag}:fleet:workers`,
    worker: (workerId: string) => `${tag}:fleet:worker:${workerId}`,
    /** What an instance said of itself at a worker's last discovery (see InstanceDescriptions). */
    instanceDescription: (workerId: string, url: string) => `${tag}:fleet:described:${workerId}:${url}`,
    /** Which worker holds an Ollama instance (HERD_CLAIM_INSTANCES), keyed by its URL. */
    instanceClaim: (url: string) => `${tag}:fleet:claim:${url}`,
    cache: (layer: string, hash: string) => `${tag}:cache:${layer}:${hash}`,
    ingestion: (id: string) => `${tag}:ingestion:${id}`,
    ingestionDocs: (id: string) => `${tag}:ingestion:${id}:docs`,
    ingestionEmbedded: (id: string) => `${tag}:ingestion:${id}:embedded`,
    /** Which API process runs the current ingestion recovery pass (SET NX, expiring). */
    ingestionRecoveryTurn: `${tag}:ingestion-recovery`,
    /** API keys: one JSON record per key id (hash of the secret, never the secret), and the set of ids. */
    apiKey: (id: string) => `${tag}:access:key:${id}`,
    apiKeys: `${tag}:access:keys`,
    /** Jobs an API key has queued or running (sorted set, score = when the entry lapses). */
    keyInflight: (keyId: string) => `${tag}:access:inflight:${keyId}`,
    /** Fleet-wide cache counters (`layer:hits` → n), summed from every process. */
    cacheStats: `${tag}:stats:cache`,
  };
}
export type HerdKeys = ReturnType<typeof herdKeys>;
