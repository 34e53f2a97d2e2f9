import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

describe("bad input", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({
      prefix: uniquePrefix("bad"),
      fleet: { instances: 1, preload: true },
      env: { HERD_MAX_INPUTS: "4", HERD_MAX_INPUT_CHARS: "100", HERD_MAX_BODY_BYTES: "4096", HERD_MAX_WAIT: "2000" },
    });
  });
  afterAll(() => stack?.close());

  const embed = { type: "embed", model: "nomic-embed-text", input: "fine" };
  const cases: Array<{ name: string; path?: string; body: unknown; contentType?: string; status: number; code: string; mentions?: string }> = [
    { name: "invalid JSON", body: "{ not json", status: 400, code: "invalid_json", mentions: "JSON" },
    { name: "a JSON array", body: "[1,2]", status: 400, code: "invalid_request", mentions: "body" },
    { name: "a JSON string", body: '"embed"', status: 400, code: "invalid_request", mentions: "JSON object" },
    { name: "JSON null", body: "null", status: 400, code: "invalid_request", mentions: "JSON object" },
    { name: "a JSON number", body: " 42 ", status: 400, code: "invalid_request", mentions: "JSON object" },
    { name: "missing type", body: { model: "x", input: "y" }, status: 400, code: "invalid_request", mentions: "type" },
    { name: "unknown job type", body: { type: "transcribe", model: "x" }, status: 400, code: "unknown_job_type", mentions: "transcribe" },
    { name: "type of the wrong type", body: { type: 7, model: "x" }, status: 400, code: "unknown_job_type" },
    { name: "missing model", body: { type: "embed", input: "y" }, status: 400, code: "invalid_request", mentions: "model" },
    { name: "model not a string", body: { type: "embed", model: 42, input: "y" }, status: 400, code: "invalid_request", mentions: "model" },
    { name: "input of the wrong type", body: { type: "embed", model: "nomic-embed-text", input: 5 }, status: 400, code: "invalid_request", mentions: "input" },
    { name: "input array with a number", body: { type: "embed", model: "nomic-embed-text", input: ["a", 1] }, status: 400, code: "invalid_request", mentions: "input.1" },
    { name: "empty input string", body: { ...embed, input: "" }, status: 400, code: "empty_input", mentions: "input" },
    { name: "empty input array", body: { ...embed, input: [] }, status: 400, code: "empty_input" },
    { name: "blank input in an array", body: { ...embed, input: ["ok", "  "] }, status: 400, code: "empty_input", mentions: "input[1]" },
    { name: "too many inputs", body: { ...embed, input: ["a", "b", "c", "d", "e"] }, status: 413, code: "too_many_inputs" },
    { name: "input too long", body: { ...embed, input: "x".repeat(101) }, status: 413, code: "input_too_large" },
    { name: "body too large", body: { ...embed, input: "x".repeat(5000) }, status: 413, code: "payload_too_large" },
    { name: "unknown field", body: { ...embed, colour: "red" }, status: 400, code: "invalid_request", mentions: "colour" },
    // Another API's name for a field says which one is meant, even where ours is then missing.
    { name: "OpenAI's temperature", body: { type: "generate", model: "llama3.2", prompt: "hi", temperature: 0 }, status: 400, code: "invalid_request", mentions: 'body: unknown field "temperature" (did you mean "options.temperature"?)' },
    { name: "limit for k", path: "/v1/collections/manuals/search", body: { query: "seal", limit: 3 }, status: 400, code: "invalid_request", mentions: 'body: unknown field "limit" (did you mean "k"?)' },
    { name: "query for question", path: "/v1/collections/manuals/answer", body: { query: "Why?", model: "llama3.2" }, status: 400, code: "invalid_request", mentions: 'body: unknown field "query" (did you mean "question"?)' },
    { name: "two unknown fields", body: { ...embed, colour: "red", text: "x" }, status: 400, code: "invalid_request", mentions: 'unknown fields "colour", "text" (did you mean "input"?)' },
    { name: "a generation's input", body: { type: "generate", model: "llama3.2", input: "hi" }, status: 400, code: "invalid_request", mentions: 'unknown field "input" (did you mean "prompt"?)' },
    { name: "bad dimensions", body: { ...embed, dimensions: -3 }, status: 400, code: "invalid_request", mentions: "dimensions" },
    { name: "bad priority", body: { ...embed, priority: "urgent" }, status: 400, code: "invalid_request", mentions: "priority" },
    { name: "both prompt and messages", body: { type: "generate", model: "llama3.2", prompt: "a", messages: [] }, status: 400, code: "invalid_request", mentions: "prompt" },
    { name: "neither prompt nor messages", body: { type: "generate", model: "llama3.2" }, status: 400, code: "invalid_request", mentions: "prompt" },
    { name: "bad message role", body: { type: "generate", model: "llama3.2", messages: [{ role: "wizard", content: "hi" }] }, status: 400, code: "invalid_request", mentions: "messages.0.role" },
    { name: "tools with a prompt", body: { type: "generate", model: "llama3.2", prompt: "hi", tools: [{ type: "function", function: { name: "f" } }] }, status: 400, code: "invalid_request", mentions: "tools" },
    { name: "tool without a name", body: { type: "generate", model: "llama3.2", messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { description: "d" } }] }, status: 400, code: "invalid_request", mentions: "tools.0.function.name" },
    { name: "tool call arguments not an object", body: { type: "generate", model: "llama3.2", messages: [{ role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: "{}" } }] }] }, status: 400, code: "invalid_request", mentions: "messages.0.tool_calls.0.function.arguments" },
    { name: "prompt too long", body: { type: "generate", model: "llama3.2", prompt: "y".repeat(101) }, status: 413, code: "input_too_large", mentions: "prompt" },
    { name: "unserved model", body: { ...embed, model: "mxbai-embed-large" }, status: 404, code: "model_not_served", mentions: "nomic-embed-text:latest" },
    { name: "embedding with a generation-only model", body: { ...embed, model: "llama3.2" }, status: 404, code: "model_not_served" },
    { name: "generation with an embedding model", body: { type: "generate", model: "nomic-embed-text", prompt: "hi" }, status: 404, code: "model_not_served" },
    { name: "wait not a number", path: "/v1/jobs?wait=soon", body: embed, status: 400, code: "invalid_wait" },
    { name: "negative wait", path: "/v1/jobs?wait=-5", body: embed, status: 400, code: "invalid_wait" },
    { name: "wrong content type", body: JSON.stringify(embed), contentType: "text/plain", status: 415, code: "unsupported_media_type" },
  ];

  it.each(cases)("$name → $status $code", async ({ path, body, contentType, status, code, mentions }) => {
    const response = await fetch(`${stack.url}${path ?? "/v1/jobs"}`, {
      method: "POST",
      headers: { "content-type": contentType ?? "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    const payload = (await response.json()) as { error: { code: string; message: string } };
    expect(payload.error.code).toBe(code);
    expect(typeof payload.error.message).toBe("string");
    if (mentions) expect(payload.error.message).toContain(mentions);
  });

  it("lists the served models when a model is not served", async () => {
    const response = await stack.post("/v1/jobs", { ...embed, model: "nope" });
    expect(response.body.error.served).toEqual(["all-minilm:latest", "nomic-embed-text:latest"]);
  });

  it("answers unknown routes and methods with JSON errors", async () => {
    const unknown = await stack.get("/v2/everything");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    const wrongMethod = await fetch(`${stack.url}/v1/jobs`, { method: "PUT" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect(((await wrongMethod.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    for (const [path, allow] of [["/v1/ingestions/ing_x", "GET, DELETE"], ["/v1/collections/c/documents/a/b.md", "GET, DELETE"], ["/v1/collections/c", "GET, DELETE"]] as const) {
      const response = await fetch(`${stack.url}${path}`, { method: "PATCH" });
      expect([response.status, response.headers.get("allow")], path).toEqual([405, allow]);
    }
  });

  it("answers 404 for unknown, malformed and expired job ids", async () => {
    for (const id of ["nope", "embed.bm9uZQ.0123456789abcdef01234567", "embed.%00.x"]) {
      const response = await stack.get(`/v1/jobs/${id}`);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe("job_not_found");
    }
  });

  it("clamps wait to the configured maximum instead of hanging", async () => {
    const response = await stack.get("/v1/jobs/embed.bm9taWMtZW1iZWQtdGV4dDpsYXRlc3Q.0123456789abcdef01234567?wait=999999");
    expect(response.status).toBe(404);
  });
});
