import type { ChildProcess } from "node:child_process";
import { deletePrefix, freePort, HerdCluster, testRedis, type Member } from "@herd/testing";

/**
 * One API and one worker as real processes (HerdCluster underneath), so a test can kill -9 either
 * and start it again; a restarted API keeps its URL.
 */
export class HerdProcesses {
  #api: Member | undefined;
  #worker: Member | undefined;
  #workers = 0;

  private constructor(
    readonly cluster: HerdCluster,
    readonly url: string,
    private readonly port: number,
    private readonly instances: string,
  ) {}

  static async start(env: Record<string, string>): Promise<HerdProcesses> {
    const port = await freePort();
    const { HERD_INSTANCES: instances = "", ...rest } = env;
    const processes = new HerdProcesses(new HerdCluster({ PATH: process.env["PATH"] ?? "", ...rest }), `http://127.0.0.1:${port}`, port, instances);
    processes.startWorker();
    await processes.startApi();
    return processes;
  }

  get api(): ChildProcess | undefined {
    return this.#api?.child;
  }

  get worker(): ChildProcess | undefined {
    return this.#worker?.child;
  }

  get output(): string {
    return this.cluster.output;
  }

  startWorker(): void {
    this.#worker = this.cluster.startWorker(`w-${++this.#workers}-${Date.now()}`, this.instances);
  }

  async startApi(): Promise<void> {
    this.#api = await this.cluster.startApi("api", {}, this.port);
  }

  static async kill(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (child) await HerdCluster.stop({ child }, signal);
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
    await this.cluster.close();
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
