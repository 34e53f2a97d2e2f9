import { describe, expect, it } from "vitest";
import { clientFamily, createRegistry, dependencyMetrics, redisMemoryMetrics, startMetricsServer } from "../src/index.js";

describe("dependency checks", () => {
  it("report 1 for an answer, 0 for an error and 0 for a check that outlives its deadline", async () => {
    const registry = createRegistry("api");
    let hungSignal: AbortSignal | undefined;
    dependencyMetrics(
      registry,
      {
        redis: async () => "PONG",
        postgres: async () => {
          throw new Error("connection refused");
        },
        cache_redis: (signal) => {
          hungSignal = signal;
          return new Promise(() => undefined);
        },
      },
      50,
    );
    const text = await registry.metrics();
    expect(text).toContain('herd_dependency_up{dependency="redis",service="api"} 1');
    expect(text).toContain('herd_dependency_up{dependency="postgres",service="api"} 0');
    expect(text).toContain('herd_dependency_up{dependency="cache_redis",service="api"} 0');
    expect(hungSignal?.aborted).toBe(true);
    const seconds = Number(/herd_dependency_check_seconds\{dependency="cache_redis",service="api"\} (\S+)/.exec(text)?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(0.04);
  });
});

describe("Redis memory", () => {
  it("reports used_memory and maxmemory from each Redis's INFO, and nothing for one that fails or hangs", async () => {
    const registry = createRegistry("api");
    const info = (used: number, max: number) => `# Memory\r\nused_memory:${used}\r\nused_memory_human:1.00M\r\nused_memory_rss:${used * 2}\r\nmaxmemory:${max}\r\nmaxmemory_human:0B\r\n`;
    redisMemoryMetrics(
      registry,
      {
        queue: async () => info(1_048_576, 4_194_304),
        cache: async () => {
          throw new Error("connection refused");
        },
        other: () => new Promise(() => undefined),
      },
      50,
    );
    const text = await registry.metrics();
    expect(text).toContain('herd_redis_memory_used_bytes{redis="queue",service="api"} 1048576');
    expect(text).toContain('herd_redis_maxmemory_bytes{redis="queue",service="api"} 4194304');
    expect(text).not.toMatch(/redis="(cache|other)"/);
  });
});

describe("client families", () => {
  it("name known clients by their User-Agent and everything else 'other'", () => {
    expect(clientFamily("ollama-js/0.6.3 (x64 linux Node.js/v20.20.2)")).toBe("ollama-js");
    expect(clientFamily("OpenAI/JS 6.1.0")).toBe("openai-js");
    expect(clientFamily("Anthropic/JS 1.17.0")).toBe("anthropic-js");
    expect(clientFamily("claude-cli/2.1.3 (external, cli)")).toBe("claude-code");
    expect(clientFamily("herd-client")).toBe("herd-client");
    expect(clientFamily("curl/8.5.0")).toBe("curl");
    expect(clientFamily("node")).toBe("node");
    expect(clientFamily("Mozilla/5.0 (X11; Linux x86_64)")).toBe("browser");
    expect(clientFamily("my-script/" + "x".repeat(500))).toBe("other");
    expect(clientFamily(undefined)).toBe("other");
  });
});

describe("a worker's metrics server", () => {
  it("answers only with the admin login when credentials are set", async () => {
    const server = await startMetricsServer(createRegistry("worker"), 0, "127.0.0.1", { user: "admin", password: "correct horse battery" });
    try {
      const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
      const anonymous = await fetch(server.url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="Herd metrics"');
      expect((await fetch(server.url, { headers: { authorization: basic("admin", "wrong") } })).status).toBe(401);
      const admin = await fetch(server.url, { headers: { authorization: basic("admin", "correct horse battery") } });
      expect(admin.status).toBe(200);
      expect(await admin.text()).toContain('process_cpu_seconds_total{service="worker"}');
    } finally {
      await server.close();
    }
  });
});
