export { ConfigError } from "./errors.js";
export { loadConfig, type EnvSource } from "./load.js";
export { ApiEnv, toApiConfig, type ApiConfig } from "./api.js";
export { WorkerEnv, toWorkerConfig, type WorkerConfig } from "./worker.js";
export { StartEnv, toStartConfig, type StartConfig } from "./start.js";
export { InstanceConfig, InstancesEnv, defaultInstanceName, type ResolvedInstance } from "./instances.js";
export { DEFAULT_REDIS_URL, type SharedConfig } from "./shared.js";
export { parseDurationMs } from "./primitives.js";
export { CliEnv, toCliConfig, type CliConfig } from "./cli.js";
