import { execFile, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freeClusterPort } from "./ports.js";
import { stopProcess } from "./redis.js";
import { RedisExitedError, spawnRedis } from "./redis-process.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

export interface RedisClusterOptions {
  masters?: number;
  /** Replicas per master (a failover needs one). */
  replicas?: number;
  /** How long a master may be unreachable before its replica takes over. */
  nodeTimeoutMs?: number;
  /** More redis-server arguments for every node (e.g. to take a command away). */
  serverArgs?: string[];
}

/**
 * A private Redis Cluster of redis-server processes on free ports, made with `redis-cli --cluster
 * create`, for tests of Herd on a cluster. Never the shared Redis.
 */
export class RedisClusterServer {
  readonly #processes: ChildProcess[] = [];

  private constructor(
    readonly ports: number[],
    readonly dir: string,
    private readonly options: Required<RedisClusterOptions>,
  ) {}

  static async start({ masters = 3, replicas = 0, nodeTimeoutMs = 15_000, serverArgs = [] }: RedisClusterOptions = {}): Promise<RedisClusterServer> {
    const cluster = new RedisClusterServer([], mkdtempSync(join(tmpdir(), "herd-redis-cluster-")), { masters, replicas, nodeTimeoutMs, serverArgs });
    try {
      await cluster.#boot();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /**
   * Starts one node. Between picking a port and redis-server binding it (and its bus port),
   * another test's server or client may take either: the node then exits at once, and is started
   * again on other ports.
   */
  async #startNode(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const port = await freeClusterPort();
      this.ports.push(port);
      const dir = join(this.dir, String(port));
      mkdirSync(dir);
      try {
        this.#processes.push(await spawnRedis(port, ["--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", String(this.options.nodeTimeoutMs), "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", ...this.options.serverArgs]));
        return;
      } catch (error) {
        this.ports.splice(this.ports.indexOf(port), 1);
        if (!(error instanceof RedisExitedError) || attempt >= 5) throw error;
      }
    }
  }

  async #boot(): Promise<void> {
    const nodes = this.options.masters * (1 + this.options.replicas);
    // One after another, so `ports` and the processes stay in the same order (`kill` relies on it).
    for (let started = 0; started < nodes; started += 1) await this.#startNode();
    await run("redis-cli", ["--cluster", "create", ...this.ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", String(this.options.replicas), "--cluster-yes"]);
    for (const port of this.ports) await this.waitHealthy(port);
    // A replica that has not finished its first sync cannot take over: wait until every master
    // has its replicas online.
    if (this.options.replicas > 0) {
      for (const port of this.ports) {
        await waitFor(async () => {
          const info = await this.#node(port, (node) => node.info("replication"));
          if (/role:slave/.test(info)) return /master_link_status:up/.test(info);
          return (info.match(/^slave\d+:.*state=online/gm) ?? []).length >= this.options.replicas;
        }, { timeoutMs: 20_000, message: `replication in sync on port ${port}` });
      }
    }
  }

  /** Waits until the node at `port` sees the cluster whole (every slot served). */
  async waitHealthy(port: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => /cluster_state:ok/.test(await this.#node(port, (node) => node.cluster("INFO") as Promise<string>)), { timeoutMs, message: `cluster state ok on port ${port}` });
  }

  /** Kills the node at `port` outright (SIGKILL), as a crashed machine would go. */
  async kill(port: number): Promise<void> {
    const child = this.#processes[this.ports.indexOf(port)];
    if (child) await stopProcess(child, "SIGKILL");
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

  /** The port of the master that owns `key`'s slot, as the node at `via` sees it. */
  async ownerOf(key: string, via = this.ports[0] ?? 0): Promise<number> {
    const slot = await this.#node(via, (node) => node.cluster("KEYSLOT", key) as Promise<number>);
    const ranges = await this.#node(via, (node) => node.cluster("SLOTS"));
    const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    if (!master) throw new Error(`no node owns slot ${slot}`);
    return master[1];
  }

  /** A section of INFO from the node at `port`. */
  info(port: number, section: string): Promise<string> {
    return this.#node(port, (node) => node.info(section));
  }

  /** Runs one command on the node at `port` (to look at its state). */
  call(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
    return this.#node(port, (node) => node.call(command, ...args));
  }

  /** Number of keys stored on the node at `port`. */
  dbsize(port: number): Promise<number> {
    return this.#node(port, (node) => node.dbsize());
  }

  async close(): Promise<void> {
    await Promise.all(this.#processes.map((child) => stopProcess(child, "SIGTERM")));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
