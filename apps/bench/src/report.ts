import { cpus, totalmem } from "node:os";
import type { BalancingRow } from "./balancing.js";
import { balancingCpuTable, balancingRoundsTable, balancingTable, balancingWritesTable, FLEET, medianRuns, refillGapTable } from "./balancing.js";
import type { CacheRow } from "./cache-hits.js";
import { cacheTable } from "./cache-hits.js";
import { ingestionTable, type IngestionResult } from "./ingestion.js";
import { interactiveTable, type InteractiveRow } from "./interactive.js";
import { COMMON_TERM_ROWS, MATCH_TERM_FLOOR, MATCH_TERM_SHARE } from "@herd/store";
import { fmt } from "./load.js";
import { searchTable, type SearchResult } from "./search.js";
import type { OverheadResult, OverheadRow } from "./overhead.js";
import { overheadFloorTable, overheadPartsTable, overheadTable } from "./overhead.js";
import { ttftTable, type TtftRow } from "./ttft.js";
import { lightLoadTable, type LightLoadRow } from "./light-load.js";
import type { WakeProbe } from "./wake-probe.js";

export interface Results {
  command: string;
  startedAt: Date;
  redisVersion: string;
  nginxVersion: string | undefined;
  /** Measured as the run starts: what one hand-off between two processes costs on this machine. */
  handOff: WakeProbe & { cpuidle: string };
  overhead?: OverheadResult;
  balancing?: BalancingRow[];
  cache?: CacheRow[];
  databaseVersions?: string;
  ingestion?: IngestionResult;
  search?: SearchResult;
  interactive?: InteractiveRow[];
  ttft?: TtftRow;
  light?: LightLoadRow[];
}

const verdict = (ok: boolean) => (ok ? "✅ met" : "❌ not met");

function overheadGoals(rows: OverheadRow[]): string[] {
  return rows.map((row) => {
    const p50 = row.herd.p50 - row.direct.p50;
    const p99 = row.herd.p99 - row.direct.p99;
    return `- ${row.latency}: added p50 ${fmt(p50, 2)} ms (goal ≤ 3 ms: ${verdict(p50 <= 3)}), added p99 ${fmt(p99, 2)} ms (goal ≤ 15 ms: ${verdict(p99 <= 15)})`;
  });
}

function balancingGoals(rows: BalancingRow[]): string[] {
  const herd = rows.find((row) => row.mode === "Herd");
  const leastConn = rows.find((row) => row.mode === "nginx least_conn" && !row.skipped);
  const roundRobin = rows.find((row) => row.mode === "nginx round-robin" && !row.skipped);
  if (!herd) return [];
  const ratio = herd.makespanMs / herd.boundMs;
  const overSlots = herd.maxInFlight.some((value, i) => value > (FLEET.slots[i] ?? 1));
  const goals = [
    `- Herd makespan ${fmt(ratio, 3)}× the capacity lower bound (goal ≤ 1.05: ${verdict(ratio <= 1.05)})`,
    `- No instance above its slots: ${verdict(!overSlots)} (max in flight ${herd.maxInFlight.join(", ")})`,
  ];
  if (leastConn && roundRobin) {
    goals.push(`- Makespan below both nginx modes: ${verdict(herd.makespanMs < leastConn.makespanMs && herd.makespanMs < roundRobin.makespanMs)}`);
    goals.push(`- p95 ${fmt(herd.p95, 0)} ms vs nginx least_conn ${fmt(leastConn.p95, 0)} ms = ${fmt(herd.p95 / leastConn.p95, 2)}× (goal ≤ 0.6×: ${verdict(herd.p95 <= 0.6 * leastConn.p95)})`);
  } else goals.push("- nginx comparison skipped: nginx is not installed");
  return goals;
}

function cacheGoals(rows: CacheRow[]): string[] {
  const herd = rows.find((row) => row.role === "herd");
  const redisOnly = rows.find((row) => row.role === "herd-redis");
  const hello = rows.find((row) => row.role === "baseline");
  const same = rows.find((row) => row.role === "baseline-prototypes");
  if (!herd || !hello || !redisOnly) return [];
  const share = herd.rps / hello.rps;
  return [
    `- Cache hits at ${fmt(100 * share, 0)}% of the bare express route with the default memory tier (goal ≥ 60%: ${verdict(share >= 0.6)})`,
    ...(same
      ? [`- Part of that is the server construction, which speeds up any express app: the bare route on it serves ${fmt((100 * same.rps) / hello.rps, 0)}% of its default rate, and Herd's cache hits reach ${fmt((100 * herd.rps) / same.rps, 0)}% of that`]
      : []),
    `- With the memory tier off, every hit costs a Redis round trip: ${fmt((100 * redisOnly.rps) / hello.rps, 0)}%`,
  ];
}

function ingestionGoals(result: IngestionResult): string[] {
  const share = result.pipeline.chunksPerSecond / result.bulk.chunksPerSecond;
  return [`- Pipeline at ${fmt(100 * share, 0)}% of the bulk insert's rate (goal ≥ 50%: ${verdict(share >= 0.5)})`];
}

function megabytes(bytes: number): string {
  return `${fmt(bytes / 1024 / 1024, 0)} MB`;
}

function searchGoals(result: SearchResult): string[] {
  const found = result.sourceFound;
  const goals = [
    `- Query's source chunk among the 5 results: vector ${fmt(100 * found.vector, 0)}%, keyword ${fmt(100 * found.keyword, 0)}%, hybrid ${fmt(100 * found.hybrid, 0)}%`,
    `- HNSW recall@10 against the exact scan: ${fmt(result.recallAt10, 3)} (see the note below the table)`,
  ];
  for (const setting of result.settings) {
    const hybrid = setting.rows.find((row) => row.path.startsWith("store: hybrid"));
    const vector = setting.rows.find((row) => row.path.startsWith("store: vector"));
    if (vector) goals.push(`- ${setting.name}: vector search p50 ${fmt(vector.p50, 2)} ms (goal ≤ 10 ms: ${verdict(vector.p50 <= 10)})`);
    if (hybrid) goals.push(`- ${setting.name}: hybrid search (the default mode) p50 ${fmt(hybrid.p50, 2)} ms (goal ≤ 10 ms: ${verdict(hybrid.p50 <= 10)})`);
  }
  for (const setting of result.settings) {
    const { hit, read, queries } = setting.vectorPages;
    goals.push(`- ${setting.name}: a vector search touched ${fmt(hit + read, 0)} pages (mean of ${queries} queries, EXPLAIN (ANALYZE, BUFFERS)), ${fmt(read, 0)} of them read from outside shared buffers`);
  }
  return goals;
}

function interactiveGoals(rows: InteractiveRow[]): string[] {
  const [idle, sliced, unsliced] = rows;
  if (!idle || !sliced || !unsliced) return [];
  return [
    `- During ingestion, p95 is ${fmt(sliced.p95 / idle.p95, 1)}× idle (+${fmt(sliced.p95 - idle.p95, 0)} ms); without slicing it would be ${fmt(unsliced.p95 / idle.p95, 1)}× (+${fmt(unsliced.p95 - idle.p95, 0)} ms)`,
  ];
}

export function renderReport(results: Results): string {
  const cpu = cpus();
  const sections = [
    "# Benchmarks",
    "",
    "Produced by the benchmark itself; do not edit by hand. Every comparison is measured side by side in the same run.",
    "",
    `- Command: \`${results.command}\``,
    `- Date: ${results.startedAt.toISOString()}`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; Node.js ${process.version}; Redis ${results.redisVersion}; nginx ${results.nginxVersion ?? "not installed"}${results.databaseVersions ? `; ${results.databaseVersions}` : ""}`,
    "- Everything (load generator, API, worker, Redis, emulated fleet, nginx) shares this one machine, so every row pays the same CPU contention.",
    `- Hand-offs between processes, as the run started: a Redis \`PING\` took ${fmt(results.handOff.busyPingUs, 0)} µs (median) right after the previous one and ${fmt(results.handOff.idlePingUs, 0)} µs after ${results.handOff.idleGapMs} ms of idleness; cpuidle driver \`${results.handOff.cpuidle}\`. A queued path pays several hand-offs per job where a direct call or a proxy pays fewer, so sections 1 and 2 move with these figures from one machine to the next.`,
    "",
  ];
  if (results.overhead) {
    sections.push(
      "## 1. Orchestration overhead",
      "",
      "One client, one request at a time: `POST /api/embed` straight to an emulated instance vs `POST /v1/jobs?wait=30000` through Herd (API → Redis → BullMQ → worker → the same instance → back), every input distinct so nothing is a cache hit. The paths take turns request by request, so they see the same moments of this shared machine, and the turns cycle through every order of the paths, so that no path always follows the same other one (a request runs measurably slower right after one whose worker is still recording its job).",
      "",
      overheadTable(results.overhead.rows),
      "",
      ...overheadGoals(results.overhead.rows),
      "",
      "For scale, a third path takes its turn with the two above: BullMQ alone, used the textbook way. The benchmark process adds a job and waits for it with `waitUntilFinished`; a worker process (concurrency 1) makes the same `/api/embed` call and returns its answer. It has no HTTP front, no cache, no slot gating and no reply channel of its own, so it is a floor for any design that puts a Redis queue between the client and Ollama, on this machine.",
      "",
      overheadFloorTable(results.overhead.rows),
      "",
      `Why the realistic row adds more than the zero row: between two requests at realistic latency every process sits idle for about 10 ms, and each process on a queued path is woken once more from that idleness than on the direct path. The hand-off figures at the top show it: ${fmt(results.handOff.idlePingUs / results.handOff.busyPingUs, 1)}× slower after ${results.handOff.idleGapMs} ms of idleness.`,
      "",
      "Where Herd's time goes, from the `Server-Timing` header the API sends with every job request (medians of each part over the same requests; they add up only roughly). The enqueue part ends when BullMQ's add returns, by which time the worker may already hold the job; waiting for the worker's answer covers the rest of the queue, the worker, the same Ollama call as the direct row, and the reply to the API, and the worker's reply splits it as the worker measured it (its wait for a free slot, the Ollama call from request to answer, its own work; the rest is the queue and Redis both ways); outside the route is what the client sees beyond the route's own parts (HTTP both ways, body parsing, writing the response).",
      "",
      overheadPartsTable(results.overhead.rows),
      "",
    );
  }
  if (results.balancing) {
    const jobs = results.balancing[0]?.jobs ?? 0;
    const clients = results.balancing[0]?.clients ?? 0;
    const warmup = results.balancing[0]?.warmup ?? 0;
    const rounds = Math.max(...results.balancing.map((row) => row.round));
    const medians = medianRuns(results.balancing);
    sections.push(
      "## 2. Balancing a heterogeneous fleet",
      "",
      `${jobs} embeddings of 20–80 ms (nominal), ${clients} closed-loop clients, 8 emulated instances with slots ${FLEET.slots.join(", ")} and speed factors ${FLEET.speeds.join(", ")}. ` +
        "The capacity lower bound is the total nominal work divided by the fleet's capacity (Σ slots × speed). Herd's clients use `POST /v1/jobs?wait=`; nginx's clients call `/api/embed` through the proxy. " +
        (warmup > 0 ? `Each mode first runs ${warmup} other jobs the same way, unmeasured, so that no row counts a fresh process compiling its hot code. ` : "") +
        "\"Max in flight\" and \"time queued inside Ollama\" come from the emulator's own counters. " +
        `Herd, Herd without prefetch and nginx least_conn each run ${rounds} times, in rounds that rotate their order (the speed of this shared machine drifts from minute to minute); round-robin runs once. ` +
        "Each row below is its mode's median run by makespan, and the goals are judged on those rows.",
      "",
      balancingTable(medians),
      "",
      ...balancingGoals(medians),
      "",
      "Makespan × bound of every run:",
      "",
      balancingRoundsTable(results.balancing),
      "",
      "The gap the goal is about, between one call's end and the next call's start on a slot, from the emulator's counters (same median runs): each time a slot freed while every slot of its instance was busy, how long it sat free until the next request took it. " +
        "A request already waiting inside the instance takes it at once, so nginx's gaps are near zero, paid for by its clients in the time queued inside Ollama above. Herd never sends a call to a full instance: each refill is at least the instance's answer reaching the worker and the next call (fetched ahead, waiting at the worker's gate) reaching the instance, through a machine whose 2 cores every process here shares.",
      "",
      refillGapTable(medians),
      "",
      "CPU time per measured job, in ms, by process (from /proc and Redis's INFO cpu, over the measured jobs only). Herd's API, worker and Redis are what orchestration costs; with 2 cores shared by every process here, that CPU is also what delays each hand-off between a freed slot and its next call (the gap behind the makespan above the bound).",
      "",
      balancingCpuTable(medians),
      "",
      "Write system calls per measured job, by process (`syscw` of /proc/<pid>/io; Redis's own when it runs on this machine). Each socket write wakes the process at the other end. In a CPU profile of the worker under this load, taken when it still made five writes per job, the write system calls were a third of its CPU time; it now sends the cache's copy of a job's result, the result and its reply in one write and, once Redis has stored the result, the completion in a second.",
      "",
      balancingWritesTable(medians),
      "",
    );
  }
  if (results.cache) {
    sections.push("## 3. Cache hits", "", "Closed loop, 32 connections. All four targets run side by side and take turns: 5 rounds of the same duration each, in a rotating order; a row reports its median round (one after the other, identical runs differed by half on this shared machine).", "", cacheTable(results.cache), "", ...cacheGoals(results.cache), "");
  }
  if (results.ingestion) {
    const result = results.ingestion;
    sections.push(
      "## 4. Ingestion throughput",
      "",
      `${result.documents} synthetic Markdown manuals (words drawn from \`corpus/\`), default chunking (256 tokens, 32 overlap), default embedding batches, on native PostgreSQL. ` +
        "Timed from the first upload until every ingestion reports completed. The baseline writes the very rows and vectors the pipeline stored, into a fresh collection with the same indexes.",
      "",
      ingestionTable(result),
      "",
      ...ingestionGoals(result),
      "",
    );
  }
  if (results.search) {
    const result = results.search;
    sections.push(
      "## 5. Search latency",
      "",
      `${result.chunks.toLocaleString("en-US")} chunks of 768-d embeddings (emulator embeddings of synthetic manual text) in one collection; ` +
        `loaded in ${fmt(result.loadSeconds, 0)} s, HNSW index (m 16, ef_construction 64) built in ${fmt(result.indexSeconds, 0)} s: the index takes ${megabytes(result.indexBytes)}, the chunks table ${megabytes(result.tableBytes)}. ` +
        (result.privateServer
          ? "The benchmark runs its own PostgreSQL server (the machine's binaries, pgvector as installed) so that it can measure the same data under two settings side by side, in four rounds (A B B A, as this shared machine's speed drifts), restarting the server before each; after each start the HNSW index is read into shared buffers (pg_prewarm), as a server that has been serving searches holds it. A row's percentiles are over both rounds of its setting; the baselines run in the first round of each. "
          : "Run on the server given with --database, as that server is configured, in two rounds. ") +
        "Each query is written from a random chunk (its source): the chunk's three rarest words plus two of its other words; k = 5, one query at a time. " +
        "\"store\" rows call the store's search function directly; \"API\" rows go through the HTTP endpoint.",
      "",
      searchTable(result),
      "",
      ...searchGoals(result),
      "",
      "Notes: the emulator's embeddings hash words into 768 buckets, so a five-word query sits at nearly the same distance from very many chunks " +
        `(median cosine distance of the exact 1st neighbour ${fmt(result.neighbourDistances.first, 3)}, of the 10th ${fmt(result.neighbourDistances.tenth, 3)}); ` +
        "such near-ties are hard for any HNSW graph, so recall against the exact scan is low at Herd's ef_search (max(50, 4k)), and vector search alone rarely finds the source chunk. " +
        "Real embedding models separate passages far better; measure recall on your own model's embeddings before trusting this number either way. " +
        `Keyword search leaves out terms that the planner statistics say occur in more than ${COMMON_TERM_ROWS} chunks (in this synthetic text, words like "pump" are in 70% of chunks); ` +
        "the baseline row shows what ranking every chunk that contains a common word costs. " +
        `In hybrid search, of the terms kept, those in more than ${MATCH_TERM_SHARE * 100}% of the chunks (at least ${MATCH_TERM_FLOOR}) only add to the rank of chunks a rarer term matched; ` +
        `in a table of ${result.chunks.toLocaleString("en-US")} chunks that share is ${Math.max(MATCH_TERM_FLOOR, MATCH_TERM_SHARE * result.chunks).toLocaleString("en-US")} chunks${MATCH_TERM_SHARE * result.chunks >= COMMON_TERM_ROWS ? `, above the ${COMMON_TERM_ROWS} bound, so it changes nothing here (it matters in collections of a few thousand chunks: README, Retrieval)` : ""}. ` +
        "The page counts above are the difference between the settings: a page not in shared buffers is a read from the operating system, here always from its page cache (this machine has RAM to spare, so the whole index stays in it), which costs microseconds; on a server whose memory cannot hold the index besides everything else, those reads go to disk. Size shared_buffers to hold your collections' HNSW indexes (README: PostgreSQL).",
      "",
    );
  }
  if (results.interactive) {
    sections.push(
      "## 6. Interactive latency during ingestion",
      "",
      "Two emulated instances with realistic latency (an embedding costs 8 ms + 0.05 ms per token, so a 256-token chunk ≈ 21 ms). One client sends interactive embeds one at a time, every input new. " +
        "\"During ingestion\" starts once 200 manuals (~4,000 chunks) are being embedded at batch priority on both instances.",
      "",
      interactiveTable(results.interactive),
      "",
      ...interactiveGoals(results.interactive),
      "",
    );
  }
  if (results.ttft) {
    const added = results.ttft.herd.p50 - results.ttft.direct.p50;
    sections.push(
      "## 7. Time to first token",
      "",
      "One client, one streaming `/api/chat` at a time (8 tokens, every prompt new), the two paths taking turns request by request: straight to an emulated instance with realistic latency vs through Herd's Ollama-compatible endpoint, where the tokens travel worker → Redis (job progress) → API. Measured until the first piece of the response body arrives. Taking turns, Herd's API, worker and Redis sit idle through each direct call and wake from that idleness for every request, as they do for a client that chats now and then; run back to back (as this section did before 2026-12-06), they stay awake between requests and Herd measures lower.",
      "",
      ttftTable(results.ttft),
      "",
      `- Added time to first token at p50: ${fmt(added, 2)} ms (goal ≤ 5 ms: ${verdict(added <= 5)})`,
      "",
    );
  }
  if (results.light) {
    sections.push(
      "## 8. Light load on a mixed fleet",
      "",
      "One client, one embed at a time (every input new), against two emulated instances with realistic latency, one fast and one four times slower (speed 1 and 0.25), " +
        "so every instance is idle when a request arrives and the only question is which one gets it. Herd runs either one worker bound to both or one worker per instance (one worker per GPU box: " +
        "the slow instance's worker learns from the fleet's heartbeats that a faster instance serves the model). " +
        "Each mode first sends 30 requests unmeasured (the one-worker-per-instance modes keep warming for 5 s, two heartbeats); \"served by the fast instance\" comes from the emulator's counters. The last row is the floor: every request straight to the fast instance.",
      "",
      lightLoadTable(results.light),
      "",
    );
  }
  return sections.join("\n");
}
