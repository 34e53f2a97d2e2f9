import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./redis.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

/**
 * A private Redis Cluster of `masters` redis-server processes (no replicas) on free ports, made
 * with `redis-cli --cluster create`, for tests of Herd on a cluster. Never the shared Redis.
 */
export class RedisClusterServer {
  readonly #processes: ChildProcess[] = [];

  private constructor(
    readonly ports: number[],
    readonly dir: string,
  ) {}

  static async start(masters = 3): Promise<RedisClusterServer> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: both must be free.
      if (port + 10_000 <= 65_535 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new RedisClusterServer(ports, mkdtempSync(join(tmpdir(), "herd-redis-cluster-")));
    try {
      await cluster.#boot();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  async #boot(): Promise<void> {
    for (const port of this.ports) {
      const dir = join(this.dir, String(port));
      mkdirSync(dir);
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"];
      this.#processes.push(spawn("redis-server", args, { stdio: "ignore" }));
    }
    for (const port of this.ports) await waitFor(() => this.#node(port, (node) => node.ping()).then((reply) => reply === "PONG", () => false), { timeoutMs: 10_000, message: `cluster node on port ${port}` });
    await run("redis-cli", ["--cluster", "create", ...this.ports.map((port) => `127.0.0.1:${port}`), "--cluster-yes"]);
    for (const port of this.ports) {
      await waitFor(async () => /cluster_state:ok/.test(await this.#node(port, (node) => node.cluster("INFO") as Promise<string>)), { timeoutMs: 20_000, message: `cluster state ok on port ${port}` });
    }
  }

  async #node<T>(port: number, use: (node: Redis) => Promise<T>): Promise<T> {
    const node = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    node.on("error", () => undefined);
    try {
      await node.connect();
      return await use(node);
    } finally {
      node.disconnect();
    }
  }

  urlOf(port: number): string {
    return `redis://127.0.0.1:${port}`;
  }

  /** The port of the master that owns `key`'s slot. */
  async ownerOf(key: string): Promise<number> {
    const port = this.ports[0] ?? 0;
    const slot = await this.#node(port, (node) => node.cluster("KEYSLOT", key) as Promise<number>);
    const ranges = await this.#node(port, (node) => node.cluster("SLOTS"));
    const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (!master) throw new Error(`no node owns slot ${slot}`);
    return master[1];
  }

  /** Number of keys stored on the node at `port`. */
  dbsize(port: number): Promise<number> {
    return this.#node(port, (node) => node.dbsize());
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#processes.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
