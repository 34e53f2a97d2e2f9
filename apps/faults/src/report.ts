import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

/** One row of RELIABILITY.md, written by the scenario that measured it. */
export interface ScenarioResult {
  /** Position in the table (the issue's scenario number, then a letter for variants). */
  order: string;
  scenario: string;
  load: string;
  fault: string;
  accepted: number;
  completed: number;
  /** Failed jobs by reason (error code). */
  failed: Record<string, number>;
  lost: number;
  /** Undefined where the scenario cannot count re-runs. */
  duplicates: number | undefined;
  /** How long until the system was whole again, in ms (undefined: not applicable). */
  recoveryMs: number | undefined;
  /** What `recoveryMs` measures for this scenario. */
  recoveryMeans: string;
  /** Further figures worth reading (refusals, RSS, statuses). */
  notes: string[];
}

export const SCENARIO_COUNT = 7;

function resultsDir(root: string): string {
  return join(root, "apps", "faults", ".results");
}

export function clearResults(root: string): void {
  rmSync(resultsDir(root), { recursive: true, force: true });
}

export function saveResult(root: string, result: ScenarioResult): void {
  mkdirSync(resultsDir(root), { recursive: true });
  writeFileSync(join(resultsDir(root), `${result.order}.json`), JSON.stringify(result, null, 2));
}

export function loadResults(root: string): ScenarioResult[] {
  let files: string[];
  try {
    files = readdirSync(resultsDir(root)).filter((file) => file.endsWith(".json"));
  } catch {
    return [];
  }
  return files
    .map((file) => JSON.parse(readFileSync(join(resultsDir(root), file), "utf8")) as ScenarioResult)
    .sort((a, b) => a.order.localeCompare(b.order, "en", { numeric: true }));
}

function version(command: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(command, args, { encoding: "utf8" }))?.[1] ?? "unknown";
  } catch {
    return "not found";
  }
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "—" : `${(ms / 1000).toFixed(2)} s`;
}

function failedCell(failed: Record<string, number>): string {
  const entries = Object.entries(failed);
  if (entries.length === 0) return "0";
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return `${total} (${entries.map(([code, count]) => `${code} ${count}`).join(", ")})`;
}

/** RELIABILITY.md from the scenarios' own results. */
export function renderReliability(results: readonly ScenarioResult[], startedAt: Date): string {
  const cpu = cpus();
  const lines = [
    "# Reliability",
    "",
    "Produced by the fault-injection suite itself (`npm run test:faults`); do not edit by hand. Every scenario runs a real load",
    "through real Herd processes (API and workers started as `node dist/main.js`), provokes its fault, then follows every",
    "accepted job to its end. **Lost** = accepted (202) but never completed or failed with a reason; the suite fails if it is",
    "not 0. **Duplicates** = jobs whose input an emulated instance computed more than once (each job's input is unique).",
    "",
    `- Date: ${startedAt.toISOString()}`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM; Node.js ${process.version}; Redis ${version("redis-server", ["--version"], /v=(\S+)/)}; PostgreSQL ${version("pg_config", ["--version"], /PostgreSQL (\S+)/)}`,
    "",
    "| # | scenario | load | fault | accepted | completed | failed (reason) | lost | duplicates | recovery |",
    "|---|---|---|---|---:|---:|---|---:|---:|---:|",
  ];
  for (const row of results) {
    lines.push(`| ${row.order} | ${row.scenario} | ${row.load} | ${row.fault} | ${row.accepted} | ${row.completed} | ${failedCell(row.failed)} | **${row.lost}** | ${row.duplicates ?? "—"} | ${seconds(row.recoveryMs)} |`);
  }
  lines.push("", "## What each row measured", "");
  for (const row of results) {
    lines.push(`### ${row.order}. ${row.scenario}`, "", `- Recovery: ${row.recoveryMeans}`, ...row.notes.map((note) => `- ${note}`), "");
  }
  return lines.join("\n");
}
