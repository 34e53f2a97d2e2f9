import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRedis, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const KEEP = 3;

/**
 * HERD_JOB_RETENTION_COUNT bounds the stored results as it bounds BullMQ's finished jobs: a
 * result outliving its job could never be fetched again, yet would hold its memory in a Redis
 * that evicts nothing until the retention's age ran out.
 */
describe("result retention by count", () => {
  const prefix = uniquePrefix("result-retention");
  let stack: Stack;
  const redis = testRedis();

  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1 }, waitHealthy: true, env: { HERD_JOB_RETENTION_COUNT: String(KEEP) } });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    redis.disconnect();
  });

  it("keeps the results of the newest finished jobs of a queue and drops the older ones", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2 * KEEP; i += 1) {
      const job = await stack.run({ type: "embed", model: "all-minilm", input: `retention ${i}: check the coolant level` });
      expect(job.status).toBe("completed");
      ids.push(job.id);
    }
    const newest = ids.slice(-KEEP);
    const stored = async () => (await redis.keys(`{${prefix}}:result:*`)).map((key) => key.slice(`{${prefix}}:result:`.length)).sort();
    await waitFor(async () => (await stored()).length === KEEP, { message: `${KEEP} results left` });
    expect(await stored()).toEqual([...newest].sort());

    const latest = await stack.get(`/v1/jobs/${newest[KEEP - 1]}`);
    expect(latest.status).toBe(200);
    expect(latest.body.result.embeddings[0]).toHaveLength(384);
    // BullMQ dropped the oldest job by the same count: it reads as unknown, not as a job without its result.
    const oldest = await stack.get(`/v1/jobs/${ids[0]}`);
    expect(oldest.status).toBe(404);
    expect(oldest.body.error.code).toBe("job_not_found");
  });
});
