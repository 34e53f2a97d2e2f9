import { freePort } from "@herd/testing";
import { Proc, appEntry, waitHttp } from "./processes.js";

export { freePort };

export interface HerdInstance {
  url: string;
  name: string;
  slots?: number;
}

export interface HerdProcesses {
  url: string;
  prefix: string;
  /** Process ids of the API and the worker (for CPU readings). */
  pids: { api: number | undefined; worker: number | undefined };
  stop: () => Promise<void>;
}

/**
 * Starts a Herd API and one worker process (the deployment shape) bound to `instances`, or with
 * `workerPerInstance` one worker process per instance (one worker per GPU box).
 */
export async function startHerd(instances: HerdInstance[], prefix: string, redisUrl: string, env: Record<string, string> = {}, options: { workerPerInstance?: boolean } = {}): Promise<HerdProcesses> {
  const port = await freePort();
  const common = { REDIS_URL: redisUrl, HERD_PREFIX: prefix, LOG_LEVEL: "warn", LOG_FORMAT: "json", HERD_AUTH: "open", ...env };
  const groups = options.workerPerInstance ? instances.map((instance) => [instance]) : [instances];
  const workers = groups.map((group, i) =>
    Proc.start(`herd-worker${groups.length > 1 ? `-${i}` : ""}`, process.execPath, [appEntry("worker")], {
      ...common,
      HERD_INSTANCES: JSON.stringify(group),
      HERD_WORKER_ID: `${prefix}-worker${groups.length > 1 ? `-${i}` : ""}`,
      HERD_METRICS_PORT: "0",
    }),
  );
  const stopWorkers = () => Promise.all(workers.map((worker) => worker.stop()));
  const api = Proc.start("herd-api", process.execPath, [appEntry("api")], { ...common, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(`${url}/ready`, (status, body) => status === 200 && (JSON.parse(body) as { healthyInstances: number }).healthyInstances === instances.length, undefined, [api, ...workers]);
  } catch (error) {
    await Promise.all([api.stop(), stopWorkers()]);
    throw new Error(`${(error as Error).message}\nworker: ${workers.map((worker) => worker.output).join("\n")}\napi: ${api.output}`, { cause: error });
  }
  return {
    url,
    prefix,
    pids: { api: api.child.pid, worker: workers[0]?.child.pid },
    stop: async () => {
      await api.stop();
      await stopWorkers();
    },
  };
}
