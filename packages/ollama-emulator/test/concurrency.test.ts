import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "@herd/testing";
import { EmulatorFleet, EmulatorInstance, RUNNER_STOPPED_MESSAGE, type EmulatorOptions } from "../src/index.js";
import { call, post } from "./http.js";

const EMBED = "nomic-embed-text:latest";
const LLAMA = "llama3.2:latest";

describe("emulator: concurrency like Ollama", () => {
  const opened: Array<{ close: () => Promise<void> }> = [];
  async function start(options: EmulatorOptions): Promise<EmulatorInstance> {
    const instance = await new EmulatorInstance(options).listen();
    opened.push(instance);
    return instance;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((item) => item.close()));
  });

  it("runs an embedding model one request at a time and queues the rest inside (FIFO, unbounded)", async () => {
    const ollama = await start({ numParallel: 4, latency: { embedMs: 40 }, preload: true });
    const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: `text ${i}` })));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const stats = ollama.stats().models[EMBED];
    expect(stats).toMatchObject({ requests: 5, maxExecuting: 1, maxInFlight: 5, maxWaiting: 4, completed: 5 });
    expect(stats?.totalQueueWaitMs).toBeGreaterThan(40);
  });

  it("measures how long a freed slot of a busy model sits free before the next request takes it", async () => {
    const ollama = await start({ latency: { embedMs: 20 }, preload: true });
    // Three at once on one slot: each freed slot goes straight to a request waiting inside.
    await Promise.all(Array.from({ length: 3 }, (_, i) => post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: `queued ${i}` })));
    expect(ollama.stats().models[EMBED]).toMatchObject({ refills: 2, refillGapMs: 0, refillGapP50Ms: 0, refillGapP90Ms: 0 });
    expect((await call(ollama.url, "POST", "/_emulator/reset")).status).toBeLessThan(300);
    expect(ollama.stats().models[EMBED]).toMatchObject({ refills: 0, refillGapMs: 0, refillGapP50Ms: null });
    // One after another: the slot sits free from the first request's end until the second arrives.
    const started = performance.now();
    await post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: "first" });
    await post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: "second" });
    const elapsedMs = performance.now() - started;
    const stats = ollama.stats().models[EMBED];
    expect(stats?.refills).toBe(1);
    expect(stats?.refillGapMs).toBeGreaterThan(0);
    // Both calls' slot times and the gap between them lie inside the client's elapsed time. The
    // emulator's own busy time, not the nominal 2 × 20 ms: a timer may fire up to a millisecond early.
    expect(stats?.refillGapMs).toBeLessThan(elapsedMs - (stats?.busyMs ?? Infinity));
    expect(stats?.refillGapP50Ms).toBe(stats?.refillGapMs);
  });

  it("answers requests pipelined on one connection one after another, as Go's net/http does", async () => {
    // Go's server reads a connection's next request only once the handler of the previous one
    // returned, so a pipelined request never waits inside Ollama: it waits in the socket.
    const ollama = await start({ numParallel: 2, latency: { embedMs: 30, evalTokenMs: 5 }, preload: true });
    const request = (path: string, body: unknown) => {
      const text = JSON.stringify(body);
      return `POST ${path} HTTP/1.1\r\nHost: ollama\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    };
    const socket = connect(ollama.port, "127.0.0.1");
    opened.push({ close: async () => void socket.destroy() });
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (received += chunk));
    socket.write(
      request("/api/embed", { model: "nomic-embed-text", input: "first" }) +
        request("/api/embed", { model: "nomic-embed-text", input: "second" }) +
        request("/api/generate", { model: "llama3.2", prompt: "Go.", stream: false, options: { num_predict: 4 } }) +
        request("/api/generate", { model: "llama3.2", prompt: "Go.", stream: false, options: { num_predict: 4 } }),
    );
    await waitFor(() => (received.match(/HTTP\/1\.1 200 OK/g) ?? []).length === 4, { timeoutMs: 5000, message: "four answers on the connection" });
    const models = ollama.stats().models;
    expect(models[EMBED]).toMatchObject({ requests: 2, completed: 2, maxExecuting: 1, maxWaiting: 0 });
    // Two slots, but one connection: one generation at a time.
    expect(models[LLAMA]).toMatchObject({ requests: 2, completed: 2, maxExecuting: 1, maxWaiting: 0 });
    // In order: the embeddings' answers come before the generations'.
    expect(received.indexOf('"embeddings"')).toBeLessThan(received.indexOf('"response"'));
  });

  it("drops a pipelined request whose client went away before its turn, without doing its work", async () => {
    const ollama = await start({ latency: { embedMs: 200 }, preload: true });
    const body = JSON.stringify({ model: "nomic-embed-text", input: "pipelined" });
    const request = `POST /api/embed HTTP/1.1\r\nHost: ollama\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = connect(ollama.port, "127.0.0.1");
    opened.push({ close: async () => void socket.destroy() });
    socket.on("error", () => undefined);
    socket.write(request + request);
    await waitFor(() => ollama.stats().models[EMBED]?.executing === 1, { timeoutMs: 5000, message: "the first request running" });
    socket.destroy();
    await waitFor(() => ollama.stats().models[EMBED]?.executing === 0, { timeoutMs: 5000, message: "the first request stopped" });
    // Its turn came and went: the second request was never handed to the scheduler.
    await new Promise((resolve) => setImmediate(resolve));
    expect(ollama.stats().models[EMBED]).toMatchObject({ requests: 1, maxWaiting: 0 });
  });

  it("gives a generation model num_parallel slots and never 503s a warm model", async () => {
    const ollama = await start({ numParallel: 2, maxQueue: 1, latency: { evalTokenMs: 5 }, preload: true });
    const responses = await Promise.all(Array.from({ length: 6 }, () => post(ollama.url, "/api/generate", { model: "llama3.2", prompt: "Go.", stream: false, options: { num_predict: 4 } })));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(ollama.stats().models[LLAMA]).toMatchObject({ maxExecuting: 2, maxWaiting: 4 });
  });

  it("processes /api/embed arrays one input after another on the slot, interleaving requests", async () => {
    const ollama = await start({ latency: { embedMs: 20 }, preload: true });
    await Promise.all([
      post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: ["a1", "a2", "a3"] }),
      post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: ["b1", "b2", "b3"] }),
    ]);
    const stats = ollama.stats().models[EMBED];
    expect(stats).toMatchObject({ inputs: 6, maxExecuting: 1, maxInFlight: 2 });
    // Inputs of one request never wait on each other; they wait only behind the other request's inputs.
    expect(stats?.maxWaiting).toBe(1);
  });

  it("answers 503 only when more than max_queue requests wait for a model load", async () => {
    const ollama = await start({ maxQueue: 1, latency: { loadMs: 150 } });
    const responses = await Promise.all(Array.from({ length: 4 }, () => post(ollama.url, "/api/embed", { model: "all-minilm", input: "cold" })));
    const busy = responses.filter((response) => response.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(JSON.parse(busy[0]?.text ?? "{}")).toEqual({ error: "server busy, please try again.  maximum pending requests exceeded" });
    expect(ollama.stats().models["all-minilm:latest"]?.loads).toBe(1);
  });

  it("reports load_duration on a cold start and unloads with keep_alive 0", async () => {
    const ollama = await start({ latency: { loadMs: 30 } });
    const first = JSON.parse((await post(ollama.url, "/api/embed", { model: "all-minilm", input: "x", keep_alive: 0 })).text) as { load_duration: number };
    expect(first.load_duration).toBeGreaterThan(25_000_000);
    expect(JSON.parse((await call(ollama.url, "GET", "/api/ps")).text)).toEqual({ models: [] });
    await post(ollama.url, "/api/embed", { model: "all-minilm", input: "x" });
    const ps = JSON.parse((await call(ollama.url, "GET", "/api/ps")).text) as { models: Array<{ name: string; expires_at: string }> };
    expect(ps.models.map((model) => model.name)).toEqual(["all-minilm:latest"]);
  });

  it("unloads any model for an empty request with keep_alive 0, an embedding model too, without loading one that is not loaded", async () => {
    const ollama = await start({ latency: { loadMs: 30 }, preload: true });
    const loaded = async () => (JSON.parse((await call(ollama.url, "GET", "/api/ps")).text) as { models: Array<{ name: string }> }).models.map((model) => model.name).sort();
    expect(await loaded()).toEqual(["all-minilm:latest", "llama3.2:latest", "nomic-embed-text:latest"]);
    const unloaded = await post(ollama.url, "/api/generate", { model: "nomic-embed-text", keep_alive: 0 });
    expect(JSON.parse(unloaded.text)).toMatchObject({ model: "nomic-embed-text", response: "", done: true, done_reason: "unload" });
    const chat = await post(ollama.url, "/api/chat", { model: "llama3.2", messages: [], keep_alive: "0s" });
    expect(JSON.parse(chat.text)).toMatchObject({ message: { role: "assistant", content: "" }, done: true, done_reason: "unload" });
    expect(await loaded()).toEqual(["all-minilm:latest"]);
    // Not loaded: nothing is loaded to be unloaded.
    const loads = ollama.stats().models["llama3.2:latest"]?.loads ?? 0;
    expect(JSON.parse((await post(ollama.url, "/api/generate", { model: "llama3.2", prompt: "", keep_alive: 0 })).text)).toMatchObject({ done_reason: "unload" });
    expect(ollama.stats().models["llama3.2:latest"]?.loads ?? 0).toBe(loads);
    expect(await loaded()).toEqual(["all-minilm:latest"]);
    // An embedding model still cannot generate.
    expect((await post(ollama.url, "/api/generate", { model: "nomic-embed-text", prompt: "" })).status).toBe(400);
  });

  it("drops a waiting request whose client disconnected without doing its work", async () => {
    const ollama = await start({ latency: { embedMs: 150 }, preload: true });
    const first = post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: "keeps the slot" });
    await waitFor(() => ollama.stats().models[EMBED]?.executing === 1);
    const controller = new AbortController();
    const second = post(ollama.url, "/api/embed", { model: "nomic-embed-text", input: "gives up" }, controller.signal).catch((error: Error) => error);
    await waitFor(() => ollama.stats().models[EMBED]?.waiting === 1);
    controller.abort();
    expect(await second).toBeInstanceOf(Error);
    await waitFor(() => ollama.stats().models[EMBED]?.canceled === 1, { message: "the waiter to be canceled" });
    expect((await first).status).toBe(200);
    expect(ollama.stats().models[EMBED]).toMatchObject({ inputs: 2, completed: 1, canceled: 1, waiting: 0, inFlight: 0 });
  });
});

describe("emulator: faults and admin", () => {
  let ollama: EmulatorInstance | undefined;
  afterEach(async () => {
    await ollama?.close();
    ollama = undefined;
  });

  async function setFault(url: string, fault: unknown): Promise<number> {
    return (await post(url, "/_emulator/fault", fault)).status;
  }

  it("injects 500s, malformed bodies, non-finite and short vectors through the admin endpoint", async () => {
    ollama = await new EmulatorInstance({ preload: true }).listen();
    const embed = () => post(ollama!.url, "/api/embed", { model: "all-minilm", input: "fault" });
    expect(await setFault(ollama.url, { mode: "error" })).toBe(200);
    expect(await embed()).toMatchObject({ status: 500, text: JSON.stringify({ error: RUNNER_STOPPED_MESSAGE }) });
    await setFault(ollama.url, { mode: "malformed" });
    const malformed = await embed();
    expect(malformed.status).toBe(200);
    expect(() => JSON.parse(malformed.text)).toThrow();
    await setFault(ollama.url, { mode: "nan" });
    expect((await embed()).text).toContain("[1e999");
    await setFault(ollama.url, { mode: "wrong_dims" });
    expect((JSON.parse((await embed()).text) as { embeddings: number[][] }).embeddings[0]).toHaveLength(383);
    expect((await post(ollama.url, "/_emulator/fault", { mode: "explode" })).status).toBe(400);
    expect((await call(ollama.url, "DELETE", "/_emulator/fault")).status).toBe(200);
    expect((await embed()).status).toBe(200);
  });

  it("hangs until the client gives up, and slows down by a factor", async () => {
    ollama = await new EmulatorInstance({ latency: { embedMs: 10 }, preload: true }).listen();
    await setFault(ollama.url, { mode: "hang" });
    const controller = new AbortController();
    const hung = post(ollama.url, "/api/embed", { model: "all-minilm", input: "x" }, controller.signal).catch((error: Error) => error);
    await waitFor(() => ollama!.stats().models["all-minilm:latest"]?.inFlight === 1);
    expect((await call(ollama.url, "HEAD", "/")).status).toBe(200);
    controller.abort();
    expect(await hung).toBeInstanceOf(Error);
    await setFault(ollama.url, { mode: "slow", factor: 5 });
    const slow = JSON.parse((await post(ollama.url, "/api/embed", { model: "all-minilm", input: "x" })).text) as { total_duration: number };
    expect(slow.total_duration).toBeGreaterThan(45_000_000);
  });

  it("refuses connections, and comes back on the same port when cleared", async () => {
    ollama = await new EmulatorInstance({ preload: true }).listen();
    const { url, port } = ollama;
    await ollama.setFault({ mode: "refuse", rate: 1, factor: 10, status: 500, scope: "inference" });
    await expect(call(url, "GET", "/")).rejects.toThrow(/ECONNREFUSED/);
    await ollama.clearFault();
    expect(ollama.port).toBe(port);
    expect((await call(url, "GET", "/")).status).toBe(200);
  });

  it("reports counters and resets them", async () => {
    ollama = await new EmulatorInstance({ preload: true }).listen();
    await post(ollama.url, "/api/embed", { model: "all-minilm", input: ["a", "b"] });
    const stats = JSON.parse((await call(ollama.url, "GET", "/_emulator/stats")).text) as { instance: { slots: number }; models: Record<string, { requests: number; inputs: number }> };
    expect(stats.models["all-minilm:latest"]).toMatchObject({ requests: 1, inputs: 2 });
    expect((await post(ollama.url, "/_emulator/reset", {})).status).toBe(200);
    expect(ollama.stats().models["all-minilm:latest"]?.requests).toBe(0);
  });

  it("runs a fleet on consecutive ports with per-instance slots and speed, controllable while refusing", async () => {
    const fleet = await EmulatorFleet.start({ instances: 3, slots: [1, 4], speeds: [1, 2, 3], adminPort: 0, preload: true });
    try {
      expect(fleet.instances.map((instance) => [instance.slots, instance.ctx.speed])).toEqual([[1, 1], [4, 2], [1, 3]]);
      const admin = fleet.adminUrl ?? "";
      const list = JSON.parse((await call(admin, "GET", "/instances")).text) as Array<{ url: string; listening: boolean }>;
      expect(list.map((item) => item.url)).toEqual(fleet.urls);
      await post(admin, "/instances/1/fault", { mode: "refuse" });
      await expect(call(fleet.urls[1] ?? "", "GET", "/")).rejects.toThrow(/ECONNREFUSED/);
      await call(admin, "DELETE", "/instances/1/fault");
      expect((await call(fleet.urls[1] ?? "", "GET", "/")).status).toBe(200);
    } finally {
      await fleet.close();
    }
  });
});
