import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS, EmulatorInstance, NO_FAULT } from "@herd/ollama-emulator";
import { freePort, makePng } from "@herd/testing";
import { OllamaClient, OllamaError, vectorTexts, type OllamaErrorKind } from "../src/index.js";

async function failure(promise: Promise<unknown>): Promise<OllamaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OllamaError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

function expectKind(error: OllamaError, kind: OllamaErrorKind, retryable: boolean): void {
  expect({ kind: error.kind, retryable: error.retryable }).toEqual({ kind, retryable });
}

describe("OllamaClient against the emulator", () => {
  let ollama: EmulatorInstance;
  let client: OllamaClient;
  const call = { timeoutMs: 5000 };
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ preload: true, latency: { evalTokenMs: 2 } }).listen();
    client = new OllamaClient({ url: ollama.url, instance: "emu" });
  });
  afterEach(() => ollama.setFault(NO_FAULT));
  afterAll(async () => {
    await client.close();
    await ollama.close();
  });

  it("embeds and validates the vectors", async () => {
    const output = await client.embed({ model: "nomic-embed-text:latest", input: ["a b", "c d"] }, { ...call, expectedLength: 768 });
    expect(output.embeddings).toHaveLength(2);
    expect(output.promptEvalCount).toBe(4);
    // The text of each vector, cut from the body, stands for exactly the validated numbers.
    expect(output.vectorTexts.map((text) => JSON.parse(text) as unknown)).toEqual(output.embeddings);
  });

  it("reads capabilities and sizes from /api/show, versions and tags", async () => {
    expect(await client.modelInfo("nomic-embed-text", call)).toEqual({ capabilities: ["embedding"], family: "nomic-bert", embeddingLength: 768, contextLength: 2048 });
    // all-minilm was trained for 512 tokens, but its Modelfile sets num_ctx 256: what it reads of an input.
    expect(await client.modelInfo("all-minilm", call)).toEqual({ capabilities: ["embedding"], family: "bert", embeddingLength: 384, contextLength: 256 });
    const show = (await client.show("all-minilm", call)).body as { parameters: string; model_info: Record<string, unknown> };
    expect(show.model_info["bert.context_length"]).toBe(512);
    expect(show.parameters).toMatch(/^num_ctx {24}256$/m);
    expect(await client.version(call)).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await client.tags(call)).models.map((model) => model.name)).toContain("llama3.2:latest");
    expect(await client.probe(1000)).toBeGreaterThanOrEqual(0);
  });

  it("streams tokens as they are generated and returns the whole text", async () => {
    const pieces: string[] = [];
    const output = await client.generate({ model: "llama3.2", prompt: "The belt is loose. Why is the belt loose?" }, { ...call, onToken: (piece) => pieces.push(piece) });
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join("")).toBe(output.text);
    expect(output).toMatchObject({ text: "The belt is loose.", doneReason: "stop" });
    const chat = await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "The belt is loose. Why is the belt loose?" }] }, call);
    expect(chat.text).toBe("The belt is loose.");
  });

  it("returns the tools a chat called, streamed or not, and validates them", async () => {
    const tools = [{ type: "function", function: { name: "check_belt", description: "Check the belt tension", parameters: { type: "object", properties: { belt: { type: "string" } }, required: ["belt"] } } }];
    const messages = [{ role: "user", content: "Is the drive belt tension right?" }];
    const expected = [{ function: { name: "check_belt", arguments: { belt: "drive right" } } }];
    const whole = await client.chat({ model: "llama3.2", messages, tools }, call);
    expect(whole).toMatchObject({ text: "", toolCalls: expected, doneReason: "stop" });
    const pieces: string[] = [];
    const streamed = await client.chat({ model: "llama3.2", messages, tools }, { ...call, onToken: (piece) => pieces.push(piece) });
    expect(streamed.toolCalls).toEqual(expected);
    expect(pieces).toEqual([]);
    expect((await client.chat({ model: "llama3.2", messages }, call)).toolCalls).toEqual([]);
    // A call without a name is not a call Herd can hand on.
    const broken = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ message: { role: "assistant", content: "", tool_calls: [{ function: { arguments: {} } }] }, done: true })));
    await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
    const brokenClient = new OllamaClient({ url: `http://127.0.0.1:${(broken.address() as AddressInfo).port}`, instance: "broken" });
    try {
      expectKind(await failure(brokenClient.chat({ model: "llama3.2", messages, tools }, call)), "invalid_response", true);
    } finally {
      await brokenClient.close();
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it("returns a thinking model's thinking apart from the text, piece by piece when streaming", async () => {
    const thinker = await new EmulatorInstance({ preload: true, models: [...DEFAULT_MODELS, completeModelSpec({ name: "qwen3", capabilities: ["completion", "thinking"] })] }).listen();
    const thinkerClient = new OllamaClient({ url: thinker.url, instance: "thinker" });
    try {
      const messages = [{ role: "user", content: "Why is the belt loose?" }];
      const whole = await thinkerClient.chat({ model: "qwen3", messages, think: "low" }, call);
      expect(whole.thinking).toBe("The user asks about belt, loose.");
      expect(whole.text).not.toBe("");
      const thoughts: string[] = [];
      const tokens: string[] = [];
      const streamed = await thinkerClient.generate({ model: "qwen3", prompt: "Why is the belt loose?", think: "low" }, { ...call, onToken: (piece) => tokens.push(piece), onThinking: (piece) => thoughts.push(piece) });
      expect(thoughts.length).toBeGreaterThan(1);
      expect(thoughts.join("")).toBe(streamed.thinking);
      expect(streamed.thinking).toBe(whole.thinking);
      expect(tokens.join("")).toBe(streamed.text);
      expect((await thinkerClient.chat({ model: "qwen3", messages }, call)).thinking).toBe("");
    } finally {
      await thinkerClient.close();
      await thinker.close();
    }
  });

  it("classifies 404 and 400 as unrecoverable", async () => {
    expectKind(await failure(client.embed({ model: "missing", input: ["x"] }, call)), "model_not_found", false);
    const tooLong = await failure(client.embed({ model: "all-minilm", input: ["word ".repeat(300)], truncate: false }, call));
    expectKind(tooLong, "bad_request", false);
    expect(tooLong.message).toBe("the input length exceeds the context length");
  });

  it("classifies the runner's 500 for an image it cannot take as unrecoverable, not as the instance's fault", async () => {
    const png = makePng(2, 2).toString("base64");
    const blind = await failure(client.generate({ model: "llama3.2", prompt: "What is this?", images: [png] }, call));
    expectKind(blind, "bad_request", false);
    expect({ status: blind.status, instanceFault: blind.instanceFault, message: blind.message }).toEqual({ status: 500, instanceFault: false, message: "Failed to create new sequence: failed to process inputs: this model is missing data required for image input" });
  });

  it("classifies 5xx and 503 as retryable", async () => {
    await ollama.setFault({ ...NO_FAULT, mode: "error" });
    const error = await failure(client.embed({ model: "all-minilm", input: ["x"] }, call));
    expectKind(error, "server", true);
    expect(error.status).toBe(500);
    expect(error.instanceFault).toBe(true);
    await ollama.setFault({ ...NO_FAULT, mode: "error", status: 503 });
    expectKind(await failure(client.embed({ model: "all-minilm", input: ["x"] }, call)), "busy", true);
  });

  it("rejects malformed bodies, non-finite values and wrong lengths as invalid responses", async () => {
    for (const mode of ["malformed", "nan", "wrong_dims"] as const) {
      await ollama.setFault({ ...NO_FAULT, mode });
      const error = await failure(client.embed({ model: "all-minilm", input: ["x", "y"] }, { ...call, expectedLength: 384 }));
      expectKind(error, "invalid_response", true);
    }
  });

  it("turns a hang into a timeout at the deadline, and a caller abort into aborted", async () => {
    await ollama.setFault({ ...NO_FAULT, mode: "hang" });
    expectKind(await failure(client.embed({ model: "all-minilm", input: ["x"] }, { timeoutMs: 150 })), "timeout", true);
    const controller = new AbortController();
    const pending = failure(client.embed({ model: "all-minilm", input: ["x"] }, { timeoutMs: 5000, signal: controller.signal }));
    setImmediate(() => controller.abort());
    expectKind(await pending, "aborted", false);
    const instanceDead = new AbortController();
    const cut = failure(client.embed({ model: "all-minilm", input: ["x"] }, { timeoutMs: 5000, instanceSignal: instanceDead.signal }));
    setImmediate(() => instanceDead.abort());
    expectKind(await cut, "connection", true);
  });

  it("waits for headers as long as the deadline allows (no short header timeout)", async () => {
    await ollama.setFault({ ...NO_FAULT, mode: "slow", factor: 1 });
    const slow = await new EmulatorInstance({ preload: true, latency: { embedMs: 1200 } }).listen();
    const slowClient = new OllamaClient({ url: slow.url, instance: "slow" });
    try {
      const output = await slowClient.embed({ model: "all-minilm", input: ["x"] }, { timeoutMs: 5000 });
      expect(output.embeddings).toHaveLength(1);
    } finally {
      await slowClient.close();
      await slow.close();
    }
  });
});

describe("OllamaClient transport failures", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("classifies a refused connection as a retryable connection error", async () => {
    const client = new OllamaClient({ url: `http://127.0.0.1:${await freePort()}`, instance: "gone" });
    try {
      const error = await failure(client.embed({ model: "m", input: ["x"] }, { timeoutMs: 2000 }));
      expectKind(error, "connection", true);
      expect(error.message).toMatch(/ECONNREFUSED/);
      expectKind(await failure(client.probe(500)), "connection", true);
    } finally {
      await client.close();
    }
  });

  it("classifies a dropped connection as retryable and a proxy's text 404 as model_not_found", async () => {
    server = createServer((req, res) => {
      if (req.url === "/api/embed") req.socket.destroy();
      else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("404 page not found");
      }
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    const client = new OllamaClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, instance: "proxy" });
    try {
      expectKind(await failure(client.embed({ model: "m", input: ["x"] }, { timeoutMs: 2000 })), "connection", true);
      const notFound = await failure(client.tags({ timeoutMs: 2000 }));
      expectKind(notFound, "model_not_found", false);
      expect(notFound.message).toBe("404 page not found");
    } finally {
      await client.close();
    }
  });
});

describe("OllamaClient handing a freed slot on", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("sends the request of the call that takes the freed slot before reading this answer's body", async () => {
    const events: string[] = [];
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        const input = (JSON.parse(body) as { input: string[] }).input[0] ?? "";
        events.push(`${input} arrived`);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ model: "m", embeddings: [[0.6, 0.8]] }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    const client = new OllamaClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, instance: "ordered" });
    const call = { timeoutMs: 2000 };
    try {
      // Two keep-alive connections, both used once and idle now: the next call goes on an idle one.
      await Promise.all([client.embed({ model: "m", input: ["warm 1"] }, call), client.embed({ model: "m", input: ["warm 2"] }, call)]);
      let handOn: () => void = () => undefined;
      const slotHandedOn = new Promise<void>((resolve) => (handOn = resolve));
      // As at the worker's slot gate: the next job, waiting for the slot, sends its call once it is free.
      const next = slotHandedOn.then(() => client.embed({ model: "m", input: ["next"] }, call));
      const first = client
        .embed({ model: "m", input: ["first"] }, { ...call, onSlotFree: () => (handOn(), true) })
        .then((output) => (events.push("first parsed"), output));
      await Promise.all([first, next]);
      expect(events.slice(2)).toEqual(["first arrived", "next arrived", "first parsed"]);

      // With nobody taking the slot, the body is read at once (nothing to wait for).
      events.length = 0;
      await client.embed({ model: "m", input: ["alone"] }, { ...call, onSlotFree: () => false });
      expect(events).toEqual(["alone arrived"]);
    } finally {
      await client.close();
    }
  });
});

describe("vectorTexts", () => {
  const vectors = [
    [0.5, -0.25, 1e-7],
    [1, 2, 3],
  ];

  it("cuts each vector's text from the body as the instance wrote it", () => {
    const text = '{"model":"m","embeddings":[[0.50,-0.25,1e-07],[1.0,2,3]],"total_duration":5}';
    expect(vectorTexts(text, vectors)).toEqual(["[0.50,-0.25,1e-07]", "[1.0,2,3]"]);
    const spaced = '{ "model": "m", "embeddings" : [ [0.5, -0.25, 1e-7] ,\n [1, 2, 3] ] }';
    expect(vectorTexts(spaced, vectors)).toEqual(["[0.5, -0.25, 1e-7]", "[1, 2, 3]"]);
  });

  it("falls back to serialising the parsed vectors when the body is not one plain embeddings array", () => {
    const serialised = vectors.map((vector) => JSON.stringify(vector));
    // JSON.parse keeps the last duplicate key, so the first one's text was never validated.
    expect(vectorTexts('{"embeddings":[[9,9,9],[9,9,9]],"embeddings":[[0.5,-0.25,1e-7],[1,2,3]]}', vectors)).toEqual(serialised);
    // The key's name also appears as a value.
    expect(vectorTexts('{"model":"embeddings","embeddings":[[0.5,-0.25,1e-7],[1,2,3]]}', vectors)).toEqual(serialised);
    // A vector's element count differs from the parsed one, or one vector more or fewer.
    expect(vectorTexts('{"embeddings":[[0.5,-0.25],[1,2,3]]}', vectors)).toEqual(serialised);
    expect(vectorTexts('{"embeddings":[[0.5,-0.25,1e-7],[1,2,3],[4,5,6]]}', vectors)).toEqual(serialised);
    expect(vectorTexts('{"embeddings":[[0.5,-0.25,1e-7]]}', vectors)).toEqual(serialised);
    expect(vectorTexts("{}", vectors)).toEqual(serialised);
  });
});
