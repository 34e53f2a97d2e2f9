import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorInstance } from "../src/index.js";
import { call, cosine, norm, post } from "./http.js";

describe("emulator: Ollama routes and bodies", () => {
  let ollama: EmulatorInstance;
  let url: string;
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ numParallel: 2 }).listen();
    url = ollama.url;
  });
  afterAll(() => ollama.close());

  it("answers GET and HEAD / like Ollama", async () => {
    const get = await call(url, "GET", "/");
    expect(get).toMatchObject({ status: 200, text: "Ollama is running" });
    expect(get.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const head = await call(url, "HEAD", "/");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("serves version, tags with the default catalog, ps and show", async () => {
    expect(JSON.parse((await call(url, "GET", "/api/version")).text)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    const tags = JSON.parse((await call(url, "GET", "/api/tags")).text) as { models: Array<{ name: string; details: { family: string } }> };
    expect(tags.models.map((model) => model.name)).toEqual(["nomic-embed-text:latest", "all-minilm:latest", "llama3.2:latest"]);
    const show = await post(url, "/api/show", { model: "nomic-embed-text" });
    expect(JSON.parse(show.text)).toMatchObject({ capabilities: ["embedding"], model_info: { "nomic-bert.embedding_length": 768 } });
    const showLlama = JSON.parse((await post(url, "/api/show", { model: "llama3.2" })).text) as { capabilities: string[] };
    expect(showLlama.capabilities).toEqual(["completion", "tools"]);
    expect(JSON.parse((await call(url, "GET", "/api/ps")).text)).toEqual({ models: expect.any(Array) });
  });

  it("uses gin's plain-text 404 and 405", async () => {
    expect(await call(url, "GET", "/nope")).toMatchObject({ status: 404, text: "404 page not found" });
    expect(await call(url, "GET", "/api/embed")).toMatchObject({ status: 405, text: "405 method not allowed" });
  });

  it("embeds with normalised vectors of the model's length, in input order", async () => {
    const response = await post(url, "/api/embed", { model: "nomic-embed-text", input: ["pump pressure", "valve torque"] });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json; charset=utf-8");
    const body = JSON.parse(response.text) as { model: string; embeddings: number[][]; prompt_eval_count: number };
    expect(body.model).toBe("nomic-embed-text");
    expect(body.embeddings).toHaveLength(2);
    for (const vector of body.embeddings) {
      expect(vector).toHaveLength(768);
      expect(norm(vector)).toBeCloseTo(1, 5);
      // Dense like a real model's output, so bodies are as large as Ollama's (~10 kB per vector).
      expect(vector.every((value) => value !== 0)).toBe(true);
      expect(JSON.stringify(vector).length).toBeGreaterThan(768 * 10);
    }
    expect(body.prompt_eval_count).toBe(4);
    const single = JSON.parse((await post(url, "/api/embed", { model: "nomic-embed-text", input: "pump pressure" })).text) as { embeddings: number[][] };
    expect(single.embeddings[0]).toEqual(body.embeddings[0]);
  });

  it("counts a token per Chinese, Japanese or Korean character, as a model's tokenizer about does", async () => {
    const count = async (input: string) => (JSON.parse((await post(url, "/api/embed", { model: "nomic-embed-text", input })).text) as { prompt_eval_count: number }).prompt_eval_count;
    expect(await count("液压泵")).toBe(3);
    expect(await count("ポンプを点検")).toBe(6);
    expect(await count("pump 液压泵, ok")).toBe(6);
    expect(await count("펌프를 점검")).toBe(5);
  });

  it("cuts and re-normalises with dimensions, and ignores a larger value", async () => {
    const cut = JSON.parse((await post(url, "/api/embed", { model: "all-minilm", input: "coolant level", dimensions: 64 })).text) as { embeddings: number[][] };
    expect(cut.embeddings[0]).toHaveLength(64);
    expect(norm(cut.embeddings[0] ?? [])).toBeCloseTo(1, 5);
    const big = JSON.parse((await post(url, "/api/embed", { model: "all-minilm", input: "coolant level", dimensions: 5000 })).text) as { embeddings: number[][] };
    expect(big.embeddings[0]).toHaveLength(384);
  });

  it("makes lexically similar texts similar and unrelated ones not", async () => {
    const texts = ["replace the hydraulic pump seal", "hydraulic pump seal replacement", "quarterly revenue grew in europe"];
    const body = JSON.parse((await post(url, "/api/embed", { model: "nomic-embed-text", input: texts })).text) as { embeddings: number[][] };
    const [a, b, c] = body.embeddings as [number[], number[], number[]];
    expect(cosine(a, b)).toBeGreaterThan(0.5);
    expect(cosine(a, c)).toBeLessThan(0.2);
  });

  it("makes Chinese, Japanese and Korean texts that share words similar, though they put no spaces between them", async () => {
    const texts = ["液压泵怎么排气", "液压泵的排气方法：打开排气螺钉，直到油液中没有气泡。", "每运行500小时更换回油滤芯。", "フィルターを交換する", "フィルターの交換手順", "펌프를 점검하세요", "펌프 점검 방법"];
    const body = JSON.parse((await post(url, "/api/embed", { model: "nomic-embed-text", input: texts })).text) as { embeddings: number[][] };
    const [question, answer, unrelated, ja1, ja2, ko1, ko2] = body.embeddings as [number[], number[], number[], number[], number[], number[], number[]];
    expect(cosine(question, answer)).toBeGreaterThan(0.4);
    expect(cosine(question, unrelated)).toBeLessThan(0.1);
    expect(cosine(ja1, ja2)).toBeGreaterThan(0.4);
    expect(cosine(ko1, ko2)).toBeGreaterThan(0.4);
  });

  it("answers an empty input with no embeddings", async () => {
    expect(JSON.parse((await post(url, "/api/embed", { model: "all-minilm", input: [] })).text)).toEqual({ model: "all-minilm", embeddings: [] });
  });

  it("truncates to the context by default and fails with truncate:false", async () => {
    const long = "word ".repeat(300);
    expect((await post(url, "/api/embed", { model: "all-minilm", input: long })).status).toBe(200);
    const strict = await post(url, "/api/embed", { model: "all-minilm", input: long, truncate: false });
    expect(strict.status).toBe(400);
    expect(JSON.parse(strict.text)).toEqual({ error: "the input length exceeds the context length" });
  });

  it("uses Ollama's exact error bodies", async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ["/api/embed", { model: "missing", input: "x" }, 404, "model 'missing' not found"],
      ["/api/embeddings", { model: "missing", prompt: "x" }, 404, 'model "missing" not found, try pulling it first'],
      ["/api/generate", { model: "missing", prompt: "x" }, 404, "model 'missing' not found"],
      ["/api/embed", { input: "x" }, 400, "model is required"],
      ["/api/embed", { model: "all-minilm", input: ["a", 3] }, 400, "invalid input type"],
      ["/api/generate", { model: "all-minilm", prompt: "x" }, 400, '"all-minilm" does not support generate'],
      ["/api/chat", { model: "all-minilm", messages: [{ role: "user", content: "x" }] }, 400, '"all-minilm" does not support chat'],
      ["/api/embed", "", 400, "missing request body"],
      ["/api/embed", "hello", 400, "invalid character 'h' looking for beginning of value"],
      ["/api/embed", { model: 5 }, 400, "json: cannot unmarshal number into Go struct field EmbedRequest.model of type string"],
      ["/api/generate", { model: "llama3.2", prompt: "x", keep_alive: true }, 400, "Unsupported type: 'boolean'"],
    ];
    for (const [path, body, status, message] of cases) {
      const response = await post(url, path, body);
      expect({ path, status: response.status, body: JSON.parse(response.text) }).toEqual({ path, status, body: { error: message } });
    }
  });

  it("finds a model whatever the case of its name, except on the legacy /api/embeddings", async () => {
    const lower = JSON.parse((await post(url, "/api/embed", { model: "all-minilm", input: "case" })).text) as { embeddings: number[][] };
    const upper = await post(url, "/api/embed", { model: "ALL-MiniLM:Latest", input: "case" });
    expect(upper.status).toBe(200);
    // Ollama echoes the name as the request wrote it.
    expect(JSON.parse(upper.text)).toMatchObject({ model: "ALL-MiniLM:Latest", embeddings: lower.embeddings });
    expect((await post(url, "/api/generate", { model: "Llama3.2", prompt: "hi", stream: false })).status).toBe(200);
    expect((await post(url, "/api/show", { model: "LLAMA3.2" })).status).toBe(200);
    const legacy = await post(url, "/api/embeddings", { model: "ALL-MINILM", prompt: "case" });
    expect({ status: legacy.status, body: JSON.parse(legacy.text) }).toEqual({ status: 404, body: { error: 'model "ALL-MINILM" not found, try pulling it first' } });
  });

  it("serves the legacy /api/embeddings with unnormalised values", async () => {
    const body = JSON.parse((await post(url, "/api/embeddings", { model: "all-minilm", prompt: "legacy call" })).text) as { embedding: number[] };
    expect(body.embedding).toHaveLength(384);
    expect(Math.abs(norm(body.embedding) - 1)).toBeGreaterThan(0.001);
  });

  it("streams NDJSON from /api/generate and ends with a done chunk carrying metrics", async () => {
    const response = await post(url, "/api/generate", { model: "llama3.2", prompt: "Oil keeps the pump cool. Why does the pump need oil?" });
    expect(response.headers["content-type"]).toBe("application/x-ndjson");
    const lines = response.text.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines.slice(0, -1)) expect(line).toMatchObject({ model: "llama3.2", done: false, response: expect.any(String) });
    const final = lines.at(-1) as Record<string, unknown>;
    expect(final).toMatchObject({ done: true, done_reason: "stop", response: "", prompt_eval_count: expect.any(Number), eval_count: expect.any(Number), context: expect.any(Array) });
    expect(String(final["created_at"])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(lines.slice(0, -1).map((line) => line["response"]).join("")).toBe("Oil keeps the pump cool.");
  });

  it("answers a RAG prompt from its numbered sources, citing them", async () => {
    const prompt = "Sources:\n\n[1] (fans.md, Cooling)\nClean the fan blades monthly.\n\n[2] (pump.md, Pumps)\nBleed the pump before the first start. Check the oil level daily.\n\nQuestion: When do I bleed the pump?";
    const body = JSON.parse((await post(url, "/api/generate", { model: "llama3.2", prompt, stream: false })).text) as { response: string };
    expect(body.response).toBe("Bleed the pump before the first start. [2]");
  });

  it("answers stream:false with one object and /api/chat with a message", async () => {
    const generated = JSON.parse((await post(url, "/api/generate", { model: "llama3.2", prompt: "Hello there.", stream: false })).text) as Record<string, unknown>;
    expect(generated).toMatchObject({ done: true, response: expect.stringMatching(/\S/) });
    const chat = JSON.parse((await post(url, "/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "Hello there." }], stream: false })).text) as Record<string, unknown>;
    expect(chat).toMatchObject({ done: true, done_reason: "stop", message: { role: "assistant", content: expect.stringMatching(/\S/) } });
    const again = JSON.parse((await post(url, "/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "Hello there." }], stream: false })).text) as { message: unknown };
    expect(again.message).toEqual(chat["message"]);
  });

  it("stops at num_predict with done_reason length, and loads on an empty prompt", async () => {
    const limited = JSON.parse((await post(url, "/api/generate", { model: "llama3.2", prompt: "Tell me a story.", options: { num_predict: 3 }, stream: false })).text) as Record<string, unknown>;
    expect(limited).toMatchObject({ done_reason: "length", eval_count: 3 });
    const load = JSON.parse((await post(url, "/api/generate", { model: "llama3.2", prompt: "" })).text) as Record<string, unknown>;
    expect(load).toMatchObject({ response: "", done: true, done_reason: "load" });
  });

  it("produces JSON when format is json or a schema", async () => {
    const json = JSON.parse((await post(url, "/api/generate", { model: "llama3.2", prompt: "Status?", format: "json", stream: false })).text) as { response: string };
    expect(JSON.parse(json.response)).toEqual({ response: expect.any(String) });
    const schema = { type: "object", properties: { ok: { type: "boolean" }, reason: { type: "string" } } };
    const shaped = JSON.parse((await post(url, "/api/generate", { model: "llama3.2", prompt: "Status?", format: schema, stream: false })).text) as { response: string };
    expect(JSON.parse(shaped.response)).toEqual({ ok: expect.any(Boolean), reason: expect.any(String) });
  });

  it("streams JSON piece by piece and cuts it at num_predict, leaving it unfinished as Ollama does", async () => {
    const body = { model: "llama3.2", prompt: "Status of the pump?", format: "json" };
    const whole = JSON.parse((await post(url, "/api/generate", { ...body, stream: false })).text) as { response: string; eval_count: number; done_reason: string };
    expect(whole.done_reason).toBe("stop");
    const lines = (await post(url, "/api/generate", body)).text.trim().split("\n").map((line) => JSON.parse(line) as { response: string; done: boolean });
    expect(lines.length).toBeGreaterThan(4);
    expect(lines.map((line) => line.response).join("")).toBe(whole.response);
    const cut = JSON.parse((await post(url, "/api/generate", { ...body, stream: false, options: { num_predict: 4 } })).text) as { response: string; eval_count: number; done_reason: string };
    expect(cut).toMatchObject({ done_reason: "length", eval_count: 4 });
    expect(whole.response.startsWith(cut.response)).toBe(true);
    expect(() => JSON.parse(cut.response)).toThrow();
  });
});

describe("emulator: input ledger", () => {
  it("counts each embedding input it computed, only when asked to", async () => {
    const recording = await new EmulatorInstance({ recordInputs: true }).listen();
    const plain = await new EmulatorInstance().listen();
    try {
      for (const instance of [recording, plain]) {
        expect((await post(instance.url, "/api/embed", { model: "nomic-embed-text", input: ["seal", "gasket", "seal"] })).status).toBe(200);
        expect((await post(instance.url, "/api/embed", { model: "nomic-embed-text", input: "seal" })).status).toBe(200);
      }
      expect(Object.fromEntries(recording.inputCounts())).toEqual({ seal: 3, gasket: 1 });
      expect(plain.inputCounts().size).toBe(0);
    } finally {
      await recording.close();
      await plain.close();
    }
  });
});

describe("emulator: DELETE /api/delete", () => {
  let ollama: EmulatorInstance;
  beforeAll(async () => {
    ollama = await new EmulatorInstance().listen();
  });
  afterAll(() => ollama.close());

  const remove = async (body: unknown) => {
    const response = await fetch(`${ollama.url}/api/delete`, { method: "DELETE", body: JSON.stringify(body) });
    return { status: response.status, text: await response.text() };
  };

  it("removes a model as Ollama does: later calls for it are 404 and /api/tags no longer lists it", async () => {
    const deleted = await remove({ model: "all-minilm" });
    expect([deleted.status, deleted.text]).toEqual([200, ""]);
    const tags = JSON.parse((await call(ollama.url, "GET", "/api/tags")).text) as { models: Array<{ name: string }> };
    expect(tags.models.map((model) => model.name)).toEqual(["nomic-embed-text:latest", "llama3.2:latest"]);
    const embed = await post(ollama.url, "/api/embed", { model: "all-minilm", input: "pump" });
    expect([embed.status, JSON.parse(embed.text)]).toEqual([404, { error: "model 'all-minilm' not found" }]);
    expect((await remove({ name: "all-minilm" })).status).toBe(404);
    expect(await remove({})).toEqual({ status: 400, text: JSON.stringify({ error: "model is required" }) });
  });
});
