import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ApiEnv, WorkerEnv, loadConfig, toApiConfig, toWorkerConfig } from "@herd/config";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  restart?: string;
  container_name?: string;
  command?: string[];
  entrypoint?: string[];
}

function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1] as string] = match[2] as string;
  }
  return env;
}

/** Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$. */
function interpolate(text: string, env: Record<string, string>, missing: string[]): string {
  return text.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}/g, (whole, name: string | undefined, dash, fallback: string | undefined, question) => {
    if (whole === "$$") return "$";
    const value = env[name as string];
    if (dash) return value === undefined || (dash === ":-" && value === "") ? (fallback ?? "") : value;
    if (question && (value === undefined || value === "")) missing.push(name as string);
    return value ?? "";
  });
}

const exampleEnv = readEnvFile(join(ROOT, ".env.example"));
const missing: string[] = [];
const compose = parse(interpolate(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), exampleEnv, missing), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};
const envOf = (name: string): Record<string, string> => Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, String(value)]));
const hostOf = (url: string) => new URL(url).hostname;

describe("docker-compose.yml", () => {
  it("needs no variable that .env.example does not set", () => {
    expect(missing).toEqual([]);
  });

  it("runs the whole stack", () => {
    expect(Object.keys(services).sort()).toEqual(
      ["api", "cache-redis", "grafana", "ollama-1", "ollama-1-pull", "ollama-2", "ollama-2-pull", "postgres", "prometheus", "redis", "worker"].sort(),
    );
    expect(service("postgres").image).toMatch(/^pgvector\/pgvector:/);
    // The image's entrypoint runs the server itself only when the command starts with "postgres" or a flag.
    expect(service("postgres").command).toEqual(["postgres", "-c", "shared_buffers=1GB"]);
    expect(service("redis").command).toEqual(expect.arrayContaining(["--maxmemory-policy", "noeviction", "--appendonly", "yes"]));
    expect(service("cache-redis").command).toEqual(expect.arrayContaining(["--maxmemory-policy", "allkeys-lru", "--maxmemory", "1gb"]));
  });

  it("pins every image (no implicit or :latest tag)", () => {
    for (const [name, spec] of Object.entries(services)) {
      expect(spec.image, name).toMatch(/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/);
      expect(spec.image, name).not.toMatch(/:latest$/);
    }
  });

  it("gives the API a configuration its own schema accepts, pointing at services that exist", () => {
    const config = loadConfig(ApiEnv, toApiConfig, envOf("api"));
    expect(config.host).toBe("0.0.0.0");
    expect(service("api").ports).toEqual([`${exampleEnv["HERD_API_PORT"]}:${config.port}`]);
    expect(service("api").healthcheck?.test.join(" ")).toContain(`http://127.0.0.1:${config.port}/health`);
    expect(services[hostOf(config.redisUrl)]?.command).toContain("noeviction");
    expect(services[hostOf(config.cacheRedisUrl)]?.command).toContain("allkeys-lru");
    expect(hostOf(config.database.url ?? "")).toBe("postgres");
    const postgres = service("postgres").environment ?? {};
    expect(new URL(config.database.url ?? "").password).toBe(postgres["POSTGRES_PASSWORD"]);
    expect(new URL(config.database.url ?? "").username).toBe(postgres["POSTGRES_USER"]);
    expect(config.admin.password).toBe(exampleEnv["HERD_ADMIN_PASSWORD"]);
  });

  it("gives workers a configuration their schema accepts, one claim each, slots equal to each Ollama's parallelism", () => {
    const config = loadConfig(WorkerEnv, toWorkerConfig, envOf("worker"));
    expect(config.claimInstances).toBe(1);
    expect(config.instances.length).toBeGreaterThanOrEqual(2);
    for (const instance of config.instances) {
      const ollama = service(hostOf(instance.url));
      expect(ollama.image).toMatch(/^ollama\/ollama:/);
      expect(String(ollama.environment?.["OLLAMA_NUM_PARALLEL"])).toBe(String(instance.slots));
      expect(new URL(instance.url).port).toBe("11434");
      // The worker waits until the models are in.
      const depends = service("worker").depends_on as Record<string, { condition: string }>;
      expect(depends[`${hostOf(instance.url)}-pull`]).toEqual({ condition: "service_completed_successfully" });
    }
    // Scalable with --scale: no fixed name, no host port.
    expect(service("worker").container_name).toBeUndefined();
    expect(service("worker").ports).toBeUndefined();
    expect(config.metrics).toEqual({ host: "0.0.0.0", port: 9464, credentials: { user: "admin", password: exampleEnv["HERD_ADMIN_PASSWORD"] } });
    expect(service("worker").healthcheck?.test.join(" ")).toContain(`:${config.metrics?.port}/metrics`);
    expect(config.shutdownTimeoutMs).toBeLessThan(30_000);
  });

  it("has Prometheus scrape the API's port and every worker replica's metrics port", () => {
    const prometheus = parse(readFileSync(join(ROOT, "monitoring/prometheus/prometheus.yml"), "utf8")) as {
      scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const job = (name: string) => prometheus.scrape_configs.find((scrape) => scrape.job_name === name);
    // Both scrape with the admin login, its password from the compose secret fed by HERD_ADMIN_PASSWORD.
    const secrets = (parse(interpolate(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), exampleEnv, [])) as { secrets: Record<string, { environment: string }> }).secrets;
    for (const name of ["herd-api", "herd-worker"]) {
      const auth = (job(name) as { basic_auth?: { username: string; password_file: string } } | undefined)?.basic_auth;
      expect(auth?.username, name).toBe(envOf("api")["HERD_ADMIN_USER"]);
      const secret = auth?.password_file.replace(/^\/run\/secrets\//, "") ?? "";
      expect(secrets[secret], name).toEqual({ environment: "HERD_ADMIN_PASSWORD" });
      expect((service("prometheus") as { secrets?: string[] }).secrets).toContain(secret);
    }
    expect(job("herd-api")?.static_configs?.[0]?.targets).toEqual([`api:${envOf("api")["PORT"]}`]);
    expect(job("herd-worker")?.dns_sd_configs?.[0]).toMatchObject({ names: ["worker"], port: Number(envOf("worker")["HERD_METRICS_PORT"]) });
    const datasource = parse(readFileSync(join(ROOT, "monitoring/grafana/provisioning/datasources/prometheus.yml"), "utf8")) as { datasources: Array<{ url: string }> };
    expect(datasource.datasources[0]?.url).toBe("http://prometheus:9090");
    expect(service("prometheus").command).toContain("--config.file=/etc/prometheus/prometheus.yml");
  });

  it("mounts monitoring paths that exist, where the provisioning expects them", () => {
    for (const [name, spec] of Object.entries(services)) {
      for (const volume of spec.volumes ?? []) {
        const [source, target] = volume.split(":") as [string, string];
        if (source.startsWith(".")) expect(existsSync(join(ROOT, source)), `${name}: ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${source}`).toContain(source);
        expect(target.startsWith("/"), `${name}: ${volume}`).toBe(true);
      }
    }
    const provider = parse(readFileSync(join(ROOT, "monitoring/grafana/provisioning/dashboards/herd.yml"), "utf8")) as { providers: Array<{ options: { path: string } }> };
    expect(service("grafana").volumes).toContain(`./monitoring/grafana/dashboards:${provider.providers[0]?.options.path}:ro`);
    expect(service("prometheus").volumes).toContain("./monitoring/prometheus:/etc/prometheus:ro");
  });

  it("waits only on health checks that exist and on one-shot jobs that end", () => {
    for (const [name, spec] of Object.entries(services)) {
      if (!spec.depends_on || Array.isArray(spec.depends_on)) continue;
      for (const [target, { condition }] of Object.entries(spec.depends_on)) {
        if (condition === "service_healthy") expect(service(target).healthcheck, `${name} → ${target}`).toBeDefined();
        if (condition === "service_completed_successfully") expect(service(target).restart, `${name} → ${target}`).toBe("no");
      }
    }
  });

  it("builds each app with a multi-stage Dockerfile that prunes the workspace with the repository's turbo", () => {
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
    const turbo = lock.packages["node_modules/turbo"]?.version;
    for (const [name, pkg, entry] of [["api", "@herd/api", "apps/api/dist/main.js"], ["worker", "@herd/worker", "apps/worker/dist/main.js"]] as const) {
      const build = service(name).build;
      expect(build?.context).toBe(".");
      const dockerfile = readFileSync(join(ROOT, build?.dockerfile ?? ""), "utf8");
      expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
      expect(dockerfile).toContain(`turbo@${turbo}`);
      expect(dockerfile).toMatch(new RegExp(`turbo prune ${pkg}\\b.*--docker`));
      expect(dockerfile).toContain("npm ci");
      expect(dockerfile).toContain("COPY tsconfig.base.json");
      expect(dockerfile).toContain("USER node");
      expect(dockerfile).toContain(`CMD ["node", "${entry}"]`);
      expect(existsSync(join(ROOT, entry)), entry).toBe(true);
    }
  });
});
