import { describe, expect, it } from "vitest";
import { BatchSlicer, GateClosedError, SlotGate, kindsFor, slotsFor } from "../src/index.js";

describe("SlotGate", () => {
  it("admits at most `slots` holders, in FIFO order", async () => {
    const gate = new SlotGate(2);
    const order: number[] = [];
    const a = await gate.acquire();
    const b = await gate.acquire();
    const waiting = [3, 4].map((n) => gate.acquire().then((release) => (order.push(n), release)));
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(2);
    // Released, the slot goes straight to the first waiter; releasing again does nothing.
    expect(a()).toBe(true);
    expect(a()).toBe(false);
    const c = await waiting[0];
    expect(order).toEqual([3]);
    b();
    const d = await waiting[1];
    expect(order).toEqual([3, 4]);
    // Nobody waits now: the slots just come free.
    expect(c?.()).toBe(false);
    expect(d?.()).toBe(false);
    expect(gate.inFlight).toBe(0);
    expect(gate.maxInFlight).toBe(2);
  });

  it("hands a held slot over only to a waiter of higher priority", async () => {
    const gate = new SlotGate(1);
    const batch = await gate.acquire(10);
    const otherBatch = gate.acquire(10);
    // Only a job of the same priority waits: the holder keeps the slot for its next slice.
    const kept = gate.handOver(batch, 10);
    expect(kept).toBe(batch);
    expect(gate.inFlight).toBe(1);
    const order: string[] = [];
    const interactive = gate.acquire(1).then((release) => (order.push("interactive"), release));
    expect(gate.handOver(batch, 10)).toBeUndefined();
    const releaseInteractive = await interactive;
    expect(order).toEqual(["interactive"]);
    expect(gate.inFlight).toBe(1);
    // The holder queues again behind the batch job that waited before it.
    const again = gate.acquire(10).then((release) => (order.push("batch again"), release));
    releaseInteractive();
    const releaseOther = await otherBatch;
    releaseOther();
    (await again)();
    expect(order).toEqual(["interactive", "batch again"]);
    expect(gate.inFlight).toBe(0);
    expect(gate.maxInFlight).toBe(1);
  });

  it("rejects waiters when the binding stops pulling", async () => {
    const gate = new SlotGate(1);
    const release = await gate.acquire();
    const waiter = gate.acquire();
    gate.rejectWaiters("instance unhealthy");
    await expect(waiter).rejects.toBeInstanceOf(GateClosedError);
    release();
    expect(gate.inFlight).toBe(0);
  });
});

describe("discovery rules", () => {
  const instance = { name: "gpu", url: "http://gpu:11434", slots: 4, models: { "llama3.2": 8, "nomic-embed-text": 2 }, weight: 1 };
  it("derives job kinds from capabilities, or from the family on old servers", () => {
    expect(kindsFor("m", { capabilities: ["completion", "tools"], family: "llama", embeddingLength: 1, contextLength: 1 })).toEqual(["generate"]);
    expect(kindsFor("m", { capabilities: ["embedding"], family: "bert", embeddingLength: 1, contextLength: 1 })).toEqual(["embed"]);
    expect(kindsFor("m", { capabilities: ["vision"], family: "clip", embeddingLength: 1, contextLength: 1 })).toEqual([]);
    expect(kindsFor("mxbai-embed-large", { capabilities: undefined, family: "bert", embeddingLength: 1, contextLength: 1 })).toEqual(["embed"]);
    expect(kindsFor("qwen", { capabilities: undefined, family: "qwen2", embeddingLength: 1, contextLength: 1 })).toEqual(["generate"]);
  });

  it("gives embedding-only models one slot unless a model setting says otherwise", () => {
    expect(slotsFor(instance, "llama3.2:latest", ["generate"], 1)).toBe(8);
    expect(slotsFor(instance, "qwen:7b", ["generate"], 1)).toBe(4);
    expect(slotsFor(instance, "all-minilm:latest", ["embed"], 1)).toBe(1);
    expect(slotsFor(instance, "nomic-embed-text:latest", ["embed"], 1)).toBe(2);
    expect(slotsFor({ ...instance, slots: undefined }, "qwen:7b", ["generate"], 3)).toBe(3);
  });
});

describe("BatchSlicer", () => {
  it("sizes batch calls to the target duration from the binding's own calls", () => {
    const slicer = new BatchSlicer(50, 16);
    expect(slicer.size).toBe(1);
    slicer.record(1, 20);
    expect(slicer.size).toBe(2);
    // Fast calls grow the slice, up to the cap.
    for (let i = 0; i < 20; i += 1) slicer.record(32, 16);
    expect(slicer.size).toBe(16);
    expect(new BatchSlicer(0, 16).size).toBe(Number.POSITIVE_INFINITY);
  });
});
