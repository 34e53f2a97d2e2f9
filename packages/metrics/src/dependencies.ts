import { Gauge, type Registry } from "prom-client";
import { sharedPerScrape } from "./registry.js";

export type DependencyCheck = (signal: AbortSignal) => Promise<unknown>;

interface CheckResult {
  dependency: string;
  up: boolean;
  seconds: number;
}

async function runCheck(dependency: string, check: DependencyCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`${dependency} check timed out after ${timeoutMs}ms`));
    }, timeoutMs);
  });
  let up = false;
  try {
    await Promise.race([check(controller.signal), deadline]);
    up = true;
  } catch {
    // A failed check is the value being reported (up = 0), not an error of the scrape.
  } finally {
    clearTimeout(timer);
  }
  return { dependency, up, seconds: (performance.now() - started) / 1000 };
}

/**
 * Whether each dependency (queue Redis, cache Redis, Postgres) answers a trivial request, and how
 * fast, checked on each scrape with a deadline so a hung dependency cannot hang the scrape.
 */
export function dependencyMetrics(registry: Registry, checks: Readonly<Record<string, DependencyCheck>>, timeoutMs = 1000): void {
  const checkAll = sharedPerScrape(() => Promise.all(Object.entries(checks).map(([dependency, check]) => runCheck(dependency, check, timeoutMs))));
  new Gauge({
    name: "herd_dependency_up",
    help: "1 when the dependency answered its scrape-time check (PING, SELECT 1) within the deadline, else 0.",
    labelNames: ["dependency"] as const,
    registers: [registry],
    async collect() {
      for (const result of await checkAll()) this.set({ dependency: result.dependency }, result.up ? 1 : 0);
    },
  });
  new Gauge({
    name: "herd_dependency_check_seconds",
    help: "Duration of the scrape-time check of each dependency.",
    labelNames: ["dependency"] as const,
    registers: [registry],
    async collect() {
      for (const result of await checkAll()) this.set({ dependency: result.dependency }, result.seconds);
    },
  });
}
