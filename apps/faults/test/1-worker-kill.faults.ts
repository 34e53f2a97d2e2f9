import { afterAll, expect, it } from "vitest";
import { HerdCluster } from "@herd/testing";
import { activeOn, countMap, offerLoad, recoveryOf, settle } from "../src/index.js";
import { emulators, instancesEnv, record, Scenario, tally } from "./setup.js";

const scenario = new Scenario("kill9");
afterAll(() => scenario.close());

it("1. kill -9 of a worker mid-load: its jobs move on after the lock expires, nothing is lost", async () => {
  const fleet = await emulators(2, 30);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  const cluster = await scenario.start({});
  // Each worker serves its own instance, so the survivor is the only way the victim's jobs finish.
  const [first, second] = fleet as [(typeof fleet)[0], (typeof fleet)[0]];
  const victim = cluster.startWorker("victim", instancesEnv([first]));
  cluster.startWorker("survivor", instancesEnv([second]));
  const api = await cluster.startApi("api");
  let killedAt = 0;
  let held: string[] = [];
  const load = await offerLoad({
    targets: () => [api.url ?? ""],
    ratePerSecond: 60,
    durationMs: 8000,
    input: (i) => `kill9 job ${i}`,
    onTick: async (elapsed) => {
      if (killedAt !== 0 || elapsed < 3000 || !scenario.queue) return;
      held = await activeOn(scenario.queue, first.ctx.name);
      // Kill it with work in hand (the next tick looks again).
      if (held.length === 0) return;
      killedAt = Date.now();
      await HerdCluster.stop(victim, "SIGKILL");
    },
  });
  const settled = await settle(() => api.url ?? "", load.accepted, 120_000);
  const recoveryMs = scenario.queue ? await recoveryOf(scenario.queue, held, killedAt) : undefined;
  const counts = tally(load, settled, fleet);
  record({
    order: "1",
    scenario: "worker killed with `kill -9`",
    load: `${load.offered} embeds at 60/s over 8 s; 2 workers, each bound to its own instance (30 ms per embed)`,
    fault: "SIGKILL to one worker at ≈3 s, while it holds a job",
    ...counts,
    recoveryMs,
    recoveryMeans: `from the kill until the ${held.length} job(s) the dead worker held were completed by the survivor (BullMQ's stalled-job check: lock 2 s, checked every 500 ms)`,
    notes: [`Refused: ${JSON.stringify(countMap(load.refused))}; unanswered: ${JSON.stringify(countMap(load.unanswered))}`, `Jobs needing more than one attempt: ${settled.retried}`],
  });
  expect(load.unanswered.size, cluster.output.slice(-3000)).toBe(0);
  expect(load.malformedRefusals).toEqual([]);
  expect(settled.lost).toEqual([]);
  expect(settled.failed.size).toBe(0);
  expect(held.length).toBeGreaterThan(0);
  expect(recoveryMs).toBeDefined();
  // Only work the victim had in hand can run twice.
  expect(counts.duplicates).toBeLessThanOrEqual(held.length);
});
