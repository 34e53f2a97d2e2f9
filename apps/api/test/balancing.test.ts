import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const EMBED = "nomic-embed-text:latest";
const MINILM = "all-minilm:latest";
const LLAMA = "llama3.2:latest";

function submitMany(stack: Stack, bodies: unknown[]) {
  return Promise.all(bodies.map((body) => stack.run(body)));
}

describe("capacity-based pulling", () => {
  describe("a burst of mixed jobs on instances with different slots", () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await Stack.start({
        prefix: uniquePrefix("burst"),
        fleet: { instances: 3, slots: [1, 2, 4], latency: { embedMs: 4, evalTokenMs: 1, promptTokenMs: 0.05 }, preload: true },
      });
    });
    afterAll(() => stack?.close());

    it("never runs more requests on an instance than its slots, so nothing queues inside Ollama", async () => {
      const bodies = [
        ...Array.from({ length: 90 }, (_, i) => ({ type: "embed", model: "nomic-embed-text", input: `burst document ${i} about pumps` })),
        ...Array.from({ length: 60 }, (_, i) => ({ type: "embed", model: "all-minilm", input: [`minilm ${i} a`, `minilm ${i} b`] })),
        ...Array.from({ length: 45 }, (_, i) => ({ type: "generate", model: "llama3.2", prompt: `Explain item ${i} briefly.`, options: { num_predict: 8 } })),
      ];
      const results = await submitMany(stack, bodies);
      expect(results.map((result) => result.status)).toEqual(bodies.map(() => "completed"));

      let requests = 0;
      for (const instance of stack.fleet.instances) {
        const stats = instance.stats().models;
        for (const [model, counters] of Object.entries(stats)) {
          const slots = model === LLAMA ? instance.slots : 1;
          expect.soft(counters.maxInFlight, `${instance.ctx.name} ${model} in flight`).toBeLessThanOrEqual(slots);
          expect.soft(counters.maxWaiting, `${instance.ctx.name} ${model} waited inside Ollama`).toBe(0);
          expect.soft(counters.totalQueueWaitMs, `${instance.ctx.name} ${model} queue wait`).toBe(0);
          requests += counters.requests;
        }
      }
      expect(requests).toBe(bodies.length);
      // The 4-slot instance must actually have been used in parallel, or the check above proves nothing.
      const busiest = stack.fleet.instances[2]?.stats().models[LLAMA]?.maxInFlight ?? 0;
      expect(busiest).toBeGreaterThan(1);
      expect([EMBED, MINILM].every((model) => stack.emulatorRequests(model) > 0)).toBe(true);
    });
  });

  describe("instances of different speeds", () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await Stack.start({
        prefix: uniquePrefix("speeds"),
        // Long enough calls that each job's fixed cost in Herd (a few ms on a slow 2-core machine)
        // barely dents the fast instance's share: at 30 ms its 7.5 ms calls came out 2.4× the slow one's.
        fleet: { instances: 3, speeds: [1, 2, 4], latency: { embedMs: 60 }, preload: true },
      });
    });
    afterAll(() => stack?.close());

    it("gives each instance work in proportion to its capacity", async () => {
      const bodies = Array.from({ length: 210 }, (_, i) => ({ type: "embed", model: "nomic-embed-text", input: `speed test ${i}` }));
      const results = await submitMany(stack, bodies);
      expect(results.every((result) => result.status === "completed")).toBe(true);
      const [slow, mid, fast] = stack.fleet.instances.map((instance) => instance.stats().models[EMBED]?.requests ?? 0);
      expect((slow ?? 0) + (mid ?? 0) + (fast ?? 0)).toBe(210);
      // Capacity ratio is 1:2:4; round-robin would give 1:1:1 and least-connections about the same.
      expect(fast).toBeGreaterThan(2.5 * (slow ?? 0));
      expect(mid).toBeGreaterThan(1.4 * (slow ?? 0));
      expect(fast).toBeGreaterThan(1.4 * (mid ?? 0));
      // The job view names the instance that did the work.
      const byInstance = new Set(results.map((result) => result.instance));
      expect(byInstance).toEqual(new Set(stack.fleet.instances.map((instance) => instance.ctx.name)));
    });
  });

  describe("an instance that dies mid-burst", () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await Stack.start({
        prefix: uniquePrefix("kill"),
        fleet: { instances: 3, latency: { embedMs: 15 }, preload: true },
      });
    });
    afterAll(() => stack?.close());

    it("loses no accepted job: in-flight work is retried on the surviving instances", async () => {
      const victim = stack.fleet.instances[0];
      if (!victim) throw new Error("no instance");
      const bodies = Array.from({ length: 150 }, (_, i) => ({ type: "embed", model: "nomic-embed-text", input: `kill test ${i}` }));
      const submitted = await Promise.all(bodies.map((body) => stack.post("/v1/jobs", body)));
      expect(submitted.every((response) => response.status === 202)).toBe(true);
      await waitFor(() => (victim.stats().models[EMBED]?.completed ?? 0) >= 10, { message: "the victim to be working" });
      await victim.stopListening();

      const finals = await Promise.all(
        submitted.map((response) =>
          waitFor(async () => {
            const polled = await stack.get(`/v1/jobs/${response.body.id}?wait=5000`);
            return ["completed", "failed"].includes(polled.body.status) ? polled.body : undefined;
          }, { timeoutMs: 30_000, message: `job ${response.body.id}` }),
        ),
      );
      expect(finals.filter((job) => job.status !== "completed")).toEqual([]);
      expect(finals.some((job) => job.instance === victim.ctx.name)).toBe(true);
      expect(finals.filter((job) => job.instance !== victim.ctx.name).length).toBeGreaterThan(0);
      const fleet = await stack.get("/v1/fleet");
      const victimStatus = fleet.body.workers[0].instances.find((instance: { name: string }) => instance.name === victim.ctx.name);
      expect(victimStatus.healthy).toBe(false);
      // The worker reports how its clock compares with Redis's (the same machine here: near 0).
      expect(Math.abs(fleet.body.workers[0].clockOffsetMs)).toBeLessThan(50);
    });
  });
});
