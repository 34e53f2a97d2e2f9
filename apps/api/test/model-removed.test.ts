import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

/**
 * An operator removes a model from one instance (`ollama rm`) while others still have it: the
 * instance answers its calls 404 until the worker notices. Jobs it took then must go to the
 * instances that still have the model instead of failing as model_not_found, and the instance
 * must stop taking them. Discovery here runs once an hour, so only the 404 can tell the worker.
 */
describe("a model removed from one instance", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("removed"), fleet: { instances: 2, preload: true, latency: { embedMs: 2 } }, workerEnv: { HERD_DISCOVERY_INTERVAL: "1h" }, waitHealthy: true });
  }, 60_000);
  afterAll(() => stack?.close());

  it("sends its jobs to the instances that still have it, and the instance takes no more", async () => {
    const [gone, kept] = stack.fleet.instances;
    if (!gone || !kept) throw new Error("two instances expected");
    const removed = await fetch(`${gone.url}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: "nomic-embed-text" }) });
    expect(removed.status).toBe(200);

    const embed = (i: number) => stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: `after the removal ${i}` });
    const first = await Promise.all(Array.from({ length: 12 }, (_, i) => embed(i)));
    expect(first.map((answer) => [answer.status, answer.body.status, answer.body.error?.code])).toEqual(first.map(() => [200, "completed", undefined]));
    expect(new Set(first.map((answer) => answer.body.instance))).toEqual(new Set([kept.ctx.name]));

    // Its binding closed: the worker's heartbeat no longer offers the model on that instance, and later jobs never reach it.
    await waitFor(async () => {
      const { body } = await stack.get("/v1/fleet");
      return JSON.stringify(body).includes(gone.ctx.name) && !servesOn(body, gone.ctx.name, "nomic-embed-text:latest");
    }, { message: "the fleet to stop offering the removed model on that instance" });
    // The instance answered 404 (so jobs did reach it), then no more calls went to it.
    const notFound = async () => (await stack.worker.metrics.instances.errors.get()).values.find((value) => value.labels.ollama === gone.ctx.name && value.labels.class === "model_not_found")?.value ?? 0;
    const before = await notFound();
    expect(before).toBeGreaterThan(0);
    const later = await Promise.all(Array.from({ length: 8 }, (_, i) => embed(100 + i)));
    expect(later.every((answer) => answer.body.status === "completed" && answer.body.instance === kept.ctx.name)).toBe(true);
    expect(await notFound()).toBe(before);
  });

  it("still fails a job as model_not_found when the instance answers 404 but still lists the model", async () => {
    const kept = stack.fleet.instances[1];
    if (!kept) throw new Error("two instances expected");
    // Every call 404 while /api/tags still lists the model: no changed catalog, so no hand-back (which would go round forever).
    await kept.setFault({ mode: "error", status: 404, rate: 1, factor: 10, scope: "inference" });
    try {
      const answer = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: "listed but not found" });
      expect([answer.body.status, answer.body.error?.code]).toEqual(["failed", "model_not_found"]);
    } finally {
      await kept.clearFault();
    }
  });

  it("fails a job as model_not_found once no instance has the model any more, rather than queue it for none", async () => {
    const kept = stack.fleet.instances[1];
    if (!kept) throw new Error("two instances expected");
    expect((await fetch(`${kept.url}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: "nomic-embed-text" }) })).status).toBe(200);
    const answer = await stack.post("/v1/jobs?wait=20000", { type: "embed", model: "nomic-embed-text", input: "removed everywhere" });
    expect([answer.body.status, answer.body.error?.code]).toEqual(["failed", "model_not_found"]);
  });
});

/** Whether the fleet view lists `model` among the models served on the instance `instance`. */
function servesOn(fleet: unknown, instance: string, model: string): boolean {
  const found: boolean[] = [];
  JSON.stringify(fleet, (key, value: unknown) => {
    if (value && typeof value === "object" && (value as { name?: unknown }).name === instance) found.push(JSON.stringify(value).includes(model));
    return value;
  });
  return found.some(Boolean);
}
