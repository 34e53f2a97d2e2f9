import { Ollama, type Message, type Tool } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";
import { isZeroDuration } from "../src/dropin/instances.js";

const CHAT = [{ role: "user" as const, content: "How do I bleed the hydraulic pump before the first start?" }];

/**
 * The official `ollama` client, unmodified, pointed at Herd, checked against the same client
 * pointed straight at an emulated instance.
 */
describe("Ollama-compatible API, driven by the ollama npm package", () => {
  let stack: Stack;
  let herd: Ollama;
  let direct: Ollama;

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("dropin-ollama"), fleet: { instances: 2, preload: true, latency: { evalTokenMs: 5 } }, waitHealthy: true });
    herd = new Ollama({ host: stack.url });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
  }, 60_000);
  afterAll(() => stack?.close());

  it("embeds through the queue and the cache, with the instance's vectors", async () => {
    const input = ["hydraulic pump", "return filter element"];
    const through = await herd.embed({ model: "nomic-embed-text", input });
    const straight = await direct.embed({ model: "nomic-embed-text", input });
    expect(through.model).toBe("nomic-embed-text");
    expect(through.embeddings).toHaveLength(2);
    expect(through.embeddings[0]).toHaveLength(768);
    through.embeddings.forEach((vector, i) => vector.forEach((value, j) => expect(value).toBeCloseTo(straight.embeddings[i]?.[j] ?? NaN, 6)));
    const again = await herd.embed({ model: "nomic-embed-text", input });
    expect(again.embeddings).toEqual(through.embeddings);
    const legacy = await herd.embeddings({ model: "nomic-embed-text", prompt: "hydraulic pump" });
    expect(legacy.embedding).toHaveLength(768);
  });

  it("generates and chats without streaming, answering like the instance", async () => {
    const prompt = "Why must the pump be bled?";
    const through = await herd.generate({ model: "llama3.2", prompt, stream: false, options: { temperature: 0 } });
    const straight = await direct.generate({ model: "llama3.2", prompt, stream: false, options: { temperature: 0 } });
    expect(through.response).toBe(straight.response);
    expect(through.done).toBe(true);
    expect(through.done_reason).toBe("stop");
    expect(through.eval_count).toBe(straight.eval_count);
    const chat = await herd.chat({ model: "llama3.2", messages: CHAT, stream: false });
    const chatDirect = await direct.chat({ model: "llama3.2", messages: CHAT, stream: false });
    expect(chat.message).toEqual({ role: "assistant", content: chatDirect.message.content });
  });

  it("streams a chat token by token while the instance is still generating", async () => {
    const parts: Array<{ content: string; done: boolean; done_reason?: string }> = [];
    let runningAtFirstPart: number | undefined;
    for await (const part of await herd.chat({ model: "llama3.2", messages: CHAT, stream: true })) {
      if (parts.length === 0) {
        const stats = await Promise.all(stack.fleet.instances.map((instance) => instance.stats()));
        runningAtFirstPart = stats.reduce((sum, snapshot) => sum + (snapshot.models["llama3.2:latest"]?.executing ?? 0), 0);
      }
      parts.push({ content: part.message.content, done: part.done, ...(part.done_reason ? { done_reason: part.done_reason } : {}) });
    }
    const straight = await direct.chat({ model: "llama3.2", messages: CHAT, stream: false });
    // The first token reached the client while the generation was still running on an instance.
    expect(runningAtFirstPart).toBe(1);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((part) => part.content).join("")).toBe(straight.message.content);
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: "stop", content: "" });
    expect(parts.slice(0, -1).every((part) => !part.done)).toBe(true);
  });

  it("streams generate too", async () => {
    const pieces: string[] = [];
    for await (const part of await herd.generate({ model: "llama3.2", prompt: "Describe the return filter.", stream: true })) pieces.push(part.response ?? "");
    const straight = await direct.generate({ model: "llama3.2", prompt: "Describe the return filter.", stream: false });
    expect(pieces.join("")).toBe(straight.response);
  });

  it("passes tools on and hands the model's calls back, streamed or not, then answers from the tool's result", async () => {
    const tools: Tool[] = [
      { type: "function", function: { name: "lookup_torque", description: "Look up the bolt torque in the service manual", parameters: { type: "object", properties: { bolt: { type: "string" } }, required: ["bolt"] } } },
      { type: "function", function: { name: "get_weather", description: "Get the weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
    ];
    const ask: Message[] = [{ role: "user", content: "What is the flange bolt torque?" }];
    const through = await herd.chat({ model: "llama3.2", messages: ask, tools, stream: false });
    const straight = await direct.chat({ model: "llama3.2", messages: ask, tools, stream: false });
    expect(straight.message.tool_calls).toEqual([{ function: { name: "lookup_torque", arguments: { bolt: "flange" } } }]);
    expect(through.message).toEqual(straight.message);
    expect(through.done_reason).toBe("stop");

    const parts: Array<{ calls: unknown; done: boolean }> = [];
    for await (const part of await herd.chat({ model: "llama3.2", messages: ask, tools, stream: true })) parts.push({ calls: part.message.tool_calls, done: part.done });
    expect(parts).toEqual([
      { calls: straight.message.tool_calls, done: false },
      { calls: undefined, done: true },
    ]);

    const followUp = [...ask, through.message, { role: "tool", tool_name: "lookup_torque", tool_call_id: "call_1", content: "The flange bolt needs 45 Nm of torque. Use a calibrated wrench." }] as Message[];
    const answered = await herd.chat({ model: "llama3.2", messages: followUp, tools, stream: false });
    const answeredDirect = await direct.chat({ model: "llama3.2", messages: followUp, tools, stream: false });
    expect(answered.message.tool_calls).toBeUndefined();
    expect(answered.message.content).toBe(answeredDirect.message.content);
    expect(answered.message.content).toContain("45 Nm");
    // The tool message reaches Ollama whole, with the id of the call it answers.
    expect((await stack.finishedGenerateJob("llama3.2:latest", (data) => data.messages?.at(-1)?.role === "tool")).messages?.at(-1)).toEqual(followUp.at(-1));

    // /api/generate has no tools in Ollama: refused by name instead of silently dropped.
    const generate = await fetch(`${stack.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "llama3.2", prompt: "hi", tools }) });
    expect(generate.status).toBe(400);
    expect(await generate.json()).toEqual({ error: '"tools" is not supported through Herd' });
  });

  it("lists the fleet's models, shows one, and reports a version", async () => {
    const listed = await herd.list();
    expect(listed.models.map((model) => model.name).sort()).toEqual(["all-minilm:latest", "llama3.2:latest", "nomic-embed-text:latest"]);
    const show = await herd.show({ model: "llama3.2" });
    expect(show.capabilities).toContain("completion");
    expect((await herd.version()).version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Array.isArray((await herd.ps()).models)).toBe(true);
  });

  it("answers errors the way Ollama does", async () => {
    await expect(herd.generate({ model: "no-such-model", prompt: "hi", stream: false })).rejects.toMatchObject({ status_code: 404, error: "model 'no-such-model' not found" });
    await expect(herd.pull({ model: "llama3.2", stream: false })).rejects.toMatchObject({ status_code: 501, error: expect.stringContaining("not offered through Herd") });
    const response = await fetch(`${stack.url}/api/generate`, { method: "POST", body: "{not json" });
    expect(response.status).toBe(400);
    expect(Object.keys((await response.json()) as object)).toEqual(["error"]);
    const root = await fetch(`${stack.url}/`);
    expect(await root.text()).toBe("Ollama is running");
  });

  it("a client that goes away while its job is queued removes the job", async () => {
    const generateQueue = stack.api.queues.queue("generate.llama3.2~3Alatest");
    const slots = stack.worker.bindings.filter((binding) => binding.model.model === "llama3.2:latest").reduce((sum, binding) => sum + binding.model.slots, 0);
    for (const instance of stack.fleet.instances) await instance.setFault({ mode: "slow", rate: 1, factor: 20, status: 500, scope: "inference" });
    try {
      // Fill every slot, then one more request waits in the queue.
      const busy = Array.from({ length: slots }, (_, i) => herd.generate({ model: "llama3.2", prompt: `Keep the slot busy ${i}.`, stream: false }));
      await waitFor(() => stack.worker.bindings.every((binding) => binding.model.model !== "llama3.2:latest" || binding.gate.inFlight === binding.model.slots), { message: "all slots busy" });
      const leaving = new AbortController();
      const queued = fetch(`${stack.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "llama3.2", prompt: "I will not wait.", stream: false }), signal: leaving.signal });
      await waitFor(async () => (await generateQueue.getJobCounts("prioritized", "waiting")).prioritized === 1, { message: "the request is queued" });
      leaving.abort();
      await expect(queued).rejects.toThrow();
      await waitFor(async () => {
        const counts = await generateQueue.getJobCounts("prioritized", "waiting");
        return (counts.prioritized ?? 0) + (counts.waiting ?? 0) === 0;
      }, { message: "the queued job was removed" });
      await Promise.all(busy);
      // A reply reaches its client as the result is stored, just before BullMQ records the completion.
      await waitFor(async () => (await generateQueue.getJobCounts("active")).active === 0, { message: "the busy jobs completed" });
      const counts = await generateQueue.getJobCounts("completed", "failed", "active", "prioritized", "waiting");
      expect(counts).toMatchObject({ failed: 0, active: 0, prioritized: 0, waiting: 0 });
    } finally {
      for (const instance of stack.fleet.instances) await instance.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
  });

  it("a client that goes away mid-stream cancels its job and frees the slot", async () => {
    await stack.fleet.instances[0]?.setFault({ mode: "slow", rate: 1, factor: 50, status: 500, scope: "inference" });
    await stack.fleet.instances[1]?.setFault({ mode: "slow", rate: 1, factor: 50, status: 500, scope: "inference" });
    try {
      const client = new Ollama({ host: stack.url });
      const stream = await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "Tell me everything about the hydraulic pump, at length." }], stream: true });
      for await (const part of stream) {
        expect(part.done).toBe(false);
        break;
      }
      stream.abort();
      // The worker aborted its call: the instance has nothing running, and the worker's slot is free.
      expect(await stack.generationStopped("llama3.2:latest")).toBe(1);
    } finally {
      for (const instance of stack.fleet.instances) await instance.setFault({ mode: "none", rate: 1, factor: 10, status: 500, scope: "inference" });
    }
  });

  it("loads a model on every instance serving it for an empty request, and unloads it from all with keep_alive 0 (what ollama stop sends)", async () => {
    const loadedOn = () => Promise.all(stack.fleet.instances.map(async (instance) => (await new Ollama({ host: instance.url }).ps()).models.map((entry) => entry.name)));
    expect((await loadedOn()).every((names) => names.includes("llama3.2:latest"))).toBe(true);
    const unloaded = await herd.generate({ model: "llama3.2", prompt: "", keep_alive: 0, stream: false });
    expect(unloaded).toMatchObject({ model: "llama3.2", response: "", done: true, done_reason: "unload" });
    expect((await loadedOn()).some((names) => names.includes("llama3.2:latest"))).toBe(false);
    // Loading keeps the request's keep_alive on each instance: -1 is for good.
    const loaded = await herd.chat({ model: "llama3.2", messages: [], keep_alive: -1, stream: false });
    expect(loaded).toMatchObject({ done: true, done_reason: "load", message: { role: "assistant", content: "" } });
    for (const instance of stack.fleet.instances) {
      const entry = (await new Ollama({ host: instance.url }).ps()).models.find((model) => model.name === "llama3.2:latest");
      expect(new Date(entry?.expires_at ?? 0).getTime()).toBeGreaterThan(Date.now() + 365 * 24 * 3600_000);
    }
    expect((await herd.chat({ model: "llama3.2", messages: [], keep_alive: "0s", stream: false })).done_reason).toBe("unload");
    expect((await loadedOn()).some((names) => names.includes("llama3.2:latest"))).toBe(false);
    await herd.generate({ model: "llama3.2", prompt: "", stream: false });
    expect((await loadedOn()).every((names) => names.includes("llama3.2:latest"))).toBe(true);
    // An embedding model is unloaded the same way (Ollama's unload comes before its capability check).
    expect((await loadedOn()).every((names) => names.includes("nomic-embed-text:latest"))).toBe(true);
    expect((await herd.generate({ model: "nomic-embed-text", prompt: "", keep_alive: 0, stream: false })).done_reason).toBe("unload");
    expect((await loadedOn()).some((names) => names.includes("nomic-embed-text:latest"))).toBe(false);
    await expect(herd.generate({ model: "nomic-embed-text", prompt: "", stream: false })).rejects.toMatchObject({ status_code: 404 });
    expect(["0", "0s", "0m0s", "00.0ms"].map(isZeroDuration)).toEqual([true, true, true, true]);
    expect([-1, "5m", "0.5s", "-1s", undefined].map(isZeroDuration)).toEqual([false, false, false, false, false]);
  });
});
