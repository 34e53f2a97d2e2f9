import OpenAI from "openai";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeys } from "@herd/access";
import { ApiEnv, ConfigError, loadConfig, toApiConfig } from "@herd/config";
import { testRedis, uniquePrefix } from "@herd/testing";
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

  it("lets liveness and readiness through without a key", async () => {
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    expect((await fetch(`${stack.url}/ready`)).status).toBe(200);
  });

  it("serves a valid key on the native API and both drop-in APIs", async () => {
    const ok = await post("/v1/jobs?wait=10000", embed, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: token, maxRetries: 0 });
    expect((await openai.embeddings.create({ model: "nomic-embed-text", input: "pump", encoding_format: "float" })).data[0]?.embedding).toHaveLength(768);
    const ollama = new Ollama({ host: stack.url, headers: { authorization: `Bearer ${token}` } });
    expect((await ollama.embed({ model: "nomic-embed-text", input: "pump" })).embeddings).toHaveLength(1);
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
