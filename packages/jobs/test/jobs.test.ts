import { describe, expect, it } from "vitest";
import { GenerateJobData, JobRequest, countImages, createJobId, isBase64, withoutImages, decodeFailure, decodeReply, encodeFailure, encodeReply, jobOptions, normalizeModel, parseJobId, parseQueueName, queueName } from "../src/index.js";

describe("job catalog helpers", () => {
  it("normalises model names the way Ollama resolves them", () => {
    expect(normalizeModel("llama3.2")).toBe("llama3.2:latest");
    expect(normalizeModel("llama3.2:3b")).toBe("llama3.2:3b");
    expect(normalizeModel("registry.local:5000/team/model")).toBe("registry.local:5000/team/model:latest");
  });

  it("encodes model names in queue names without BullMQ's ':' separator", () => {
    const name = queueName("embed", "nomic-embed-text");
    expect(name).toBe("embed.nomic-embed-text~3Alatest");
    expect(name).not.toContain(":");
    expect(parseQueueName(name)).toEqual({ kind: "embed", model: "nomic-embed-text:latest" });
    // No "%": URL-based tools decode queue names one time too many.
    for (const model of ["registry.local:5000/team/model~x", "über(1)!:q*", "a%3Ab"]) {
      const escaped = queueName("generate", model);
      expect(escaped).toMatch(/^generate\.[A-Za-z0-9._~-]+$/);
      expect(parseQueueName(escaped)).toEqual({ kind: "generate", model: normalizeModel(model) });
    }
  });

  it("round-trips job ids to their queue", () => {
    const id = createJobId("generate", "llama3.2");
    expect(id).not.toMatch(/[:/]/);
    expect(parseJobId(id)).toEqual({ kind: "generate", model: "llama3.2:latest", queue: "generate.llama3.2~3Alatest" });
    expect(parseJobId("generate.bGxhbWEzLjI.0123456789abcdef01234567")).toBeUndefined();
    expect(parseJobId("1234")).toBeUndefined();
  });

  it("gives every job a distinct id with 24 random hex digits, none of them fixed", () => {
    const randomParts = Array.from({ length: 2000 }, () => createJobId("embed", "nomic-embed-text").split(".")[2] ?? "");
    expect(new Set(randomParts).size).toBe(randomParts.length);
    for (const part of randomParts) expect(part).toMatch(/^[0-9a-f]{24}$/);
    // A UUID's version digit (always 4) or variant digit (8 to b) would show as a position with 1 or 4 values.
    for (let position = 0; position < 24; position += 1) expect(new Set(randomParts.map((part) => part[position])).size).toBe(16);
  });

  it("keeps failure codes through BullMQ's failedReason string", () => {
    expect(decodeFailure(encodeFailure({ code: "timeout", message: "late", instance: "gpu1" }))).toEqual({ code: "timeout", message: "late", instance: "gpu1" });
    expect(decodeFailure("job stalled more than allowable limit")).toEqual({ code: "stalled", message: "job stalled more than allowable limit" });
    expect(decodeFailure(undefined).code).toBe("internal");
  });

  it("gives every job an explicit priority and bounded retention", () => {
    const policy = { retentionMs: 60_000, retentionCount: 100, attempts: 3, backoffMs: 100 };
    expect(jobOptions(policy, "interactive")).toMatchObject({ priority: 1, attempts: 3, removeOnComplete: { age: 60, count: 100 }, removeOnFail: { age: 60, count: 100 } });
    expect(jobOptions(policy, "batch").priority).toBe(10);
  });

  it("validates requests", () => {
    expect(JobRequest.safeParse({ type: "embed", model: "m", input: ["a", "b"] }).success).toBe(true);
    expect(JobRequest.safeParse({ type: "generate", model: "m", messages: [{ role: "user", content: "hi" }] }).success).toBe(true);
    expect(JobRequest.safeParse({ type: "generate", model: "m" }).success).toBe(false);
    expect(JobRequest.safeParse({ type: "embed", model: "bad model!", input: "a" }).success).toBe(false);
  });

  it("takes a suffix and raw on a prompt only, and raw without a system prompt", () => {
    const issue = (request: Record<string, unknown>) => {
      const parsed = JobRequest.safeParse({ type: "generate", model: "m", ...request });
      return parsed.success ? undefined : { path: parsed.error.issues[0]?.path.join("."), message: parsed.error.issues[0]?.message };
    };
    expect(issue({ prompt: "def f(", suffix: ")\n", raw: true })).toBeUndefined();
    const chat = { messages: [{ role: "user", content: "hi" }] };
    expect(issue({ ...chat, suffix: "x" })).toEqual({ path: "suffix", message: expect.stringContaining("/api/generate only") });
    expect(issue({ ...chat, raw: true })).toEqual({ path: "raw", message: expect.stringContaining("prompt") });
    expect(issue({ prompt: "p", raw: true, system: "s" })).toEqual({ path: "raw", message: "raw mode does not support template, system, or context" });
    // Go's zero values say nothing: an empty suffix on a chat, raw false with a system prompt.
    expect(issue({ ...chat, suffix: "", raw: false })).toBeUndefined();
    expect(issue({ prompt: "p", raw: false, system: "s" })).toBeUndefined();
    expect(issue({ prompt: "p", suffix: 3 })).toEqual({ path: "suffix", message: expect.any(String) });
  });
});

describe("images", () => {
  it("accepts base64 as Go decodes it, and checks a multi-megabyte image without blowing the stack", () => {
    for (const valid of ["", "AAAA", "AA==", "AAA=", "AA\r\nAA"]) expect(isBase64(valid), valid).toBe(true);
    for (const invalid of ["A===", "AA=A", "AAA", "AA$A", "=AAA", "AAAA====", "data:image/png;base64,AAAA"]) expect(isBase64(invalid), invalid).toBe(false);
    const large = Buffer.alloc(6 * 1024 * 1024, 7).toString("base64");
    expect(isBase64(large)).toBe(true);
    expect(isBase64(`${large.slice(0, -4)}AA$=`)).toBe(false);
    expect(JobRequest.safeParse({ type: "generate", model: "gemma3", prompt: "x", images: [large] }).success).toBe(true);
    expect(JobRequest.safeParse({ type: "generate", model: "gemma3", prompt: "x", images: [""] }).success).toBe(false);
  });

  it("drops a finished job's images, keeping their count, and leaves a job without images alone", () => {
    const data = GenerateJobData.parse({
      model: "gemma3:latest",
      requestModel: "gemma3",
      mode: "chat",
      messages: [{ role: "user", content: "a", images: ["AAAA", "BBBB"] }, { role: "assistant", content: "b" }, { role: "user", content: "c", images: ["CCCC"] }],
      cacheKey: null,
    });
    expect(countImages(data)).toBe(3);
    const released = withoutImages(data);
    expect(released?.imagesReleased).toBe(3);
    expect(released?.messages).toEqual([{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }]);
    expect(countImages(released ?? data)).toBe(0);
    expect(withoutImages({ ...data, messages: [{ role: "user", content: "a" }] })).toBeUndefined();
    expect(withoutImages({ ...data, mode: "generate", messages: undefined, prompt: "p", images: ["AAAA"] })).toMatchObject({ prompt: "p", imagesReleased: 1 });
  });
});

describe("job replies", () => {
  it("round-trips a header and a result, and refuses what is not a reply", () => {
    const header = { jobId: "embed~m~abc", attempts: 2, instance: "ollama-1", timestamp: 1, processedOn: 5, finishedOn: 9 };
    const result = '{"model":"m","embeddings":[[0.1,-0.2]],"note":"a\\nb"}';
    const decoded = decodeReply(Buffer.from(encodeReply(header, result)));
    expect(decoded?.header).toEqual(header);
    expect(decoded?.result.toString("utf8")).toBe(result);
    expect(decodeReply(Buffer.from("no newline"))).toBeUndefined();
    expect(decodeReply(Buffer.from("not json\n{}"))).toBeUndefined();
    expect(decodeReply(Buffer.from(`${JSON.stringify({ ...header, attempts: "2" })}\n{}`))).toBeUndefined();
    const failure = decodeReply(Buffer.from(encodeReply({ ...header, failed: true }, "")));
    expect(failure?.header.failed).toBe(true);
    expect(failure?.result.length).toBe(0);
    expect(decodeReply(Buffer.from(`${JSON.stringify({ ...header, failed: "yes" })}\n`))).toBeUndefined();
    // A completion's timing in the worker travels along; a malformed one is dropped, not the reply.
    const timing = { slotWaitMs: 0.5, ollamaMs: 10.25, workerMs: 0.4 };
    expect(decodeReply(Buffer.from(encodeReply({ ...header, timing }, result)))?.header.timing).toEqual(timing);
    const badTiming = decodeReply(Buffer.from(`${JSON.stringify({ ...header, timing: { ...timing, ollamaMs: -1 } })}\n${result}`));
    expect(badTiming?.header.timing).toBeUndefined();
    expect(badTiming?.result.toString("utf8")).toBe(result);
  });
});
