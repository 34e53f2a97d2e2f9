import { ApiEnv, ConfigError, listenError, loadConfig, toApiConfig } from "@herd/config";
import { coerceError, createLogger } from "@herd/logger";
import { createApiRuntime } from "./runtime.js";

async function main(): Promise<void> {
  const config = loadConfig(ApiEnv, toApiConfig, process.env);
  const logger = createLogger({ name: "herd-api", level: config.log.level, format: config.log.format });
  const runtime = await createApiRuntime(config, logger);
  const { url } = await runtime.listen().catch(async (error: unknown) => {
    await runtime.close();
    throw listenError(error, "PORT", `${config.host}:${config.port}`, " (or HOST)");
  });
  logger.info({ url }, "herd api listening");

  let stopping = false;
  const stop = (signal: NodeJS.Signals | "parent exited") => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    void runtime.close().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
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
    console.error(`herd-api: ${error.message}`);
    process.exit(2);
  }
  console.error(`herd-api: failed to start: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
