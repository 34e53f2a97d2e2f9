import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger } from "@herd/logger";
import { testEnv, uniquePrefix } from "@herd/testing";
import { JobCancels } from "../src/job-cancels.js";

describe("job cancellation signals", () => {
  it("abort on a client's cancel or on shutdown, and leave nothing on the shutdown signal once released", async () => {
    const cancels = new JobCancels(testEnv.TEST_REDIS_URL, `{${uniquePrefix("cancels")}}:cancel`, silentLogger());
    try {
      const shutdown = new AbortController();
      const done = Array.from({ length: 1000 }, (_, i) => cancels.track(`done-${i}`, shutdown.signal));
      for (const tracked of done) tracked.release();
      // A long-running worker tracks millions of jobs against one shutdown signal.
      expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);

      const first = cancels.track("first", shutdown.signal);
      const second = cancels.track("second", shutdown.signal);
      expect(cancels.cancel("first")).toBe(true);
      expect(first.signal.aborted).toBe(true);
      expect(first.canceled()).toBe(true);
      expect(second.signal.aborted).toBe(false);
      expect(cancels.cancel("unknown")).toBe(false);

      shutdown.abort(new Error("shutdown deadline"));
      expect(second.signal.aborted).toBe(true);
      expect((second.signal.reason as Error).message).toBe("shutdown deadline");
      expect(second.canceled()).toBe(false);
      const late = cancels.track("late", shutdown.signal);
      expect(late.signal.aborted).toBe(true);
      for (const tracked of [first, second, late]) tracked.release();
    } finally {
      await cancels.close();
    }
  });
});
