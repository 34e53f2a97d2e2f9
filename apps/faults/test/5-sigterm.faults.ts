import { afterAll, expect, it } from "vitest";
import { HerdCluster } from "@herd/testing";
import { activeOn, countMap, offerLoad, recoveryOf, settle } from "../src/index.js";
import { emulators, instancesEnv, record, Scenario, tally } from "./setup.js";

const scenarios: Scenario[] = [];
afterAll(async () => {
  for (const scenario of scenarios) await scenario.close();
});

interface Case {
  order: string;
  title: string;
  /** The shutdown deadline (HERD_SHUTDOWN_TIMEOUT) in ms. */
  deadlineMs: number;
  /** How much slower the leaving worker's instance is than the 40 ms norm. */
  slowdown: number;
}

const CASES: Case[] = [
  { order: "5a", title: "SIGTERM to an API and a worker", deadlineMs: 5000, slowdown: 1 },
  // 20 s per embed (within the 30 s call timeout set below) against a 1 s deadline.
  { order: "5b", title: "SIGTERM to a worker whose job outlasts the deadline", deadlineMs: 1000, slowdown: 500 },
];

for (const testCase of CASES) {
it(`${testCase.order}. ${testCase.title} under load: in-flight work finishes or is handed back within the deadline`, async () => {
  const scenario = new Scenario(`sigterm-${testCase.order}`);
  scenarios.push(scenario);
  const fleet = await emulators(2, 40);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const SHUTDOWN_DEADLINE = `${testCase.deadlineMs}ms`;
  const cluster = await scenario.start({ HERD_SHUTDOWN_TIMEOUT: SHUTDOWN_DEADLINE, HERD_EMBED_TIMEOUT: "30s" });
  const [first, second] = fleet as [(typeof fleet)[0], (typeof fleet)[0]];
  if (testCase.slowdown > 1) await first.setFault({ mode: "slow", factor: testCase.slowdown, rate: 1, status: 500, scope: "inference" });
  const leavingWorker = cluster.startWorker("leaving-worker", instancesEnv([first]));
  cluster.startWorker("staying-worker", instancesEnv([second]));
  const leavingApi = await cluster.startApi("leaving-api");
  const stayingApi = await cluster.startApi("staying-api");
  let apis = [leavingApi.url ?? "", stayingApi.url ?? ""];
  let signaledAt = 0;
  let held: string[] = [];
  let exits: Promise<Array<Awaited<ReturnType<typeof HerdCluster.stop>>>> | undefined;
  const load = await offerLoad({
    targets: () => apis,
    ratePerSecond: 40,
    durationMs: 8000,
    input: (i) => `sigterm job ${i}`,
    onTick: async (elapsed) => {
      if (signaledAt !== 0 || elapsed < 3000 || !scenario.queue) return;
      held = await activeOn(scenario.queue, first.ctx.name);
      if (held.length === 0) return;
      // A load balancer takes a terminating API out of rotation; requests already sent to it finish.
      apis = [stayingApi.url ?? ""];
      signaledAt = Date.now();
      exits = Promise.all([HerdCluster.stop(leavingWorker, "SIGTERM"), HerdCluster.stop(leavingApi, "SIGTERM")]);
    },
  });
  const [workerExit, apiExit] = (await exits) ?? [];
  const settled = await settle(() => stayingApi.url ?? "", load.accepted, 120_000);
  const heldDone = scenario.queue ? await recoveryOf(scenario.queue, held, signaledAt) : undefined;
  // A job handed back at the deadline ran to its end once: its view counts one attempt.
  const heldAttempts = await Promise.all(held.map(async (id) => ((await (await fetch(`${stayingApi.url}/v1/jobs/${id}`)).json()) as { attempts: number }).attempts));
  const counts = tally(load, settled, fleet);
  record({
    order: testCase.order,
    scenario: testCase.title,
    load: `${load.offered} embeds at 40/s over 8 s, spread over 2 APIs; 2 workers, each bound to its own instance (40 ms per embed${testCase.slowdown > 1 ? `; ${(testCase.slowdown * 40) / 1000} s on the leaving worker's` : ""})`,
    fault: `SIGTERM to one API and one worker at ≈3 s (shutdown deadline ${testCase.deadlineMs / 1000} s)`,
    ...counts,
    recoveryMs: workerExit && apiExit ? Math.max(workerExit.exitMs, apiExit.exitMs) : undefined,
    recoveryMeans: "from SIGTERM until both processes had exited (the later of the two)",
    notes: [
      testCase.slowdown > 1 ? "The leaving worker's instance needs 20 s per embed, so its job cannot finish within the 1 s deadline: at the deadline the call is aborted and the job handed back to the queue, where the other worker takes it." : "The leaving worker's job was short enough to finish within the deadline.",
      `Worker exited after ${Math.round(workerExit?.exitMs ?? -1)} ms with code ${workerExit?.code}; API after ${Math.round(apiExit?.exitMs ?? -1)} ms with code ${apiExit?.code}`,
      `The ${held.length} job(s) the worker was running at SIGTERM were finished ${heldDone === undefined ? "(never)" : `${Math.round(heldDone)} ms`} after it`,
      `Refused: ${JSON.stringify(countMap(load.refused))}; unanswered: ${JSON.stringify(countMap(load.unanswered))}; jobs needing more than one attempt: ${settled.retried}`,
    ],
  });
  expect(load.unanswered.size).toBe(0);
  expect(load.refused.size).toBe(0);
  expect(settled.lost).toEqual([]);
  expect(countMap(settled.failed)).toEqual({});
  // 143 = 128 + SIGTERM: Herd's processes exit with it after a clean shutdown, as shells expect.
  expect(workerExit?.code).toBe(143);
  expect(apiExit?.code).toBe(143);
  expect(workerExit?.exitMs).toBeLessThan(testCase.deadlineMs + 1000);
  expect(apiExit?.exitMs).toBeLessThan(testCase.deadlineMs + 1000);
  expect(heldDone).toBeDefined();
  expect(heldAttempts.every((attempts) => attempts === 1), JSON.stringify(heldAttempts)).toBe(true);
  // A job that cannot finish in time is kept until the deadline, not dropped at once.
  if (testCase.slowdown > 1) expect(workerExit?.exitMs).toBeGreaterThanOrEqual(testCase.deadlineMs - 50);
  // Work in hand was finished, or aborted and handed back: either way it ran to the end once.
  expect(counts.duplicates).toBe(0);
});
}
