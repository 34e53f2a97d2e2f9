import type { ChildProcess } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { Redis } from "ioredis";
import { RedisServer } from "@herd/testing";
import { countMap, offerLoad, settle } from "../src/index.js";
import { emulators, instancesEnv, record, Scenario, tally } from "./setup.js";

const scenarios: Scenario[] = [];
afterAll(async () => {
  for (const scenario of scenarios) await scenario.close();
});

const FAULT_AT_MS = 2500;
const FAULT_FOR_MS = 2000;

interface Case {
  order: string;
  title: string;
  /** SIGKILL (nothing flushed) instead of SIGTERM (Redis writes its AOF and exits). */
  crash: boolean;
}

const CASES: Case[] = [
  { order: "3", title: "Redis restarted", crash: false },
  { order: "3b", title: "Redis killed with `kill -9`, then restarted", crash: true },
];

/** A scenario on a redis-server of its own: `instances` emulated instances of `embedMs`, one worker, one API. */
async function redisScenario(order: string, instances: number, embedMs: number) {
  const scenario = new Scenario(`redis-${order}`);
  scenarios.push(scenario);
  const redis = await RedisServer.start();
  scenario.closers.push(() => redis.close());
  const fleet = await emulators(instances, embedMs);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const cluster = await scenario.start({}, redis.url);
  const worker = cluster.startWorker("worker", instancesEnv(fleet));
  const api = await cluster.startApi("api");
  return { scenario, redis, fleet, worker, api };
}

/**
 * 40 embeds a second for 9 s against `api`: `begin` provokes the fault at 2.5 s, `end` ends it 2 s
 * later. Follows every accepted job to its end; recovery runs from `end` to the first 202 after it.
 */
async function loadAroundFault(api: { url?: string | undefined }, label: string, begin: () => Promise<unknown>, end: () => Promise<unknown>) {
  let faultAt: number | undefined;
  let endedAt: number | undefined;
  const load = await offerLoad({
    targets: () => [api.url ?? ""],
    ratePerSecond: 40,
    durationMs: 9000,
    input: (i) => `${label} job ${i}`,
    onTick: async (elapsed) => {
      if (faultAt === undefined && elapsed >= FAULT_AT_MS) {
        faultAt = elapsed;
        await begin();
      } else if (faultAt !== undefined && endedAt === undefined && elapsed >= faultAt + FAULT_FOR_MS) {
        await end();
        endedAt = elapsed;
      }
    },
  });
  const settled = await settle(() => api.url ?? "", load.accepted, 120_000);
  const firstAfter = load.accepted.find((job) => endedAt !== undefined && job.at >= endedAt);
  return {
    load,
    settled,
    refused: countMap(load.refused),
    recoveryMs: firstAfter && endedAt !== undefined ? firstAfter.at - endedAt : undefined,
    acceptedBefore: load.accepted.filter((job) => faultAt !== undefined && job.at < faultAt).length,
  };
}

/** Every accepted job ended well, the system came back, and neither process died. */
function expectWhole(run: Awaited<ReturnType<typeof loadAroundFault>>, api: { child: ChildProcess }, worker: { child: ChildProcess }): void {
  expect(run.load.unanswered.size).toBe(0);
  expect(run.settled.lost).toEqual([]);
  expect(countMap(run.settled.failed)).toEqual({});
  expect(run.recoveryMs).toBeDefined();
  expect(api.child.exitCode).toBeNull();
  expect(worker.child.exitCode).toBeNull();
}

for (const testCase of CASES) {
  it(`${testCase.order}. ${testCase.title} mid-load: 503 while it is down, nothing crashes, every accepted job completes`, async () => {
    const { redis, fleet, worker, api } = await redisScenario(testCase.order, 2, 20);
    const run = await loadAroundFault(api, "redis restart", () => redis.stop(testCase.crash), () => redis.restart());
    const { load, settled, refused, recoveryMs, acceptedBefore } = run;
    record({
      order: testCase.order,
      scenario: testCase.title,
      load: `${load.offered} embeds at 40/s over 9 s; 1 worker, 2 instances (20 ms per embed); own redis-server, AOF everysec`,
      fault: `redis-server ${testCase.crash ? "killed (SIGKILL)" : "stopped (SIGTERM)"} at 2.5 s, started again 2 s later`,
      ...tally(load, settled, fleet),
      recoveryMs,
      recoveryMeans: "from redis-server answering again until the API accepted its first job (202) after the outage",
      notes: [
        `Refused while Redis was down: ${JSON.stringify(refused)} (every one with Retry-After); unanswered: ${JSON.stringify(countMap(load.unanswered))}`,
        `API and worker processes still running at the end: ${api.child.exitCode === null && worker.child.exitCode === null ? "yes" : "no"}`,
        testCase.crash
          ? `${acceptedBefore} jobs were accepted before the kill; lost: ${settled.lost.length}. Redis normally write()s its AOF to the OS before it sends replies, so what it acknowledged survives a killed process (as in this run); \`appendfsync everysec\` can lose up to a second of acknowledged writes only if the machine itself goes down (power loss, kernel crash), which this suite does not provoke. \`appendfsync always\` closes that window at a cost in write throughput.`
          : "Redis was stopped with SIGTERM, so it wrote its AOF before exiting.",
      ],
    });
    if (settled.lost.length > 0) console.log(`lost: ${settled.lost.slice(0, 5).join("; ")}`);
    expect(load.malformedRefusals).toEqual([]);
    // Right after Redis is back, the workers' heartbeats may have lapsed during the outage (their
    // TTL ran out while Redis was away) until the next one: "503 no_live_workers", also with
    // Retry-After, as the README documents. Anything else (a 500, a 404) is a failure.
    expect(Object.keys(refused).filter((key) => key !== "503 redis_unavailable" && key !== "503 no_live_workers")).toEqual([]);
    expect(refused["503 redis_unavailable"]).toBeGreaterThan(0);
    expectWhole(run, api, worker);
  });
}

it("3c. queue Redis out of memory mid-load: 503 redis_out_of_memory while it is full, every accepted job completes with its result", async () => {
  // Calls long enough that some are under way whenever Redis fills up: their results get refused.
  const { scenario, redis, fleet, worker, api } = await redisScenario("3c", 3, 60);
  const admin = new Redis(redis.url);
  scenario.closers.push(async () => admin.disconnect());
  // A limit below what Redis already holds: every write that needs memory is refused.
  let readyWhileFull: number | undefined;
  const run = await loadAroundFault(api, "redis out of memory", () => admin.config("SET", "maxmemory", "1"), async () => {
    // 2 s into the fault, longer than three heartbeat intervals: the fleet must still be there.
    readyWhileFull = (await fetch(`${api.url}/ready`)).status;
    await admin.config("SET", "maxmemory", "0");
  });
  const { load, settled, refused, recoveryMs, acceptedBefore } = run;
  record({
    order: "3c",
    scenario: "queue Redis out of memory",
    load: `${load.offered} embeds at 40/s over 9 s; 1 worker, 3 instances (60 ms per embed); own redis-server, maxmemory-policy noeviction`,
    fault: "maxmemory set below what Redis holds (CONFIG SET maxmemory 1) at 2.5 s, so every write that needs memory is refused; lifted 2 s later",
    ...tally(load, settled, fleet),
    recoveryMs,
    recoveryMeans: "from the limit being lifted until the API accepted its first job (202) after it",
    notes: [
      `Refused while Redis was full: ${JSON.stringify(refused)} (every one with Retry-After); unanswered: ${JSON.stringify(countMap(load.unanswered))}`,
      `${acceptedBefore} jobs were accepted before Redis filled up; jobs needing more than one attempt: ${settled.retried}. A job whose result Redis refused is not completed without it: the worker hands it back without spending an attempt and pauses pulling (1 s, doubling while Redis stays full), so it runs again once Redis has room (the duplicates column).`,
      `Workers' heartbeats are written even while Redis is full (a script flagged allow-oom), so the fleet stays live: /ready answered ${readyWhileFull ?? "nothing"} 2 s into the fault.`,
      `API and worker processes still running at the end: ${api.child.exitCode === null && worker.child.exitCode === null ? "yes" : "no"}`,
    ],
  });
  if (settled.lost.length > 0) console.log(`lost: ${settled.lost.slice(0, 5).join("; ")}`);
  expect(load.malformedRefusals).toEqual([]);
  expect(refused["503 redis_out_of_memory"]).toBeGreaterThan(0);
  expect(readyWhileFull).toBe(200);
  // A refused result is handed back without spending an attempt.
  expect(settled.retried).toBe(0);
  // The operator hears of it in the API's log.
  expect(scenario.cluster?.output).toContain("the queue Redis is out of memory");
  // Heartbeats get through a full Redis: the fleet never looked dead, so the only refusal is the true one.
  expect(scenario.cluster?.output).not.toContain("heartbeat not published");
  expect(Object.keys(refused), JSON.stringify(refused)).toEqual(["503 redis_out_of_memory"]);
  expectWhole(run, api, worker);
});
