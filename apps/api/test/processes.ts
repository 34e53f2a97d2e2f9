import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { deletePrefix, freePort, testRedis, waitFor } from "@herd/testing";

const entry = (app: string) => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));

/** Herd's API and a worker as real processes, so a test can kill -9 either and start it again. */
export class HerdProcesses {
  api: ChildProcess | undefined;
  worker: ChildProcess | undefined;
  output = "";

  private constructor(
    readonly env: Record<string, string>,
    readonly url: string,
  ) {}

  static async start(env: Record<string, string>): Promise<HerdProcesses> {
    const port = await freePort();
    const processes = new HerdProcesses({ PATH: process.env["PATH"] ?? "", LOG_LEVEL: "warn", LOG_FORMAT: "json", HERD_AUTH: "open", ...env, PORT: String(port) }, `http://127.0.0.1:${port}`);
    processes.startWorker();
    await processes.startApi();
    return processes;
  }

  #spawn(app: string, extra: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [entry(app)], { env: { ...this.env, ...extra }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => (this.output += `[${app}] ${chunk.toString()}`));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += `[${app}] ${chunk.toString()}`));
    return child;
  }

  startWorker(): void {
    this.worker = this.#spawn("worker", { HERD_WORKER_ID: `w-${Date.now()}`, HERD_METRICS_PORT: "0" });
  }

  async startApi(): Promise<void> {
    this.api = this.#spawn("api");
    await waitFor(async () => {
      const response = await fetch(`${this.url}/ready`);
      return response.ok;
    }, { timeoutMs: 60_000, message: `the API at ${this.url} to be ready\n${this.output}` });
  }

  static async kill(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  async get(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.url}${path}`);
    return { status: response.status, body: await response.json() };
  }

  async close(): Promise<void> {
    await HerdProcesses.kill(this.api, "SIGTERM");
    await HerdProcesses.kill(this.worker, "SIGTERM");
  }
}

/** Stops, in reverse order of start, what a process-level test opened, then deletes its Redis keys. */
export async function closeAll(prefix: string, ...resources: Array<{ close(): Promise<unknown> } | { drop(): Promise<unknown> } | undefined>): Promise<void> {
  for (const resource of resources) {
    if (!resource) continue;
    await ("close" in resource ? resource.close() : resource.drop());
  }
  const redis = testRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
}
