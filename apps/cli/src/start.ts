import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { ApiEnv, ConfigError, StartEnv, WorkerEnv, loadConfig, toApiConfig, toStartConfig, toWorkerConfig, type EnvSource, type StartConfig } from "@herd/config";
import { redactUrl } from "@herd/redis";
import { NO_REDIS_HELP, isLocalRedis, isOurLeftoverRedis, onPath, redisAnswers, shutdownRedis, startLocalRedis } from "./redis-check.js";
import { busyPorts } from "./ports.js";
import { waitUntilReady } from "./readiness.js";

interface Child {
  name: string;
  process: ChildProcess;
}

const appEntry = (app: string) => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));
const emulatorEntry = () => fileURLToPath(new URL("./cli.js", import.meta.resolve("@herd/ollama-emulator")));

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((done) => setTimeout(done, intervalMs));
  }
  return false;
}

type RedisOrigin = "external" | "started" | "taken over";

function redisLine(origin: RedisOrigin, config: StartConfig): string {
  const url = redactUrl(config.redisUrl);
  if (origin === "started") return `  Redis: ${url}, started for you (data under .herd/redis)`;
  if (origin === "taken over") return `  Redis: ${url}, left running by an earlier herd start that was killed; this one stops it (data under .herd/redis)`;
  return `  Redis: ${url} (REDIS_URL)`;
}

function banner(apiUrl: string, emulated: string[] | undefined, redis: RedisOrigin, config: StartConfig): string {
  const workerMetrics =
    config.metricsBasePort === undefined
      ? "off (HERD_METRICS_PORT)"
      : config.metricsBasePort === 0
        ? "on free ports (HERD_METRICS_PORT=0)"
        : Array.from({ length: config.workers }, (_, i) => `http://127.0.0.1:${(config.metricsBasePort ?? 0) + i}/metrics`).join(", ");
  const lines = [
    "",
    `Herd is running: ${apiUrl}`,
    redisLine(redis, config),
    emulated ? `  Ollama: ${emulated.length} emulated instances (${emulated.join(", ")}); set HERD_INSTANCES to use real servers` : "  Ollama: instances from HERD_INSTANCES",
    config.auth === "open"
      ? "  Access: open, no API key needed (the API listens on loopback only; HERD_AUTH=keys to require keys)"
      : "  Access: API keys required; create one with: npx herd keys create --name <who>",
    `  Metrics: ${apiUrl}/metrics (API); workers: ${workerMetrics}`,
    `  Fleet: ${apiUrl}/api/load-balancer-stats, ${apiUrl}/api/advanced-cache-stats`,
    config.adminUser
      ? `  Queues (Bull Board): ${apiUrl}/admin/queues (user ${config.adminUser})`
      : `  Queues (Bull Board): set HERD_ADMIN_PASSWORD (12+ characters) to enable ${apiUrl}/admin/queues`,
    "",
    "Try it:",
    `  curl -s -X POST '${apiUrl}/v1/jobs?wait=10000' -H 'content-type: application/json' \\`,
    `       -d '{"type":"embed","model":"nomic-embed-text","input":"How do I bleed the hydraulic pump?"}'`,
    `  curl -s ${apiUrl}/v1/fleet`,
    "",
    "Press Ctrl+C to stop.",
    "",
  ];
  return lines.join("\n");
}

/** What `herd start` sets for the API process on top of its own environment. */
function apiEnv(config: StartConfig): Record<string, string> {
  return { PORT: String(config.port), HOST: config.host, HERD_AUTH: config.auth };
}

/** What `herd start` sets for worker `index` (HERD_INSTANCES: the emulated fleet's, if any). */
function workerEnv(config: StartConfig, index: number, instancesJson: string | undefined): Record<string, string> {
  return {
    ...(instancesJson ? { HERD_INSTANCES: instancesJson } : {}),
    // Unique to this start: a second `herd start` on the same Redis and prefix (one that fails
    // because this one holds the ports or the database) must not publish, then remove on its
    // way out, the heartbeats of this one's workers.
    HERD_WORKER_ID: `local-${process.pid}-${index}`,
    // Each worker on this machine needs its own metrics port (0 stays "any free port").
    HERD_METRICS_PORT: config.metricsBasePort === undefined ? "off" : String(config.metricsBasePort === 0 ? 0 : config.metricsBasePort + index),
  };
}

/**
 * The API's and the workers' settings, checked as they will read them, so that a bad value fails
 * `herd start` at once (exit 2, every bad field named once) rather than after Redis, the emulator
 * and the workers are up and one child exits.
 */
function checkChildConfigs(env: EnvSource, config: StartConfig): void {
  const issues = new Set<string>();
  const check = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) issues.add(issue);
    }
  };
  const emulated = config.instances.length === 0 ? JSON.stringify([{ url: "http://127.0.0.1:11434" }]) : undefined;
  check(() => loadConfig(ApiEnv, toApiConfig, { ...env, ...apiEnv(config) }));
  check(() => loadConfig(WorkerEnv, toWorkerConfig, { ...env, ...workerEnv(config, 0, emulated) }));
  if (issues.size > 0) throw new ConfigError([...issues]);
}

/** `herd start`: Redis (if needed), an emulated fleet (if no instances), workers and the API. */
export async function start(env: EnvSource): Promise<number> {
  const config = loadConfig(StartEnv, toStartConfig, env);
  checkChildConfigs(env, config);
  const busy = await busyPorts(config);
  if (busy.length > 0) {
    console.error(`herd: cannot start: ${busy.join("; ")}.\nIs another Herd running? Stop it, or move this one with the setting named.`);
    return 1;
  }
  const children: Child[] = [];
  let redis: RedisOrigin = "external";
  let stopping = false;
  const stopAll = async (code: number): Promise<number> => {
    stopping = true;
    // Reverse order: API first, then workers, emulator, Redis last.
    for (const child of [...children].reverse()) {
      if (child.process.exitCode !== null) continue;
      const exited = new Promise((done) => child.process.once("exit", done));
      child.process.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 30_000))]);
    }
    if (redis === "taken over") {
      await shutdownRedis(config.redisUrl).catch((error: unknown) => {
        console.error(`herd: could not stop the Redis at ${redactUrl(config.redisUrl)}: ${(error as Error).message}`);
        code = code === 0 ? 1 : code;
      });
    }
    return code;
  };
  const launch = (name: string, command: string, args: string[], extraEnv: Record<string, string> = {}) => {
    // Each child in its own process group: Ctrl+C reaches only this process, which stops them in
    // order. In the terminal's group they would all get SIGINT at once, Redis and the emulator
    // quitting under the workers while these still finish their running jobs. The IPC channel
    // is how they learn that this process died without stopping them (SIGKILL): it closes.
    const child = spawn(command, args, { stdio: ["inherit", "inherit", "inherit", "ipc"], env: { ...env, ...extraEnv }, detached: true });
    children.push({ name, process: child });
    return child;
  };

  if (await redisAnswers(config.redisUrl)) {
    // A redis-server cannot notice that the herd start which launched it died; the next one does.
    if (isLocalRedis(config.redisUrl) && (await isOurLeftoverRedis(config.redisUrl, config.dataDir))) redis = "taken over";
  } else {
    if (!isLocalRedis(config.redisUrl) || !onPath("redis-server")) {
      console.error(NO_REDIS_HELP);
      return 1;
    }
    const redisServer = startLocalRedis(config.redisUrl, resolve(config.dataDir));
    children.push({ name: "redis", process: redisServer });
    redis = "started";
    if (!(await waitFor(() => redisAnswers(config.redisUrl), 10_000))) {
      console.error(`herd: started redis-server but it does not answer at ${config.redisUrl}`);
      return stopAll(1);
    }
  }

  let instancesJson: string | undefined;
  let emulatedUrls: string[] | undefined;
  if (config.instances.length === 0) {
    const { instances, basePort, slots } = config.emulator;
    emulatedUrls = Array.from({ length: instances }, (_, i) => `http://127.0.0.1:${basePort + i}`);
    launch("emulator", process.execPath, [emulatorEntry(), "--instances", String(instances), "--base-port", String(basePort), "--slots", String(slots), "--latency", "realistic"]);
    instancesJson = JSON.stringify(emulatedUrls.map((url, i) => ({ url, name: `emulated-${i}`, slots })));
  }

  for (let i = 0; i < config.workers; i += 1) {
    launch(`worker-${i}`, process.execPath, [appEntry("worker")], workerEnv(config, i, instancesJson));
  }
  launch("api", process.execPath, [appEntry("api")], apiEnv(config));

  const exited = new Promise<number>((done) => {
    for (const child of children) {
      child.process.once("exit", (code, signal) => {
        if (stopping) return;
        console.error(`herd: ${child.name} exited (${signal ?? `code ${code}`}); stopping everything`);
        void stopAll(1).then(done);
      });
    }
  });
  const signalled = new Promise<number>((done) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl+C: the user will not wait for the orderly stop. Nothing may outlive us.
        console.error(`herd: ${signal} received again, stopping everything at once`);
        for (const child of children) if (child.process.exitCode === null) child.process.kill("SIGTERM");
        return;
      }
      console.error(`herd: ${signal} received, stopping`);
      void stopAll(0).then(done);
    };
    // SIGHUP: the terminal closed, which no longer reaches the children (their own groups).
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  });

  const apiUrl = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${config.port}`;
  const notReady = await Promise.race([
    waitUntilReady(apiUrl, 60_000, (reason) => console.error(`herd: not ready yet: ${reason}`)),
    exited.then(() => "stopped"),
    signalled.then(() => "stopped"),
  ]);
  if (notReady === undefined) console.log(banner(apiUrl, emulatedUrls, redis, config));
  else if (!stopping) {
    console.error(`herd: the API did not become ready at ${apiUrl}/ready within 60 s: ${notReady}`);
    return stopAll(1);
  }
  return Promise.race([exited, signalled]);
}
