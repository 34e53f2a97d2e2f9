export { createRegistry, type Registry } from "./registry.js";
export { httpMetrics } from "./http.js";
export { ApiJobMetrics, WorkerJobMetrics } from "./jobs.js";
export { InstanceMetrics, type BindingState, type InstanceState } from "./instances.js";
export { cacheMetrics, type CacheLayerCounts } from "./cache.js";
export { IngestMetrics } from "./ingest.js";
export { queueMetrics, QUEUE_STATES, type CountableQueue } from "./queues.js";
export { startMetricsServer, type MetricsServer } from "./server.js";
