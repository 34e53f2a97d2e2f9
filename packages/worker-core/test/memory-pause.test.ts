import { afterAll, describe, expect, it } from "vitest";
import { Queue, Worker } from "bullmq";
import { createLogger } from "@herd/logger";
import { deletePrefix, testRedis, uniquePrefix } from "@herd/testing";
import { MemoryPause } from "../src/memory-pause.js";

/** Redis refused a job's result for want of memory: the job goes back, no attempt spent, and pulling pauses. */
describe("MemoryPause on real Redis", () => {
  const prefix = uniquePrefix("memory-pause");
  const connection = testRedis();
  const queue = new Queue("pause", { connection, prefix: `{${prefix}}` });
  // Manual fetching (no processor): the test takes jobs with a token as a binding does.
  const workerConnection = testRedis();
  const worker = new Worker("pause", null, { connection: workerConnection, prefix: `{${prefix}}` });
  const logger = createLogger({ name: "memory-pause-test", level: "silent", format: "json" });
  afterAll(async () => {
    await worker.close();
    await queue.close();
    await deletePrefix(connection, prefix);
    workerConnection.disconnect();
    connection.disconnect();
  });

  it("hands the job back delayed by a pause of 1 s that doubles up to 30 s, and starts over once a result is stored", async () => {
    const pause = new MemoryPause();
    const waits: number[] = [];
    for (let round = 0; round < 7; round += 1) {
      const added = await queue.add("embed", { round }, { attempts: 3 });
      const token = `token-${round}`;
      const job = await worker.getNextJob(token);
      expect(job?.id).toBe(added.id);
      const before = Date.now();
      const until = await pause.handBack(job!, token, logger);
      waits.push(Math.round((until - before) / 1000));
      const back = await queue.getJob(added.id ?? "");
      expect(await back?.getState()).toBe("delayed");
      expect(back?.attemptsMade).toBe(0);
      await back?.remove();
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 30, 30]);
    pause.reset();
    const job = await queue.add("embed", { round: "after" });
    const fetched = await worker.getNextJob("token-after");
    expect(fetched?.id).toBe(job.id);
    expect(Math.round(((await pause.handBack(fetched!, "token-after", logger)) - Date.now()) / 1000)).toBe(1);
  });
});
