import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePng } from "@herd/testing";
import { completeModelSpec, DEFAULT_MODELS, EmulatorInstance } from "../src/index.js";
import { post } from "./http.js";

type Answer = { response?: string; message?: { content: string }; prompt_eval_count?: number; error?: string };

describe("emulator: images for vision models", () => {
  let ollama: EmulatorInstance;
  const png = makePng(3, 2).toString("base64");
  beforeAll(async () => {
    ollama = await new EmulatorInstance({ models: [...DEFAULT_MODELS, completeModelSpec({ name: "gemma3", capabilities: ["completion", "vision"] })] }).listen();
  });
  afterAll(() => ollama.close());

  const ask = async (path: "/api/generate" | "/api/chat", body: Record<string, unknown>) => {
    const answer = await post(ollama.url, path, { stream: false, ...body });
    return { status: answer.status, body: JSON.parse(answer.text) as Answer };
  };

  it("sees what each image is, on /api/generate and /api/chat, and counts its tokens", async () => {
    const plain = await ask("/api/generate", { model: "gemma3", prompt: "What is on the label?" });
    const seen = await ask("/api/generate", { model: "gemma3", prompt: "What is on the label?", images: [png] });
    expect(seen.status).toBe(200);
    expect(seen.body.response).toBe(`I see one image: image 1 is a 3x2 PNG picture of ${makePng(3, 2).length} bytes. ${plain.body.response}`);
    expect(seen.body.prompt_eval_count).toBe((plain.body.prompt_eval_count ?? 0) + 256);
    const gif = Buffer.from("GIF89a\x05\x00\x04\x00\x00\x00\x00", "latin1").toString("base64");
    const chat = await ask("/api/chat", { model: "gemma3", messages: [{ role: "user", content: "Compare these.", images: [png] }, { role: "user", content: "And this?", images: [gif] }] });
    expect(chat.body.message?.content).toMatch(/^I see 2 images: image 1 is a 3x2 PNG picture of \d+ bytes; image 2 is a 5x4 GIF picture of 13 bytes\. /);
  });

  it("fails images on a model without vision, and unreadable images, with the runner's 500", async () => {
    const blind = await ask("/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "What is this?", images: [png] }] });
    expect(blind).toEqual({ status: 500, body: { error: "Failed to create new sequence: failed to process inputs: this model is missing data required for image input" } });
    const text = await ask("/api/generate", { model: "gemma3", prompt: "What is this?", images: [Buffer.from("not an image").toString("base64")] });
    expect(text).toEqual({ status: 500, body: { error: "Failed to create new sequence: failed to process inputs: image: unknown format" } });
    const empty = await ask("/api/generate", { model: "gemma3", prompt: "What is this?", images: [""] });
    expect(empty.body.error).toBe("Failed to create new sequence: failed to process inputs: received zero length image");
  });

  it("refuses what Go's JSON decoder refuses: bad base64 and wrong types, with a 400", async () => {
    expect(await ask("/api/generate", { model: "gemma3", prompt: "x", images: ["abc$"] })).toEqual({ status: 400, body: { error: "illegal base64 data at input byte 3" } });
    expect(await ask("/api/generate", { model: "gemma3", prompt: "x", images: ["abcde"] })).toEqual({ status: 400, body: { error: "illegal base64 data at input byte 4" } });
    expect((await ask("/api/generate", { model: "gemma3", prompt: "x", images: [7] })).status).toBe(400);
    expect((await ask("/api/chat", { model: "gemma3", messages: [{ role: "user", content: "x", images: "abcd" }] })).status).toBe(400);
    // Line breaks inside base64 are skipped, as Go's decoder skips them.
    const wrapped = png.replace(/(.{20})/g, "$1\r\n");
    expect((await ask("/api/generate", { model: "gemma3", prompt: "What is on the label?", images: [wrapped] })).body.response).toMatch(/^I see one image: image 1 is a 3x2 PNG/);
  });
});
