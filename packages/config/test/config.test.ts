import { describe, expect, it } from "vitest";
import { hostname } from "node:os";
import { ApiEnv, ConfigError, StartEnv, WorkerEnv, defaultInstanceName, isLoopbackUrl, loadConfig, toApiConfig, toStartConfig, toWorkerConfig } from "../src/index.js";

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("API config", () => {
  it("has working defaults", () => {
    const config = loadConfig(ApiEnv, toApiConfig, {});
    expect(config).toMatchObject({
      port: 8008,
      host: "127.0.0.1",
      redisUrl: "redis://127.0.0.1:6379",
      cacheRedisUrl: "redis://127.0.0.1:6379",
      prefix: "herd",
      cacheTtlSeconds: { embedding: 604_800, inference: 86_400, chunk: 2_592_000 },
      jobs: { retentionMs: 3_600_000, attempts: 5 },
      limits: { maxWaitMs: 30_000 },
    });
  });

  it("parses durations, TTLs and a separate cache Redis", () => {
    const config = loadConfig(ApiEnv, toApiConfig, {
      PORT: "9000",
      HERD_CACHE_REDIS_URL: "redis://cache:6380",
      HERD_CACHE_INFERENCE_TTL: "off",
      HERD_CACHE_EMBEDDING_TTL: "2h",
      HERD_MAX_WAIT: "10s",
      HERD_JOB_RETENTION: "15m",
    });
    expect(config.port).toBe(9000);
    expect(config.cacheRedisUrl).toBe("redis://cache:6380");
    expect(config.cacheTtlSeconds).toMatchObject({ inference: 0, embedding: 7200 });
    expect(config.limits.maxWaitMs).toBe(10_000);
    expect(config.jobs.retentionMs).toBe(900_000);
  });

  it("fails at boot naming every bad field", () => {
    const issues = issuesOf(() =>
      loadConfig(ApiEnv, toApiConfig, { PORT: "eighty", REDIS_URL: "http://x", HERD_PREFIX: "a:b", HERD_CACHE_REDIS_URL: "nope", LOG_LEVEL: "loud", HERD_MAX_WAIT: "forever" }),
    );
    for (const field of ["PORT", "REDIS_URL", "HERD_PREFIX", "HERD_CACHE_REDIS_URL", "LOG_LEVEL", "HERD_MAX_WAIT"]) {
      expect(issues.some((issue) => issue.startsWith(`${field}:`)), field).toBe(true);
    }
  });
});

describe("HERD_MODEL_OPTIONS", () => {
  it("pins runner options per model, keyed by the normalised, lower-cased name", () => {
    expect(loadConfig(ApiEnv, toApiConfig, {}).modelOptions).toEqual({});
    const config = loadConfig(ApiEnv, toApiConfig, {
      HERD_MODEL_OPTIONS: JSON.stringify({
        "Llama3.2": { num_ctx: 8192, num_batch: 512, keep_alive: "24h" },
        "nomic-embed-text:v1.5": { num_ctx: 2048, use_mmap: false },
        "qwen3:8b": { num_gpu: -1, keep_alive: -1 },
        "all-minilm": { keep_alive: "1h30m" },
      }),
    });
    expect(config.modelOptions).toEqual({
      "llama3.2:latest": { options: { num_ctx: 8192, num_batch: 512 }, keepAlive: "24h" },
      "nomic-embed-text:v1.5": { options: { num_ctx: 2048, use_mmap: false } },
      "qwen3:8b": { options: { num_gpu: -1 }, keepAlive: -1 },
      "all-minilm:latest": { options: {}, keepAlive: "1h30m" },
    });
  });

  it("refuses anything but runner options and keep_alive of the right type, naming model and option", () => {
    const issuesFor = (value: string) => issuesOf(() => loadConfig(ApiEnv, toApiConfig, { HERD_MODEL_OPTIONS: value }));
    expect(issuesFor("{num_ctx: 8192}")[0]).toMatch(/^HERD_MODEL_OPTIONS: not valid JSON: /);
    expect(issuesFor('[{"num_ctx": 8192}]')).toEqual(['HERD_MODEL_OPTIONS: expected a JSON object from model name to pinned options, e.g. {"llama3.2": {"num_ctx": 8192, "keep_alive": "24h"}}']);
    expect(issuesFor('{"llama3.2": 8192}')).toEqual(['HERD_MODEL_OPTIONS: llama3.2: expected an object of runner options and keep_alive, e.g. {"num_ctx": 8192}']);
    expect(issuesFor('{"llama3.2": {"num_ctx": 8192, "temperature": 0}}')).toEqual([
      "HERD_MODEL_OPTIONS: llama3.2.temperature: only runner options and keep_alive can be pinned (num_ctx, num_batch, num_gpu, main_gpu, use_mmap, num_thread, keep_alive)",
    ]);
    // Go durations need a unit ("10" is not one, as Ollama answers such a request with a 400).
    for (const keepAlive of ['"10"', '"forever"', "true"]) {
      expect(issuesFor(`{"llama3.2": {"keep_alive": ${keepAlive}}}`)[0]).toMatch(/^HERD_MODEL_OPTIONS: llama3\.2\.keep_alive: /);
    }
    const typed = issuesFor('{"llama3.2": {"num_ctx": "8k"}, "all-minilm": {"use_mmap": 1, "num_ctx": 0}}');
    expect(typed).toHaveLength(3);
    expect(typed[0]).toMatch(/^HERD_MODEL_OPTIONS: llama3\.2\.num_ctx: /);
    expect(typed.filter((issue) => issue.startsWith("HERD_MODEL_OPTIONS: all-minilm.use_mmap: "))).toHaveLength(1);
    expect(typed.filter((issue) => issue.startsWith("HERD_MODEL_OPTIONS: all-minilm.num_ctx: "))).toHaveLength(1);
    expect(issuesFor('{"llama3.2": {"num_ctx": 4096}, "LLAMA3.2:latest": {"num_ctx": 8192}}')).toEqual([
      'HERD_MODEL_OPTIONS: "LLAMA3.2:latest" and "llama3.2" name the same model (llama3.2:latest)',
    ]);
    expect(issuesFor('{" ": {"num_ctx": 4096}}')).toEqual(["HERD_MODEL_OPTIONS: a model name is empty"]);
  });
});

describe("worker config", () => {
  it("requires at least one instance", () => {
    expect(issuesOf(() => loadConfig(WorkerEnv, toWorkerConfig, {}))).toEqual([
      "HERD_INSTANCES: at least one Ollama instance is required, e.g. HERD_INSTANCES=http://127.0.0.1:11434",
    ]);
  });

  it("accepts a comma-separated list of URLs", () => {
    const config = loadConfig(WorkerEnv, toWorkerConfig, { HERD_INSTANCES: "http://gpu1:11434, http://gpu2:11434/" });
    expect(config.instances).toEqual([
      { name: "gpu1-11434", url: "http://gpu1:11434", slots: undefined, models: {}, weight: 1 },
      { name: "gpu2-11434", url: "http://gpu2:11434", slots: undefined, models: {}, weight: 1 },
    ]);
    expect(config.defaultSlots).toBe(1);
  });

  it("names a loopback instance after the machine, so each GPU box's local Ollama keeps its own name", () => {
    const config = loadConfig(WorkerEnv, toWorkerConfig, { HERD_INSTANCES: "http://127.0.0.1:11434,http://localhost:11435" });
    const machine = hostname().replace(/[^A-Za-z0-9._-]/g, "_");
    expect(config.instances.map((instance) => instance.name)).toEqual([`${machine}-11434`, `${machine}-11435`]);
    expect(defaultInstanceName("http://127.0.0.1:11434", "gpu-box-3")).toBe("gpu-box-3-11434");
    expect(defaultInstanceName("http://[::1]:11434", "gpu box")).toBe("gpu_box-11434");
    expect(defaultInstanceName("http://gpu1:11434", "gpu-box-3")).toBe("gpu1-11434");
    for (const url of ["http://127.0.0.1:11434", "http://127.8.9.10", "http://localhost:1", "http://ollama.localhost", "http://[::1]:11434", "http://0.0.0.0:11434"]) expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of ["http://gpu1:11434", "http://10.0.0.5:11434", "http://[fe80::1]:11434", "http://128.0.0.1", "not a url"]) expect(isLoopbackUrl(url), url).toBe(false);
  });

  it("accepts JSON with names, slots, per-model slots and weights", () => {
    const config = loadConfig(WorkerEnv, toWorkerConfig, {
      HERD_INSTANCES: JSON.stringify([{ url: "http://gpu1:11434", name: "big", slots: 4, models: { "llama3.2": 8 }, weight: 2 }]),
      HERD_DEFAULT_SLOTS: "2",
    });
    expect(config.instances[0]).toEqual({ name: "big", url: "http://gpu1:11434", slots: 4, models: { "llama3.2": 8 }, weight: 2 });
  });

  it("names the bad entry of HERD_INSTANCES", () => {
    const issues = issuesOf(() => loadConfig(WorkerEnv, toWorkerConfig, { HERD_INSTANCES: JSON.stringify([{ url: "http://a:1" }, { url: "ftp://b", slots: 0 }]) }));
    expect(issues.join("\n")).toMatch(/HERD_INSTANCES: \[1\]\.url/);
    expect(issues.join("\n")).toMatch(/HERD_INSTANCES: \[1\]\.slots/);
    expect(issuesOf(() => loadConfig(WorkerEnv, toWorkerConfig, { HERD_INSTANCES: "[{" }))[0]).toMatch(/^HERD_INSTANCES: not valid JSON/);
    expect(issuesOf(() => loadConfig(WorkerEnv, toWorkerConfig, { HERD_INSTANCES: "http://a:1,http://a:1" }))[0]).toMatch(/duplicate instance name/);
  });
});

describe("start config", () => {
  it("defaults to an emulated fleet of two and one worker", () => {
    expect(loadConfig(StartEnv, toStartConfig, {})).toMatchObject({ instances: [], workers: 1, emulator: { instances: 2, basePort: 11_500 }, dataDir: ".herd" });
  });
});
