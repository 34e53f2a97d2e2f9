import pg from "pg";
import { HerdClient } from "@herd/client";
import { searchCandidates, searchChunks, searchParameters, searchSql, statementShape, vectorLiteral, type SearchInput, type SearchMode } from "@herd/store";
import { PostgresServer, createTestDatabase, type PostgresSettings } from "@herd/testing";
import { fmt, percentile } from "./load.js";
import { startHerd, type HerdProcesses } from "./herd.js";
import { startEmulator } from "./processes.js";
import { DIMENSIONS, prepare, type Loaded, type Query } from "./search-data.js";

const K = 5;
const RECALL_K = 10;

export interface SearchRow {
  path: string;
  queries: number;
  p50: number;
  p99: number;
}

/** One server configuration the same rows were measured under. */
export interface SearchSetting {
  /** e.g. "shared_buffers 128 MB (PostgreSQL's default)". */
  name: string;
  sharedBuffers: string;
  rows: SearchRow[];
  /** Mean pages one vector search touched, found in shared buffers (hit) or read from the OS (read), over `queries`. */
  vectorPages: VectorPages;
}

export interface SearchResult {
  chunks: number;
  loadSeconds: number;
  indexSeconds: number;
  /** Sizes of the collection's HNSW index and of the chunks table (heap). */
  indexBytes: number;
  tableBytes: number;
  /** Whether the benchmark ran its own server (and so could compare settings). */
  privateServer: boolean;
  recallAt10: number;
  /** Median cosine distance of the exact 1st and 10th nearest chunk. */
  neighbourDistances: { first: number; tenth: number };
  settings: SearchSetting[];
  /** Share of queries whose source chunk is among the k results, per store mode. */
  sourceFound: Record<SearchMode, number>;
}

/**
 * The server settings compared, on a private server the benchmark starts: PostgreSQL's default
 * shared_buffers (what the pgvector/pgvector image and a fresh install run with), and the one
 * docker-compose.yml gives its server, which holds the benchmark's HNSW index.
 */
export const SEARCH_SETTINGS = [
  { name: "shared_buffers 128 MB (PostgreSQL's default)", settings: { shared_buffers: "128MB" } },
  { name: "shared_buffers 1 GB (docker-compose.yml's)", settings: { shared_buffers: "1GB" } },
] as const satisfies ReadonlyArray<{ name: string; settings: PostgresSettings }>;

async function timeEach<T>(items: readonly T[], run: (item: T) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (const item of items) {
    const started = performance.now();
    await run(item);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

function row(path: string, latencies: number[]): SearchRow {
  return { path, queries: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Exact nearest neighbours by a full scan: the ground truth for recall and the no-index baseline. */
async function exactTopK(pool: pg.Pool, collectionId: number, query: Query, k: number): Promise<Array<{ id: number; distance: number }>> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN; SET LOCAL enable_indexscan = off");
    const { rows } = await client.query<{ id: string; distance: number }>(
      `SELECT id, embedding::vector(${DIMENSIONS}) <=> $1::vector(${DIMENSIONS}) AS distance FROM chunks WHERE collection_id = ${Math.trunc(collectionId)} ORDER BY embedding::vector(${DIMENSIONS}) <=> $1::vector(${DIMENSIONS}) LIMIT $2`,
      [vectorLiteral(query.embedding), k],
    );
    await client.query("COMMIT");
    return rows.map((entry) => ({ id: Number(entry.id), distance: Number(entry.distance) }));
  } finally {
    client.release();
  }
}

export interface VectorPages {
  hit: number;
  read: number;
  queries: number;
}

interface PlanBuffers {
  Plan: { "Shared Hit Blocks": number; "Shared Read Blocks": number };
}

/** What the vector searches of `inputs` read: EXPLAIN (ANALYZE, BUFFERS) of the store's own statement. */
async function vectorPages(pool: pg.Pool, inputs: SearchInput[]): Promise<VectorPages> {
  const client = await pool.connect();
  try {
    await client.query(`SET hnsw.ef_search = ${searchCandidates(K)}`);
    let hit = 0;
    let read = 0;
    for (const input of inputs) {
      const { rows } = await client.query<{ "QUERY PLAN": PlanBuffers[] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${searchSql("vector", statementShape(input))}`, searchParameters("vector", input));
      const plan = rows[0]?.["QUERY PLAN"][0]?.Plan;
      if (!plan) throw new Error("EXPLAIN returned no plan");
      hit += plan["Shared Hit Blocks"];
      read += plan["Shared Read Blocks"];
    }
    return { hit: hit / inputs.length, read: read / inputs.length, queries: inputs.length };
  } finally {
    client.release();
  }
}

interface Measured {
  /** Latencies by row label, in the table's order. */
  latencies: Map<string, number[]>;
  /** Only in a setting's first round. */
  vectorPages?: VectorPages;
  sourceFound: Record<SearchMode, number>;
  recallAt10: number;
  truth: Map<Query, Array<{ id: number; distance: number }>>;
}

/**
 * Every row of the table, on the server as it is configured now. The baselines (slow, and not
 * what the settings are compared on), the recall and the page counts run only in a setting's
 * first round.
 */
async function measure(pool: pg.Pool, herdUrl: string, { collectionId, queries }: Loaded, firstOfSetting: boolean): Promise<Measured> {
  const inputOf = (query: Query, k = K): SearchInput => ({ collectionId, dimensions: DIMENSIONS, language: "english", k, candidates: searchCandidates(k), embedding: query.embedding, query: query.text });
  const store = (mode: SearchMode, k = K) => (query: Query) => searchChunks(pool, mode, inputOf(query, k));

  const latencies = new Map<string, number[]>();
  const sourceFound = { vector: 0, keyword: 0, hybrid: 0 };
  for (const [mode, label] of [["vector", "store: vector (HNSW)"], ["keyword", "store: keyword (GIN full text)"], ["hybrid", "store: hybrid (RRF of both)"]] as const) {
    await timeEach(queries.slice(0, 20), store(mode));
    let found = 0;
    latencies.set(label, await timeEach(queries, async (query) => {
      if ((await store(mode)(query)).some((hit) => hit.chunkId === query.sourceId)) found += 1;
    }));
    sourceFound[mode] = found / queries.length;
  }
  const truth = new Map<Query, Array<{ id: number; distance: number }>>();
  let found = 0;
  // Also the queries searched longest ago: with a small shared_buffers, the later ones have evicted their pages.
  const exactQueries = queries.slice(0, Math.min(50, queries.length));
  let pages: VectorPages | undefined;
  if (firstOfSetting) {
    pages = await vectorPages(pool, exactQueries.map((query) => inputOf(query)));
    const keepEveryTerm = (query: Query) => searchChunks(pool, "keyword", { ...inputOf(query), commonTermRows: Number.MAX_SAFE_INTEGER, matchTermRows: Number.MAX_SAFE_INTEGER });
    latencies.set("baseline: keyword keeping every query term (no frequency pruning)", await timeEach(exactQueries, keepEveryTerm));
    latencies.set("baseline: exact vector scan (no index)", await timeEach(exactQueries, async (query) => truth.set(query, await exactTopK(pool, collectionId, query, RECALL_K))));
    for (const query of exactQueries) {
      const hits = new Set((await store("vector", RECALL_K)(query)).map((hit) => hit.chunkId));
      found += (truth.get(query) ?? []).filter((neighbour) => hits.has(neighbour.id)).length;
    }
  }

  // A Herd on a prefix of its own per round: its cache starts empty, so the first pass embeds every query.
  const client = new HerdClient({ baseUrl: herdUrl });
  const api = (query: Query) => client.search("search", query.text, { k: K });
  latencies.set("API: POST …/search (hybrid), query embedded through the queue", await timeEach(queries, api));
  latencies.set("API: same queries again, query embedding from the cache", await timeEach(queries, api));
  return { latencies, ...(pages ? { vectorPages: pages } : {}), sourceFound, recallAt10: found / (exactQueries.length * RECALL_K), truth };
}

/**
 * Rounds of SEARCH_SETTINGS by index, A B B A: the speed of this shared machine drifts from
 * minute to minute, and this order gives each setting the same mean position in the run.
 */
const ROUNDS = [0, 1, 1, 0] as const;

/**
 * Loads the collection once, then measures it under each of SEARCH_SETTINGS on a private server
 * restarted before every round (the same data and index, only the setting changes; the first
 * restart also ends the load's checkpoint work). After each start the HNSW index is read into
 * shared buffers (pg_prewarm), as a long-running server has it, so no round is measured while it
 * warms up. A row's percentiles are over the queries of both of its setting's rounds. Without the
 * machine's PostgreSQL binaries (or when told not to: --database) it measures the server at
 * `adminUrl` as that server is configured, in two rounds.
 */
export async function searchScenario(redisUrl: string, prefix: string, target: { adminUrl: string; privateServer: boolean }, total: number, queryCount: number): Promise<SearchResult> {
  const server = target.privateServer && PostgresServer.available() ? await PostgresServer.start(SEARCH_SETTINGS[0].settings) : undefined;
  const database = await createTestDatabase("bench_search", server?.url ?? target.adminUrl);
  const emulator = await startEmulator(["--instances", "1", "--latency", "zero"]);
  const startHerdOnDatabase = (round: number) => startHerd([{ url: emulator.urls[0] ?? "", name: "emu-0" }], `${prefix}-${round}`, redisUrl, { DATABASE_URL: database.url });
  // Stopped and started again for every round, so each is undefined while it is down.
  let herd: HerdProcesses | undefined = await startHerdOnDatabase(0);
  // A pool per server start: a restart cuts its connections.
  let pool: pg.Pool | undefined = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    const loaded = await prepare(pool, herd.url, total, queryCount);
    const sizes = await pool.query<{ index: string; heap: string }>(
      `SELECT pg_relation_size('chunks_hnsw_${loaded.collectionId}') AS index, pg_relation_size('chunks') AS heap`,
    );
    const configurations = server ? SEARCH_SETTINGS : [undefined];
    const settings: Array<SearchSetting & { latencies: Map<string, number[]> }> = [];
    let first: Measured | undefined;
    for (const [round, index] of (server ? ROUNDS : [0, 0]).entries()) {
      const configuration = configurations[index];
      await herd?.stop();
      herd = undefined;
      await pool?.end();
      pool = undefined;
      if (server && configuration) {
        server.stop();
        server.restart(configuration.settings);
      }
      const roundHerd = (herd = await startHerdOnDatabase(round + 1));
      const roundPool = (pool = new pg.Pool({ connectionString: database.url, max: 2 }));
      if (server) await roundPool.query(`CREATE EXTENSION IF NOT EXISTS pg_prewarm; SELECT pg_prewarm('chunks_hnsw_${loaded.collectionId}')`);
      const sharedBuffers = (await roundPool.query<{ shared_buffers: string }>("SHOW shared_buffers")).rows[0]?.shared_buffers ?? "unknown";
      let setting = settings[index];
      const measured = await measure(roundPool, roundHerd.url, loaded, setting === undefined);
      first ??= measured;
      if (!setting) {
        if (!measured.vectorPages) throw new Error("a setting's first round counts its pages");
        setting = { name: configuration?.name ?? `shared_buffers ${sharedBuffers} (the server's own setting)`, sharedBuffers, rows: [], vectorPages: measured.vectorPages, latencies: new Map() };
        settings[index] = setting;
      }
      for (const [path, latencies] of measured.latencies) setting.latencies.set(path, [...(setting.latencies.get(path) ?? []), ...latencies]);
    }
    const truth = [...(first?.truth.values() ?? [])];
    return {
      chunks: total,
      loadSeconds: loaded.loadSeconds,
      indexSeconds: loaded.indexSeconds,
      indexBytes: Number(sizes.rows[0]?.index),
      tableBytes: Number(sizes.rows[0]?.heap),
      privateServer: server !== undefined,
      recallAt10: first?.recallAt10 ?? Number.NaN,
      neighbourDistances: { first: percentile(truth.map((list) => list[0]?.distance ?? Number.NaN), 50), tenth: percentile(truth.map((list) => list.at(-1)?.distance ?? Number.NaN), 50) },
      settings: settings.map(({ latencies, ...setting }) => ({ ...setting, rows: [...latencies].map(([path, values]) => row(path, values)) })),
      sourceFound: first?.sourceFound ?? { vector: Number.NaN, keyword: Number.NaN, hybrid: Number.NaN },
    };
  } finally {
    await pool?.end();
    await herd?.stop();
    await emulator.proc.stop();
    await database.drop();
    server?.close();
  }
}

export function searchTable(result: SearchResult): string {
  const header = ["path", "queries", ...result.settings.flatMap((setting) => [`p50, ${setting.sharedBuffers}`, `p99, ${setting.sharedBuffers}`])];
  const lines = [`| ${header.join(" | ")} |`, `|---|${header.slice(1).map(() => "---:").join("|")}|`];
  const paths = result.settings[0]?.rows ?? [];
  for (const [index, entry] of paths.entries()) {
    const cells = result.settings.flatMap((setting) => {
      const measured = setting.rows[index];
      return measured ? [`${fmt(measured.p50, 2)} ms`, `${fmt(measured.p99, 2)} ms`] : ["–", "–"];
    });
    lines.push(`| ${entry.path} | ${entry.queries} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
