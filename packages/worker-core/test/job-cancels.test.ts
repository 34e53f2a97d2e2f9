import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger } from "@herd/logger";
import { testEnv, uniquePrefix } from "@herd/testing";
import { JobCancels } from "../src/job-cancels.js";
import { sharedAbortController } from "../src/shared-signal.js";

describe("job cancellation signals", () => {
  it("abort on a client's cancel or on shutdown, and leave nothing on the shutdown signal once released", async () => {
    const cancels = new JobCancels({ url: testEnv.TEST_REDIS_URL }, `{${uniquePrefix("cancels")}}:cancel`, silentLogger());
    try {
      const shutdown = sharedAbortController();
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

  it("lets many jobs at once listen to the shutdown signal without a listener-leak warning", async () => {
    const cancels = new JobCancels({ url: testEnv.TEST_REDIS_URL }, `{${uniquePrefix("cancels")}}:cancel`, silentLogger());
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    try {
      const shutdown = sharedAbortController();
      const running = Array.from({ length: 50 }, (_, i) => cancels.track(`busy-${i}`, shutdown.signal));
      expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(50);
      await settle();
      expect(warnings.filter((message) => message.includes("50 abort listeners") || message.includes("11 abort listeners"))).toEqual([]);
      // The same with a plain controller does warn: the check above can fail.
      const plain = new AbortController();
      const others = Array.from({ length: 11 }, (_, i) => cancels.track(`plain-${i}`, plain.signal));
      await settle();
      expect(warnings.filter((message) => message.includes("11 abort listeners"))).toHaveLength(1);
      for (const tracked of [...running, ...others]) tracked.release();
    } finally {
      process.off("warning", onWarning);
      await cancels.close();
    }
  });
});
