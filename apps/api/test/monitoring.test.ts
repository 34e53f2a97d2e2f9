import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniquePrefix } from "@herd/testing";
import { exposedNames, metricNames } from "./promql.js";
import { Stack } from "./stack.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const MONITORING = join(ROOT, "monitoring");
/** Series Prometheus makes itself for every target rather than reading them from /metrics. */
const SYNTHETIC = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: "utf8" });
  if (result.error) throw new Error(`${command} is needed for this test (scripts/install-tools.sh installs promtool): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }>;
}

function dashboards(): Dashboard[] {
  const dir = join(MONITORING, "grafana/dashboards");
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .map((file) => JSON.parse(readFileSync(join(dir, file), "utf8")) as Dashboard);
}

function ruleExpressions(): Array<{ alert: string; expr: string }> {
  const rules = parse(readFileSync(join(MONITORING, "prometheus/alerts.yml"), "utf8")) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return rules.groups.flatMap((group) => group.rules);
}

describe("monitoring/ configuration", () => {
  it("passes promtool check config (with its rule file) and check rules", () => {
    const config = run("promtool", ["check", "config", "monitoring/prometheus/prometheus.yml"]);
    expect(config.output).toContain("SUCCESS: 1 rule files found");
    expect(config.status).toBe(0);
    const rules = run("promtool", ["check", "rules", "monitoring/prometheus/alerts.yml"]);
    expect(rules.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(rules.status).toBe(0);
  });

  it("alerts fire on the situations they name and not on healthy ones (promtool test rules)", () => {
    const result = run("promtool", ["test", "rules", "monitoring/prometheus/tests/alerts.test.yml"]);
    expect(result.output).toContain("SUCCESS");
    expect(result.status).toBe(0);
  });

  it("has the alerts operators asked for", () => {
    const alerts = ruleExpressions().map((rule) => rule.alert);
    expect(alerts).toEqual(expect.arrayContaining(["HerdInstanceDown", "HerdBacklogGrowing", "HerdJobFailureRatioHigh", "HerdCacheHitRateDropping", "HerdNoWorkerHeartbeat"]));
  });

  it("dashboards are the generator's output and use the provisioned datasource", () => {
    const generated = run("node", ["monitoring/grafana/generate.mjs", "--check"]);
    expect(generated.output).toBe("");
    expect(generated.status).toBe(0);
    const datasources = parse(readFileSync(join(MONITORING, "grafana/provisioning/datasources/prometheus.yml"), "utf8")) as { datasources: Array<{ uid: string; url: string }> };
    const uid = datasources.datasources[0]?.uid;
    const boards = dashboards();
    expect(boards.map((board) => board.uid).sort()).toEqual(["herd-business", "herd-health", "herd-performance"]);
    for (const board of boards) {
      expect(board.panels.length).toBeGreaterThan(5);
      for (const panel of board.panels) {
        expect(panel.datasource.uid, `${board.title} / ${panel.title}`).toBe(uid);
        expect(panel.targets.length, `${board.title} / ${panel.title}`).toBeGreaterThan(0);
      }
    }
  });

  it("the name extractor reads metric names and nothing else", () => {
    const names = metricNames(
      'histogram_quantile(0.95, sum by (le, route) (rate(herd_http_request_duration_seconds_bucket{route!~"/admin.*"}[$__rate_interval]))) / on (job) group_left max(up{job="x"}) > 1e3 and absent(herd_fleet_workers offset 5m)',
    );
    expect([...names].sort()).toEqual(["herd_fleet_workers", "herd_http_request_duration_seconds_bucket", "up"]);
  });
});

describe("every metric used by a dashboard or an alert exists in the live /metrics", () => {
  let stack: Stack;
  let exposed = new Set<string>();

  beforeAll(async () => {
    stack = await Stack.start({ prefix: uniquePrefix("monitoring"), fleet: { instances: 1, preload: true } });
    const api = await (await fetch(`${stack.url}/metrics`)).text();
    const worker = await stack.worker.metrics.registry.metrics();
    exposed = new Set([...exposedNames(api), ...exposedNames(worker)]);
  });
  afterAll(() => stack?.close());

  it("reads both processes' exposition", () => {
    expect(exposed.has("herd_queue_jobs")).toBe(true);
    expect(exposed.has("herd_instance_slots")).toBe(true);
    expect(exposed.has("herd_job_wait_seconds_bucket")).toBe(true);
  });

  it("dashboards", () => {
    const used = new Map<string, string>();
    for (const board of dashboards()) for (const panel of board.panels) for (const target of panel.targets) for (const name of metricNames(target.expr)) used.set(name, `${board.title} / ${panel.title}`);
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used].filter(([name]) => !exposed.has(name) && !SYNTHETIC.has(name));
    expect(missing).toEqual([]);
  });

  it("alert rules", () => {
    const used = new Map<string, string>();
    for (const rule of ruleExpressions()) for (const name of metricNames(rule.expr)) used.set(name, rule.alert);
    expect(used.size).toBeGreaterThan(5);
    const missing = [...used].filter(([name]) => !exposed.has(name) && !SYNTHETIC.has(name));
    expect(missing).toEqual([]);
  });
});
