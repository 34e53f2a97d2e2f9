// Writes the Grafana dashboards in ./dashboards from the definitions below, so that panels stay
// uniform and the JSON is never edited by hand. `node generate.mjs --check` fails when the
// committed JSON differs from what this file produces (run by the monitoring test).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const DATASOURCE = { type: "prometheus", uid: "herd-prometheus" };
const WIDTH = 24;

/** A PromQL quantile over a histogram's buckets, grouped by `by`. */
const quantile = (q, metric, by, selector = "") =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ""}) (rate(${metric}_bucket${selector}[$__rate_interval])))`;
// Every API process reports the same queue counts: take one of them, never the sum.
const queueJobs = (states) => `max by (queue) (sum by (queue, instance) (herd_queue_jobs{state=~"${states}"}))`;

function target(expr, legendFormat, refId) {
  return { datasource: DATASOURCE, expr, legendFormat, refId, range: true };
}

function panel(type, title, description, targets, options) {
  return {
    type,
    title,
    description,
    datasource: DATASOURCE,
    targets: targets.map(([expr, legend], i) => target(expr, legend, String.fromCharCode(65 + i))),
    fieldConfig: { defaults: { unit: options.unit ?? "short", ...(options.min !== undefined ? { min: options.min } : {}), ...(options.max !== undefined ? { max: options.max } : {}) }, overrides: [] },
    options:
      type === "stat"
        ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area", textMode: "auto" }
        : { legend: { displayMode: "table", placement: "bottom", calcs: ["mean", "max", "lastNotNull"] }, tooltip: { mode: "multi", sort: "desc" } },
    w: options.w ?? 12,
    h: options.h ?? (type === "stat" ? 4 : 8),
  };
}

const series = (title, description, targets, options = {}) => panel("timeseries", title, description, targets, options);
const stat = (title, description, targets, options = {}) => panel("stat", title, description, targets, { w: 6, ...options });

/** Lays panels out left to right, wrapping at the grid's width, and numbers them. */
function layout(panels) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map(({ w, h, ...rest }, index) => {
    if (x + w > WIDTH) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { id: index + 1, gridPos: { x, y, w, h }, ...rest };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return placed;
  });
}

function dashboard(uid, title, description, panels) {
  return {
    uid,
    title,
    description,
    tags: ["herd"],
    editable: false,
    schemaVersion: 39,
    version: 1,
    time: { from: "now-3h", to: "now" },
    refresh: "30s",
    timezone: "browser",
    templating: { list: [] },
    annotations: { list: [] },
    links: [{ title: "Herd dashboards", type: "dashboards", tags: ["herd"], asDropdown: true }],
    panels: layout(panels),
  };
}

const performance = dashboard("herd-performance", "Herd — performance", "Latency, throughput and queue wait.", [
  stat("Requests / s", "HTTP requests to the API.", [["sum(rate(herd_http_request_duration_seconds_count[$__rate_interval]))", "requests/s"]], { unit: "reqps" }),
  stat("Jobs completed / s", "Jobs finished by workers, all kinds.", [["sum(rate(herd_jobs_completed_total[$__rate_interval]))", "jobs/s"]], { unit: "ops" }),
  stat("Interactive wait p95", "Time interactive jobs spent queued before a slot took them.", [[quantile(0.95, "herd_job_wait_seconds", "", '{priority="interactive"}'), "p95"]], { unit: "s" }),
  stat("Slot use", "Ollama calls running / slots on all instances.", [["sum(herd_instance_in_flight) / sum(herd_instance_slots)", "in use"]], { unit: "percentunit", min: 0, max: 1 }),
  series("API latency by route (p50, p95)", "Duration of HTTP requests by route template.", [
    [quantile(0.5, "herd_http_request_duration_seconds", "route"), "p50 {{route}}"],
    [quantile(0.95, "herd_http_request_duration_seconds", "route"), "p95 {{route}}"],
  ], { unit: "s" }),
  series("API requests by route and status", "Requests per second by route template and status code.", [
    ["sum by (route, status) (rate(herd_http_request_duration_seconds_count[$__rate_interval]))", "{{route}} {{status}}"],
  ], { unit: "reqps" }),
  series("Jobs completed by kind and model", "Jobs finished per second.", [["sum by (kind, model) (rate(herd_jobs_completed_total[$__rate_interval]))", "{{kind}} {{model}}"]], { unit: "ops" }),
  series("Queue wait (p50, p95) by priority", "Time from enqueue to a slot taking the job: the price of a busy fleet.", [
    [quantile(0.5, "herd_job_wait_seconds", "priority"), "p50 {{priority}}"],
    [quantile(0.95, "herd_job_wait_seconds", "priority"), "p95 {{priority}}"],
  ], { unit: "s" }),
  series("Job run time p95 by model", "Time a job holds its slot (the Ollama call and its handling).", [[quantile(0.95, "herd_job_run_seconds", "kind, model"), "{{kind}} {{model}}"]], { unit: "s" }),
  series("Ollama call duration p95 by instance", "Until Ollama's answer starts, per instance: a slow box shows here first.", [[quantile(0.95, "herd_ollama_request_duration_seconds", "ollama"), "{{ollama}}"]], { unit: "s" }),
  series("Jobs waiting by queue", "Waiting and prioritized jobs in each queue.", [[queueJobs("waiting|prioritized"), "{{queue}}"]], { unit: "short", min: 0 }),
  series("Jobs running by queue", "Active jobs in each queue.", [[queueJobs("active"), "{{queue}}"]], { unit: "short", min: 0 }),
  series("Waiting clients answered by", "How waits for a job (?wait=, drop-in endpoints) ended. reply: the worker sent the result straight to the waiting API process (the fast path); event: BullMQ's completion event; state: the once-a-second state read (a safety net); timeout: the wait ran out or the client left. Many event or state answers mean replies are lost.", [["sum by (via) (rate(herd_job_waits_total[$__rate_interval]))", "{{via}}"]], { unit: "ops", w: 24 }),
]);

const health = dashboard("herd-health", "Herd — health", "Instances, workers, Redis and Postgres, errors.", [
  stat("Live workers", "Worker processes with a fresh heartbeat in Redis.", [["max(herd_fleet_workers)", "workers"]]),
  stat("Healthy instances", "Ollama instances pulling jobs.", [['max(herd_fleet_instances{state="healthy"})', "healthy"]]),
  stat("Unhealthy instances", "Ollama instances taken out after failed probes or calls.", [['max(herd_fleet_instances{state="unhealthy"})', "unhealthy"]]),
  stat("Targets up", "API and worker processes Prometheus can scrape.", [['sum(up{job=~"herd-api|herd-worker"})', "up"]]),
  series("Instance health", "1 while an instance pulls jobs, 0 while it is taken out.", [["herd_instance_healthy", "{{ollama}}"]], { min: 0, max: 1 }),
  series("Other workers binding each instance", "Should be 0. Above 0 more than one worker binds the instance and each fills its slots, so it is oversubscribed: give each instance to one worker, or set HERD_CLAIM_INSTANCES.", [["max by (ollama) (herd_instance_other_workers)", "{{ollama}}"]], { unit: "short", min: 0 }),
  series("In flight vs slots by instance", "Calls running on each instance against its slots: in flight never exceeds slots.", [
    ["sum by (ollama) (herd_instance_in_flight)", "in flight {{ollama}}"],
    ["sum by (ollama) (herd_instance_slots)", "slots {{ollama}}"],
  ], { min: 0 }),
  series("Calls held inside Ollama by instance", "Generations per second that Ollama held over 100 ms before running them (from the durations it reports). Should be 0: Herd sends an instance at most its slots, so a held call means its OLLAMA_NUM_PARALLEL is below the slots Herd gives the model, or other clients send it work.", [['sum by (ollama, model) (rate(herd_ollama_held_seconds_count[$__rate_interval])) - sum by (ollama, model) (rate(herd_ollama_held_seconds_bucket{le="0.1"}[$__rate_interval]))', "{{ollama}} {{model}}"]], { unit: "ops", min: 0 }),
  series("Model loads by instance", "Calls during which Ollama loaded (or reloaded) the model. A steady rate means clients ask for different runner options (num_ctx...) or models evict each other; the worker's log names the num_ctx values.", [["sum by (ollama, model) (increase(herd_ollama_loads_total[$__rate_interval]))", "{{ollama}} {{model}}"]], { unit: "short", min: 0 }),
  series("Ollama errors by instance and class", "Failed calls per second (connection, timeout, server, invalid_response...).", [["sum by (ollama, class) (rate(herd_ollama_errors_total[$__rate_interval]))", "{{ollama}} {{class}}"]], { unit: "ops" }),
  series("Job retries and failures by code", "Retried: a later attempt may still succeed. Failed: no attempts left.", [
    ["sum by (code) (rate(herd_jobs_retried_total[$__rate_interval]))", "retried {{code}}"],
    ["sum by (code) (rate(herd_jobs_failed_total[$__rate_interval]))", "failed {{code}}"],
  ], { unit: "ops" }),
  series("Redis and Postgres", "1 when the API's scrape-time check (PING, SELECT 1) answered.", [["max by (dependency) (herd_dependency_up)", "{{dependency}}"]], { min: 0, max: 1 }),
  series("Dependency check latency", "Duration of those checks.", [["max by (dependency) (herd_dependency_check_seconds)", "{{dependency}}"]], { unit: "s" }),
  series("Redis memory vs maxmemory", "At its maxmemory the queue Redis refuses writes: new jobs answer 503 redis_out_of_memory.", [
    ["max by (redis) (herd_redis_memory_used_bytes)", "used {{redis}}"],
    ["max by (redis) (herd_redis_maxmemory_bytes > 0)", "maxmemory {{redis}}"],
  ], { unit: "bytes", min: 0 }),
  series("Failed jobs kept by queue", "Failed jobs retained for inspection (Bull Board).", [[queueJobs("failed"), "{{queue}}"]], { min: 0 }),
  series("Cache errors by layer", "Cache lookups that failed (they count as misses; the request still runs).", [['sum by (layer) (rate(herd_cache_requests_total{result="error"}[$__rate_interval]))', "{{layer}}"]], { unit: "ops" }),
  series("Process memory", "Resident memory of each API and worker process.", [['process_resident_memory_bytes{job=~"herd-api|herd-worker"}', "{{job}} {{instance}}"]], { unit: "bytes" }),
  series("Event loop lag p99", "A blocked event loop delays every request and job in that process.", [['nodejs_eventloop_lag_p99_seconds{job=~"herd-api|herd-worker"}', "{{job}} {{instance}}"]], { unit: "s" }),
]);

const cachedShare = 'sum(rate(herd_job_requests_total{outcome="cached"}[$__range])) / sum(rate(herd_job_requests_total[$__range]))';
// Ollama time the cache saved: hits × the mean run time of the jobs they stood in for.
const savedSeconds = (layer, kind) =>
  `sum(increase(herd_cache_requests_total{layer="${layer}", result="hit"}[$__range])) * sum(rate(herd_job_run_seconds_sum{kind="${kind}"}[$__range])) / sum(rate(herd_job_run_seconds_count{kind="${kind}"}[$__range]))`;

const business = dashboard("herd-business", "Herd — business", "What the fleet is used for: requests by model and client, cache savings, documents ingested.", [
  stat("Requests in range", "Job requests received (all outcomes).", [["sum(increase(herd_job_requests_total[$__range]))", "requests"]]),
  stat("Answered from cache", "Share of job requests answered from the cache without reaching Ollama.", [[cachedShare, "cached"]], { unit: "percentunit", min: 0, max: 1 }),
  stat("Ollama time saved by the cache", "Cache hits × the mean run time of the jobs they replaced (embed and generate).", [[`(${savedSeconds("embedding", "embed")}) + (${savedSeconds("inference", "generate")})`, "saved"]], { unit: "s" }),
  stat("Documents ingested", "Documents stored in range (unchanged re-ingests not counted).", [['sum(increase(herd_ingest_documents_total{outcome="stored"}[$__range]))', "documents"]]),
  series("Requests by model", "Job requests per second by model, all outcomes.", [["sum by (model) (rate(herd_job_requests_total[$__rate_interval]))", "{{model}}"]], { unit: "reqps" }),
  series("Requests by client", "Job requests per second by client family (User-Agent; internal = Herd's own, such as search queries).", [["sum by (client) (rate(herd_job_requests_total[$__rate_interval]))", "{{client}}"]], { unit: "reqps" }),
  series("Request outcomes", "cached: from the cache; coalesced: joined an identical running job; queued: new job; rejected: queue full (429).", [["sum by (outcome) (rate(herd_job_requests_total[$__rate_interval]))", "{{outcome}}"]], { unit: "reqps" }),
  series("Cache hit rate by layer", "Hits / (hits + misses) per cache layer.", [
    ['sum by (layer) (rate(herd_cache_requests_total{result="hit"}[$__rate_interval])) / sum by (layer) (rate(herd_cache_requests_total{result=~"hit|miss"}[$__rate_interval]))', "{{layer}}"],
  ], { unit: "percentunit", min: 0, max: 1 }),
  series("Jobs submitted by priority", "New jobs per second, interactive against batch (ingestion).", [["sum by (priority) (rate(herd_jobs_submitted_total[$__rate_interval]))", "{{priority}}"]], { unit: "ops" }),
  series("Documents ingested by outcome", "stored, unchanged (re-ingest with the same content) or failed, per minute.", [["sum by (outcome) (increase(herd_ingest_documents_total[1m]))", "{{outcome}}"]]),
  series("Chunks stored", "Chunks embedded and stored per minute.", [["sum(increase(herd_ingest_chunks_total[1m]))", "chunks"]], { w: 24 }),
]);

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes("--check");
let stale = 0;
for (const board of [performance, health, business]) {
  const file = join(here, "dashboards", `${board.uid.replace(/^herd-/, "")}.json`);
  const text = `${JSON.stringify(board, null, 2)}\n`;
  if (!check) writeFileSync(file, text);
  else if (readFileSync(file, "utf8") !== text) {
    console.error(`${file} differs from generate.mjs; run: node monitoring/grafana/generate.mjs`);
    stale += 1;
  }
}
process.exitCode = stale > 0 ? 1 : 0;
