import { createServer } from "node:net";
import type { StartConfig } from "@herd/config";

/** Whether something already listens on `host:port` (binding it fails with EADDRINUSE). */
export function inUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

/**
 * The fixed ports `herd start` would listen on that something else holds, each with the setting
 * that moves it. Checked before anything starts: otherwise the API of a Herd already running
 * answers our readiness check and we would print a banner for it while our own processes fail.
 */
export async function busyPorts(config: StartConfig): Promise<string[]> {
  const wanted: Array<{ port: number; host: string; setting: string; what: string }> = [];
  if (config.port !== 0) wanted.push({ port: config.port, host: config.host, setting: "PORT", what: "the API" });
  if (config.instances.length === 0) {
    for (let i = 0; i < config.emulator.instances; i += 1) {
      wanted.push({ port: config.emulator.basePort + i, host: "127.0.0.1", setting: "HERD_EMULATOR_BASE_PORT", what: `emulated instance ${i}` });
    }
  }
  if (config.metricsBasePort !== undefined && config.metricsBasePort !== 0) {
    for (let i = 0; i < config.workers; i += 1) wanted.push({ port: config.metricsBasePort + i, host: "0.0.0.0", setting: "HERD_METRICS_PORT", what: `worker ${i}'s metrics` });
  }
  const busy: string[] = [];
  for (const entry of wanted) {
    if (await inUse(entry.host, entry.port)) busy.push(`port ${entry.port} (${entry.what}, ${entry.setting}) is already in use`);
  }
  return busy;
}
