import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeys } from "@herd/access";
import { ApiEnv, ConfigError, loadConfig, toApiConfig } from "@herd/config";
import { testRedis, uniquePrefix } from "@herd/testing";
import { createLogger } from "@herd/logger";
import { createApiRuntime } from "../src/runtime.js";
import { Stack } from "./stack.js";

describe("API keys (HERD_AUTH=keys)", () => {
  const prefix = uniquePrefix("auth");
  const redis = testRedis();
  let stack: Stack;
  let token = "";
  let keys: ApiKeys;

  beforeAll(async () => {
    stack = await Stack.start({ prefix, fleet: { instances: 1, preload: true }, env: { HERD_AUTH: "keys", HERD_KEY_CACHE: "0" } });
    keys = new ApiKeys(redis, prefix, 0);
    token = (await keys.create({ name: "team-a" })).token;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    redis.disconnect();
  });

  const embed = { type: "embed", model: "nomic-embed-text", input: "hydraulic pump" };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  it("refuses requests without a key or with a wrong one, in each API's own error shape", async () => {
    const missing = await post("/v1/jobs", embed);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="Herd"');
    expect(await missing.json()).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("Authorization: Bearer") } });
    const wrong = await post("/v1/jobs", embed, { authorization: "Bearer herd_000000000000_" + "x".repeat(43) });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe("the API key is unknown or revoked");
    const ollama = await post("/api/embed", { model: "nomic-embed-text", input: "x" });
    expect(ollama.status).toBe(401);
    expect(await ollama.json()).toEqual({ error: expect.any(String) });
    await expect(new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: "wrong", maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401, type: "authentication_error" });
    for (const path of ["/v1/collections", "/v1/fleet", "/api/tags", "/api/load-balancer-stats", "/v1/no-such-route"]) {
      expect((await fetch(`${stack.url}${path}`)).status, path).toBe(401);
    }
  });

  it("lets liveness and readiness through without a key, with security headers on every answer", async () => {
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("x-content-type-options")).toBe("nosniff");
    expect(health.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(health.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(health.headers.get("x-powered-by")).toBeNull();
    expect((await fetch(`${stack.url}/v1/jobs`)).headers.get("x-content-type-options")).toBe("nosniff");
    expect((await fetch(`${stack.url}/ready`)).status).toBe(200);
  });

  it("serves a valid key on the native API and every drop-in API", async () => {
    const ok = await post("/v1/jobs?wait=10000", embed, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: token, maxRetries: 0 });
    expect((await openai.embeddings.create({ model: "nomic-embed-text", input: "pump", encoding_format: "float" })).data[0]?.embedding).toHaveLength(768);
    const ollama = new Ollama({ host: stack.url, headers: { authorization: `Bearer ${token}` } });
    expect((await ollama.embed({ model: "nomic-embed-text", input: "pump" })).embeddings).toHaveLength(1);
    // Anthropic's client sends its key as x-api-key; a wrong one gets Anthropic's error shape.
    const message = await new Anthropic({ baseURL: stack.url, apiKey: token, maxRetries: 0 }).messages.create({ model: "llama3.2", max_tokens: 8, messages: [{ role: "user", content: "Why bleed the pump?" }] });
    expect(message.type).toBe("message");
    await expect(new Anthropic({ baseURL: stack.url, apiKey: "wrong", maxRetries: 0 }).messages.create({ model: "llama3.2", max_tokens: 8, messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
      status: 401,
      error: { type: "error", error: { type: "authentication_error", message: "the API key is unknown or revoked" } },
    });
  });

  it("limits a key's requests across API processes with 429 and Retry-After, other keys unaffected", async () => {
    const { token: limited } = await keys.create({ name: "team-rate", rate: { requests: 3, perSeconds: 60 } });
    // A second API process (same Redis, same prefix) shares the key's counter.
    const second = await createApiRuntime(stack.apiConfig, createLogger({ name: "api-2", level: "silent", format: "json" }));
    const { url: secondUrl } = await second.listen(0, "127.0.0.1");
    try {
      const get = (url: string, key: string) => fetch(`${url}/v1/fleet`, { headers: { authorization: `Bearer ${key}` } });
      const statuses = [];
      for (const url of [stack.url, secondUrl, stack.url]) statuses.push((await get(url, limited)).status);
      expect(statuses).toEqual([200, 200, 200]);
      const refused = await get(secondUrl, limited);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
      const ollama = await fetch(`${stack.url}/api/tags`, { headers: { authorization: `Bearer ${limited}` } });
      expect(ollama.status).toBe(429);
      expect(await ollama.json()).toEqual({ error: expect.stringContaining("limited to 3 requests") });
      expect((await get(stack.url, token)).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it("keeps /metrics closed to keys (and to everyone) until an admin password is set", async () => {
    const withKey = await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(withKey.status).toBe(404);
    expect(((await withKey.json()) as { error: { code: string } }).error.code).toBe("metrics_disabled");
  });

  it("stops accepting a key once it is revoked", async () => {
    const { token: doomed, key } = await keys.create({ name: "team-z" });
    expect((await post("/v1/jobs?wait=10000", embed, { authorization: `Bearer ${doomed}` })).status).toBe(200);
    await keys.revoke(key.id);
    expect((await post("/v1/jobs?wait=10000", embed, { authorization: `Bearer ${doomed}` })).status).toBe(401);
  });
});

describe("open mode", () => {
  it("is refused at start-up unless the API listens on loopback", () => {
    expect(() => loadConfig(ApiEnv, toApiConfig, { HERD_AUTH: "open", HOST: "0.0.0.0" })).toThrow(ConfigError);
    expect(() => loadConfig(ApiEnv, toApiConfig, { HERD_AUTH: "open", HOST: "0.0.0.0" })).toThrow(/HERD_AUTH/);
    expect(loadConfig(ApiEnv, toApiConfig, { HERD_AUTH: "open", HOST: "127.0.0.1" }).auth.mode).toBe("open");
    expect(loadConfig(ApiEnv, toApiConfig, { HOST: "::1", HERD_AUTH: "open" }).auth.mode).toBe("open");
    // Keys are the default, wherever the API listens.
    expect(loadConfig(ApiEnv, toApiConfig, {}).auth.mode).toBe("keys");
  });
});
