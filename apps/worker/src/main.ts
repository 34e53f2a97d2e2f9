import { ConfigError, WorkerEnv, listenError, loadConfig, toWorkerConfig } from "@herd/config";
import { coerceError, createLogger } from "@herd/logger";
import { startMetricsServer } from "@herd/metrics";
import { WorkerRuntime } from "@herd/worker-core";

async function main(): Promise<void> {
  const config = loadConfig(WorkerEnv, toWorkerConfig, process.env);
  const logger = createLogger({ name: "herd-worker", level: config.log.level, format: config.log.format });
  const runtime = new WorkerRuntime({ config, logger });
  // Metrics first: a port clash fails the start before any job is taken.
  const metrics = config.metrics
    ? await startMetricsServer(runtime.metrics.registry, config.metrics.port, config.metrics.host, config.metrics.credentials).catch((error: unknown) => {
        throw listenError(error, "HERD_METRICS_PORT", `${config.metrics?.host}:${config.metrics?.port}`, `, or "off"`);
      })
    : undefined;
  await runtime.start();
  logger.info(
    { workerId: config.workerId, instances: config.instances.map((instance) => `${instance.name}=${instance.url}`), metrics: metrics?.url },
    "herd worker started",
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals | "parent exited") => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, "shutting down: finishing running jobs");
    void runtime
      .close()
      .then(() => metrics?.close())
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // Launched by `herd start` (an IPC channel): the channel closes when it dies, even by SIGKILL,
  // and nothing of it may keep the ports. Run on its own, this process has no channel.
  process.once("disconnect", () => stop("parent exited"));
  process.on("unhandledRejection", (reason) => logger.error({ err: coerceError(reason) }, "unhandled promise rejection"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`herd-worker: ${error.message}`);
    process.exit(2);
  }
  console.error(`herd-worker: failed to start: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
