import { afterAll, beforeAll, expect, it } from "vitest";
import type { EmulatorInstance, FaultSpec } from "@herd/ollama-emulator";
import { HerdCluster, waitFor, type Member } from "@herd/testing";
import { activeOn, countMap, offerLoad, recoveryOf, settle } from "../src/index.js";
import { emulators, instancesEnv, record, Scenario, tally } from "./setup.js";

const scenario = new Scenario("instance");
let fleet: EmulatorInstance[] = [];
let api: Member;
let worker: Member | undefined;
let victim: EmulatorInstance;

const FAULT_AT_MS = 1500;
const FAULT_FOR_MS = 3000;
// 3 instances at 60 ms per embed serve about 50 embeds/s: the offered 50/s keeps every slot busy.
const EMBED_MS = 60;

beforeAll(async () => {
  fleet = await emulators(3, EMBED_MS);
  scenario.closers.push(() => Promise.all(fleet.map((instance) => instance.close())));
  victim = fleet[0] as EmulatorInstance;
  const cluster = await scenario.start({});
  worker = cluster.startWorker("worker-initial", instancesEnv(fleet));
  api = await cluster.startApi("api");
});
afterAll(() => scenario.close());

interface Case {
  order: string;
  name: string;
  fault: string;
  /** Starts the fault; returns what ends it. */
  inject: () => Promise<() => Promise<void>>;
}

const set = (spec: Partial<FaultSpec> & Pick<FaultSpec, "mode">) => async () => {
  await victim.setFault({ rate: 1, factor: 10, status: 500, scope: "inference", ...spec });
  return () => victim.clearFault();
};

const CASES: Case[] = [
  { order: "2a", name: "instance dies (connections refused)", fault: "listener closed, open connections dropped", inject: set({ mode: "refuse" }) },
  { order: "2b", name: "instance hangs (accepts, never answers)", fault: "every request, probes included, left without an answer", inject: set({ mode: "hang", scope: "all" }) },
  { order: "2c", name: "instance slows down 10×", fault: "every embed takes 10× as long", inject: set({ mode: "slow", factor: 10 }) },
  {
    order: "2d",
    name: "instance flaps",
    fault: "refuses connections for 250 ms, then serves for 250 ms, over and over",
    inject: async () => {
      let down = false;
      const timer = setInterval(() => {
        down = !down;
        void (down ? victim.setFault({ mode: "refuse", rate: 1, factor: 10, status: 500, scope: "inference" }) : victim.clearFault());
      }, 250);
      return async () => {
        clearInterval(timer);
        await victim.clearFault();
      };
    },
  },
  { order: "2e", name: "instance returns malformed bodies", fault: "every answer cut off halfway (invalid JSON)", inject: set({ mode: "malformed" }) },
  { order: "2f", name: "instance returns NaN/Inf vectors", fault: "every vector carries an out-of-range number (1e999)", inject: set({ mode: "nan" }) },
  { order: "2g", name: "instance returns wrong dimensions", fault: "every vector one number short (767 of 768)", inject: set({ mode: "wrong_dims" }) },
];

for (const testCase of CASES) {
  it(`${testCase.order}. ${testCase.name}: retried on healthy instances, nothing lost`, async () => {
    for (const instance of fleet) instance.ctx.inputLedger?.clear();
    // A fresh worker per case: the last case's fault may have left the instance quarantined.
    if (worker) await HerdCluster.stop(worker, "SIGTERM");
    const name = `worker-${testCase.order}`;
    worker = scenario.cluster?.startWorker(name, instancesEnv(fleet));
    await waitFor(async () => {
      const { workers } = (await (await fetch(`${api.url}/v1/fleet`)).json()) as { workers: Array<{ workerId: string; instances: Array<{ healthy: boolean }> }> };
      return workers.length === 1 && workers[0]?.workerId === name && workers[0].instances.filter((instance) => instance.healthy).length === fleet.length;
    }, { timeoutMs: 30_000, message: `${name} alone in the fleet with every instance healthy` });
    let injectedAt = 0;
    let clear: (() => Promise<void>) | undefined;
    /** Jobs seen running on the faulty instance while it was faulty (looked at every 50 ms). */
    const touched = new Set<string>();
    const requests = () => victim.stats().models["nomic-embed-text:latest"]?.requests ?? 0;
    let requestsAtFault = 0;
    let requestsDuringFault = 0;
    const load = await offerLoad({
      targets: () => [api.url ?? ""],
      ratePerSecond: 50,
      durationMs: 6000,
      input: (i) => `${testCase.order} job ${i}`,
      onTick: async (elapsed) => {
        if (!scenario.queue) return;
        if (injectedAt === 0 && elapsed >= FAULT_AT_MS) {
          const held = await activeOn(scenario.queue, victim.ctx.name);
          // Strike while the instance has work in hand (the next tick looks again).
          if (held.length === 0) return;
          for (const id of held) touched.add(id);
          requestsAtFault = requests();
          injectedAt = Date.now();
          clear = await testCase.inject();
        }
        if (clear) for (const id of await activeOn(scenario.queue, victim.ctx.name)) touched.add(id);
        if (clear && Date.now() - injectedAt >= FAULT_FOR_MS) {
          requestsDuringFault = requests() - requestsAtFault;
          await clear();
          clear = undefined;
        }
      },
    });
    await clear?.();
    const settled = await settle(() => api.url ?? "", load.accepted, 120_000);
    const recoveryMs = scenario.queue ? await recoveryOf(scenario.queue, touched, injectedAt) : undefined;
    record({
      order: testCase.order,
      scenario: testCase.name,
      load: `${load.offered} embeds at 50/s over 6 s; 1 worker bound to 3 instances (${EMBED_MS} ms per embed)`,
      fault: `${testCase.fault}, on 1 of 3 instances for 3 s from ≈1.5 s`,
      ...tally(load, settled, fleet),
      recoveryMs,
      recoveryMeans: `from the fault until the last of the ${touched.size} job(s) seen running on the faulty instance while it was faulty had completed (there, or elsewhere after a retry)`,
      notes: [
        `Jobs needing more than one attempt: ${settled.retried}; refused: ${JSON.stringify(countMap(load.refused))}; unanswered: ${JSON.stringify(countMap(load.unanswered))}`,
        `Requests the faulty instance received while faulty (3 s): ${requestsDuringFault}; a healthy instance serves about ${Math.round((FAULT_FOR_MS / EMBED_MS) * 0.9)} in that time`,
      ],
    });
    expect(load.unanswered.size).toBe(0);
    expect(load.malformedRefusals).toEqual([]);
    expect(settled.lost).toEqual([]);
    // One instance of three misbehaving must not fail anyone's job: retries land on healthy ones.
    expect(countMap(settled.failed)).toEqual({});
    expect(touched.size, "the instance never had work in hand when the fault was due").toBeGreaterThan(0);
    expect(recoveryMs).toBeDefined();
  });
}
