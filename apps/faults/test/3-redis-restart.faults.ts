import { afterAll, expect, it } from "vitest";
import { RedisServer } from "@herd/testing";
import { countMap, offerLoad, settle } from "../src/index.js";
import { emulators, instancesEnv, record, Scenario, tally } from "./setup.js";

const scenarios: Scenario[] = [];
afterAll(async () => {
  for (const scenario of scenarios) await scenario.close();
});

const STOP_AT_MS = 2500;
const DOWN_FOR_MS = 2000;

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

for (const testCase of CASES) {
  it(`${testCase.order}. ${testCase.title} mid-load: 503 while it is down, nothing crashes, every accepted job completes`, async () => {
    const scenario = new Scenario(`redis-${testCase.order}`);
    scenarios.push(scenario);
    const redis = await RedisServer.start();
    scenario.closers.push(() => redis.close());
    const fleet = await emulators(2, 20);
    scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
    const cluster = await scenario.start({}, redis.url);
    const worker = cluster.startWorker("worker", instancesEnv(fleet));
    const api = await cluster.startApi("api");
    let stoppedAt: number | undefined;
    let restartedAt: number | undefined;
    const load = await offerLoad({
      targets: () => [api.url ?? ""],
      ratePerSecond: 40,
      durationMs: 9000,
      input: (i) => `redis restart job ${i}`,
      onTick: async (elapsed) => {
        if (stoppedAt === undefined && elapsed >= STOP_AT_MS) {
          stoppedAt = elapsed;
          await redis.stop(testCase.crash);
        } else if (stoppedAt !== undefined && restartedAt === undefined && elapsed >= stoppedAt + DOWN_FOR_MS) {
          await redis.restart();
          restartedAt = elapsed;
        }
      },
    });
    const settled = await settle(() => api.url ?? "", load.accepted, 120_000);
    const firstAfter = load.accepted.find((job) => restartedAt !== undefined && job.at >= restartedAt);
    const recoveryMs = firstAfter && restartedAt !== undefined ? firstAfter.at - restartedAt : undefined;
    const refused = countMap(load.refused);
    const acceptedBefore = load.accepted.filter((job) => stoppedAt !== undefined && job.at < stoppedAt).length;
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
    expect(Object.keys(refused).every((key) => key === "503 redis_unavailable")).toBe(true);
    expect(refused["503 redis_unavailable"]).toBeGreaterThan(0);
    expect(load.unanswered.size).toBe(0);
    expect(settled.lost).toEqual([]);
    expect(countMap(settled.failed)).toEqual({});
    expect(recoveryMs).toBeDefined();
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  });
}
