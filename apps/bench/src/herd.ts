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

/** Starts a Herd API and one worker process (the deployment shape) bound to `instances`. */
export async function startHerd(instances: HerdInstance[], prefix: string, redisUrl: string, env: Record<string, string> = {}): Promise<HerdProcesses> {
  const port = await freePort();
  const common = { REDIS_URL: redisUrl, HERD_PREFIX: prefix, LOG_LEVEL: "warn", LOG_FORMAT: "json", HERD_AUTH: "open", ...env };
  const worker = Proc.start("herd-worker", process.execPath, [appEntry("worker")], {
    ...common,
    HERD_INSTANCES: JSON.stringify(instances),
    HERD_WORKER_ID: `${prefix}-worker`,
    HERD_METRICS_PORT: "0",
  });
  const api = Proc.start("herd-api", process.execPath, [appEntry("api")], { ...common, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(`${url}/ready`, (status, body) => status === 200 && (JSON.parse(body) as { healthyInstances: number }).healthyInstances === instances.length);
  } catch (error) {
    await Promise.all([api.stop(), worker.stop()]);
    throw new Error(`${(error as Error).message}\nworker: ${worker.output}\napi: ${api.output}`, { cause: error });
  }
  return {
    url,
    prefix,
    pids: { api: api.child.pid, worker: worker.child.pid },
    stop: async () => {
      await api.stop();
      await worker.stop();
    },
  };
}
