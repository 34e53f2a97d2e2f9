import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { queueName } from "@herd/jobs";
import { EmulatorInstance } from "@herd/ollama-emulator";
import { createTestDatabase, deletePrefix, HerdCluster, testEnv, testRedis, uniquePrefix, type TestDatabase } from "@herd/testing";
import { countMap, duplicates, saveResult, type OfferedLoad, type ScenarioResult, type Settled } from "../src/index.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const EMBED_QUEUE = queueName("embed", "nomic-embed-text");

/**
 * Timings scaled for a test: a dead worker's jobs are recovered after a 2 s lock, instances are
 * probed every 200 ms, retries back off 100 ms, an Ollama call gives up after 3 s.
 */
export const FAST_RECOVERY = {
  HERD_LOCK_DURATION: "2s",
  HERD_STALLED_INTERVAL: "500ms",
  HERD_PROBE_INTERVAL: "200ms",
  HERD_PROBE_TIMEOUT: "300ms",
  HERD_HEARTBEAT_INTERVAL: "500ms",
  HERD_FLEET_REFRESH: "200ms",
  HERD_JOB_BACKOFF: "100ms",
  HERD_EMBED_TIMEOUT: "3s",
  // Every job must really run: identical text would be answered from the cache.
  HERD_CACHE_EMBEDDING_TTL: "off",
};

/** Emulated instances that count how often each input is computed (for the duplicates column). */
export async function emulators(count: number, embedMs: number): Promise<EmulatorInstance[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => new EmulatorInstance({ name: `emu-${i}`, preload: true, recordInputs: true, latency: { embedMs } }).listen()));
}

export function instancesEnv(instances: readonly EmulatorInstance[]): string {
  return JSON.stringify(instances.map((instance) => ({ url: instance.url, name: instance.ctx.name })));
}

/** What every scenario opens: a key prefix, a database, a queue handle; closed in reverse order. */
export class Scenario {
  readonly prefix: string;
  readonly redis = testRedis();
  database: TestDatabase | undefined;
  cluster: HerdCluster | undefined;
  queue: Queue | undefined;
  readonly closers: Array<() => Promise<unknown>> = [];

  constructor(name: string) {
    this.prefix = uniquePrefix(`faults-${name}`);
  }

  /** `databaseUrl`: a server of the scenario's own (else a fresh database on the shared one). */
  async start(env: Record<string, string>, redisUrl = testEnv.TEST_REDIS_URL, databaseUrl?: string): Promise<HerdCluster> {
    // One cluster per scenario: a second start would orphan the first one's processes.
    if (this.cluster) throw new Error(`scenario ${this.prefix} started twice`);
    if (databaseUrl === undefined) this.database = await createTestDatabase(this.prefix);
    this.cluster = new HerdCluster({ PATH: process.env["PATH"] ?? "", REDIS_URL: redisUrl, HERD_PREFIX: this.prefix, DATABASE_URL: databaseUrl ?? this.database?.url ?? "", ...FAST_RECOVERY, ...env });
    this.queue = new Queue(EMBED_QUEUE, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix: `{${this.prefix}}` } as ConstructorParameters<typeof Queue>[1]);
    this.queue.on("error", () => undefined);
    return this.cluster;
  }

  /** The ids of jobs running right now. */
  async running(): Promise<string[]> {
    const jobs = (await this.queue?.getActive()) ?? [];
    return jobs.flatMap((job) => (job.id ? [job.id] : []));
  }

  async close(): Promise<void> {
    await this.cluster?.close();
    for (const close of this.closers.reverse()) await close();
    await this.queue?.close();
    await this.database?.drop();
    await deletePrefix(this.redis, this.prefix).catch(() => undefined);
    this.redis.disconnect();
  }
}

export function record(result: ScenarioResult): void {
  saveResult(ROOT, result);
  console.log(`${result.order} ${result.scenario}: accepted ${result.accepted}, completed ${result.completed}, failed ${JSON.stringify(result.failed)}, lost ${result.lost}, duplicates ${result.duplicates ?? "—"}, recovery ${result.recoveryMs === undefined ? "—" : `${Math.round(result.recoveryMs)} ms`}`);
}

/** The counting columns of a row, from an offered load, its settlement and the fleet's ledgers. */
export function tally(load: OfferedLoad, settled: Settled, fleet: readonly EmulatorInstance[]): Pick<ScenarioResult, "accepted" | "completed" | "failed" | "lost" | "duplicates"> {
  return {
    accepted: load.accepted.length,
    completed: settled.completed,
    failed: countMap(settled.failed),
    lost: settled.lost.length,
    duplicates: duplicates(load.accepted, fleet.map((instance) => instance.inputCounts())),
  };
}
