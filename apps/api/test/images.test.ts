import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeModelSpec, DEFAULT_MODELS } from "@herd/ollama-emulator";
import { queueName } from "@herd/jobs";
import { makePng, uniquePrefix, waitFor } from "@herd/testing";
import { Stack } from "./stack.js";

const QUESTION = "What does the gauge read?";

/** Images for a vision model (gemma3 in the emulated fleet) through every door, checked against the instance itself. */
describe("images through the queue", () => {
  let stack: Stack;
  let herd: Ollama;
  let direct: Ollama;
  const png = makePng(3, 2).toString("base64");
  const otherPng = makePng(4, 4).toString("base64");

  beforeAll(async () => {
    const models = [...DEFAULT_MODELS, completeModelSpec({ name: "gemma3", capabilities: ["completion", "vision"] })];
    stack = await Stack.start({ prefix: uniquePrefix("images"), fleet: { instances: 1, preload: true, models }, waitHealthy: true });
    herd = new Ollama({ host: stack.url });
    direct = new Ollama({ host: stack.fleet.instances[0]?.url ?? "" });
  }, 60_000);
  afterAll(() => stack?.close());

  /** The job's data as BullMQ holds it in Redis. */
  const jobData = async (id: string) => (await stack.api.queues.queue(queueName("generate", "gemma3:latest")).getJob(id))?.data as Record<string, unknown> | undefined;

  it("runs a prompt's images on the vision model, caches by image, and drops them from Redis once done", async () => {
    const expected = await direct.generate({ model: "gemma3", prompt: QUESTION, images: [png], options: { temperature: 0 }, stream: false });
    expect(expected.response).toMatch(/^I see one image: image 1 is a 3x2 PNG/);
    const done = await stack.run({ type: "generate", model: "gemma3", prompt: QUESTION, images: [png], options: { temperature: 0 } });
    expect(done).toMatchObject({ status: "completed", result: { response: expected.response } });
    // The images are most of the job's size: gone from its data once it finished, the count kept.
    await waitFor(async () => (await jobData(done.id))?.["imagesReleased"] === 1, { message: "the finished job's images released" });
    const data = await jobData(done.id);
    expect(data?.["images"]).toBeUndefined();
    expect(data?.["prompt"]).toBe(QUESTION);
    // Retried by hand (Bull Board's retry), it fails saying why instead of answering without its image.
    await (await stack.api.queues.queue(queueName("generate", "gemma3:latest")).getJob(done.id))?.retry("completed");
    const retried = await waitFor(async () => {
      const view = await stack.get(`/v1/jobs/${done.id}`);
      return view.body.status === "failed" ? view.body : undefined;
    }, { message: "the retried job to fail" });
    expect(retried.error).toEqual({ code: "bad_request", message: "this job finished before and its 1 image(s) were released; submit the request again" });

    const calls = stack.emulatorRequests("gemma3:latest");
    const again = await stack.post("/v1/jobs", { type: "generate", model: "gemma3", prompt: QUESTION, images: [png], options: { temperature: 0 } });
    expect(again).toMatchObject({ status: 200, body: { cached: true, result: { response: expected.response } } });
    const other = await stack.run({ type: "generate", model: "gemma3", prompt: QUESTION, images: [otherPng], options: { temperature: 0 } });
    expect(other.result.response).toMatch(/^I see one image: image 1 is a 4x4 PNG/);
    const none = await stack.run({ type: "generate", model: "gemma3", prompt: QUESTION, options: { temperature: 0 } });
    expect(none.result.response).not.toMatch(/I see/);
    expect(stack.emulatorRequests("gemma3:latest")).toBe(calls + 2);
  });

  it("passes each chat message's images, and drops them all once done", async () => {
    const messages = [
      { role: "user" as const, content: "Here is the old gauge.", images: [png] },
      { role: "assistant" as const, content: "Noted." },
      { role: "user" as const, content: QUESTION, images: [otherPng] },
    ];
    const expected = await direct.chat({ model: "gemma3", messages, stream: false });
    const done = await stack.run({ type: "generate", model: "gemma3", messages });
    expect(done.result.message).toEqual({ role: "assistant", content: expected.message.content });
    expect(done.result.message.content).toMatch(/^I see 2 images: image 1 is a 3x2 PNG .*; image 2 is a 4x4 PNG/);
    await waitFor(async () => (await jobData(done.id))?.["imagesReleased"] === 2, { message: "the finished chat's images released" });
    expect(((await jobData(done.id))?.["messages"] as Array<Record<string, unknown>>).map((message) => message["images"])).toEqual([undefined, undefined, undefined]);
  });

  it("takes a multi-megabyte image within the body limit, and refuses a larger body with 413", async () => {
    const large = Buffer.concat([makePng(640, 480), randomBytes(4 * 1024 * 1024)]);
    const done = await stack.run({ type: "generate", model: "gemma3", prompt: QUESTION, images: [large.toString("base64")] });
    expect(done.result.response).toMatch(new RegExp(`^I see one image: image 1 is a 640x480 PNG picture of ${large.length} bytes\\.`));
    await waitFor(async () => (await jobData(done.id))?.["imagesReleased"] === 1, { message: "the large image released" });
    const tooLarge = await stack.post("/v1/jobs", { type: "generate", model: "gemma3", prompt: QUESTION, images: [randomBytes(7 * 1024 * 1024).toString("base64")] });
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: "payload_too_large" } } });
  });

  it("refuses images, tools and thinking for a model whose instances do not list them, before queueing (no model load)", async () => {
    const calls = stack.emulatorRequests("llama3.2:latest");
    const blind = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", prompt: QUESTION, images: [png] });
    expect(blind).toMatchObject({ status: 400, body: { error: { code: "unsupported_capability", message: '"llama3.2:latest" does not support images (no vision): its instances list completion, tools' } } });
    const thinking = await stack.post("/v1/jobs", { type: "generate", model: "llama3.2", messages: [{ role: "user", content: QUESTION }], think: "low" });
    expect(thinking).toMatchObject({ status: 400, body: { error: { code: "unsupported_capability", message: expect.stringContaining("does not support thinking") } } });
    const tools = [{ type: "function", function: { name: "read_gauge" } }];
    const toolless = await stack.post("/v1/jobs", { type: "generate", model: "gemma3", messages: [{ role: "user", content: QUESTION }], tools });
    expect(toolless).toMatchObject({ status: 400, body: { error: { code: "unsupported_capability", message: expect.stringContaining("does not support tools") } } });
    const fleet = (await stack.get("/v1/fleet")).body as { models: Array<{ model: string; capabilities?: string[] }> };
    expect(fleet.models.find((served) => served.model === "gemma3:latest")?.capabilities).toEqual(["completion", "vision"]);
    // think: false asks for nothing.
    expect((await stack.run({ type: "generate", model: "llama3.2", prompt: QUESTION, think: false })).status).toBe("completed");
    expect(stack.emulatorRequests("llama3.2:latest")).toBe(calls + 1);
  });

  it("refuses bad images before queueing them, naming the field", async () => {
    const bad = await stack.post("/v1/jobs", { type: "generate", model: "gemma3", prompt: QUESTION, images: ["data:image/png;base64,iVBO"] });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "invalid_request", message: expect.stringContaining("images.0") } } });
    const chat = await stack.post("/v1/jobs", { type: "generate", model: "gemma3", messages: [{ role: "user", content: "x", images: ["abc"] }] });
    expect(chat.body.error.message).toContain("messages.0.images.0");
    const beside = await stack.post("/v1/jobs", { type: "generate", model: "gemma3", messages: [{ role: "user", content: "x" }], images: [png] });
    expect(beside).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("images") } } });
  });

  it("hands Ollama clients' images through /api/generate and /api/chat as Ollama answers them", async () => {
    const bytes = makePng(3, 2);
    const generated = await herd.generate({ model: "gemma3", prompt: QUESTION, images: [bytes], stream: false });
    expect(generated.response).toBe((await direct.generate({ model: "gemma3", prompt: QUESTION, images: [bytes], stream: false })).response);
    const chatted = await herd.chat({ model: "gemma3", messages: [{ role: "user", content: QUESTION, images: [png] }], stream: false });
    expect(chatted.message.content).toBe((await direct.chat({ model: "gemma3", messages: [{ role: "user", content: QUESTION, images: [png] }], stream: false })).message.content);
    await expect(herd.generate({ model: "llama3.2", prompt: QUESTION, images: [png], stream: false })).rejects.toMatchObject({ status_code: 400, error: expect.stringContaining("does not support images") });
  });

  it("takes OpenAI image_url parts as data URLs, and refuses remote URLs", async () => {
    const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "not-needed", maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: "gemma3",
      messages: [{ role: "user", content: [{ type: "text", text: QUESTION }, { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    const expected = await direct.chat({ model: "gemma3", messages: [{ role: "user", content: QUESTION, images: [png] }], stream: false });
    expect(completion.choices[0]?.message.content).toBe(expected.message.content);
    const remote = openai.chat.completions.create({ model: "gemma3", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/gauge.png" } }] }] });
    await expect(remote).rejects.toMatchObject({ status: 400, error: { code: "unsupported_field", param: "messages.0.content.0.image_url" } });
    const gif = openai.chat.completions.create({ model: "gemma3", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/gif;base64,R0lGODlh" } }] }] });
    await expect(gif).rejects.toMatchObject({ status: 400 });
  });
});
