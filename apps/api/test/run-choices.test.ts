import { describe, expect, it } from "vitest";
import { runChoices } from "../src/dropin/respond.js";
import type { InteractiveOptions } from "../src/interactive.js";

const contextWith = (signal: AbortSignal): InteractiveOptions => ({ timeoutMs: 1000, signal, client: "test" });

/** Waits until `signal` aborts, then fails as runInteractive does for a client that went away. */
const untilAborted = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));

describe("runChoices", () => {
  it("runs n choices at once and returns them in order", async () => {
    const started: number[] = [];
    const results = await runChoices(3, contextWith(new AbortController().signal), async (index) => {
      started.push(index);
      await new Promise((resolve) => setImmediate(resolve));
      return `choice ${index}`;
    });
    expect(results).toEqual(["choice 0", "choice 1", "choice 2"]);
    expect(started).toEqual([0, 1, 2]);
  });

  it("fails with the first failure and aborts the other choices' signals", async () => {
    const aborted: number[] = [];
    const failure = new Error("choice 1 refused");
    const run = runChoices(3, contextWith(new AbortController().signal), async (index, context) => {
      if (index === 1) throw failure;
      context.signal.addEventListener("abort", () => aborted.push(index));
      return untilAborted(context.signal);
    });
    await expect(run).rejects.toBe(failure);
    expect(aborted.sort()).toEqual([0, 2]);
  });

  it("aborts every choice when the client goes away", async () => {
    const client = new AbortController();
    const aborted: number[] = [];
    const run = runChoices(2, contextWith(client.signal), (index, context) => {
      context.signal.addEventListener("abort", () => aborted.push(index));
      return untilAborted(context.signal);
    });
    client.abort();
    await expect(run).rejects.toThrow("aborted");
    expect(aborted.sort()).toEqual([0, 1]);
  });
});
