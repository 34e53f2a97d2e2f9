/** One job the API accepted (202) and the input that identifies its work at the emulator. */
export interface AcceptedJob {
  id: string;
  input: string;
  /** Milliseconds since the load started. */
  at: number;
}

export interface OfferedLoad {
  offered: number;
  accepted: AcceptedJob[];
  /** Refusals by status and error code, e.g. "503 redis_unavailable". */
  refused: Map<string, number>;
  /** Requests that got no HTTP answer at all (connection refused, timeout). */
  unanswered: Map<string, number>;
  /** Refusals without a JSON error body or without Retry-After where one is due. */
  malformedRefusals: string[];
}

export interface LoadOptions {
  /** Where each request goes: the API URLs to spread over (a dead one counts as unanswered). */
  targets: () => readonly string[];
  ratePerSecond: number;
  durationMs: number;
  /** Unique text per request, so every job is its own piece of work at the emulator. */
  input: (index: number) => string;
  model?: string;
  /** Called about every 50 ms with the elapsed time (to inject a fault on cue). */
  onTick?: (elapsedMs: number) => void | Promise<void>;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * Open-loop load: `ratePerSecond` embed submissions (POST /v1/jobs, no wait) for `durationMs`,
 * whatever happens to the system meanwhile. Requests are not retried: every one is either
 * accepted (202 with an id), refused with a status, or unanswered, and all three are counted.
 */
export async function offerLoad(options: LoadOptions): Promise<OfferedLoad> {
  const result: OfferedLoad = { offered: 0, accepted: [], refused: new Map(), unanswered: new Map(), malformedRefusals: [] };
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const send = async (index: number, target: string) => {
    const input = options.input(index);
    const at = performance.now() - started;
    try {
      const response = await fetch(`${target}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "embed", model: options.model ?? "nomic-embed-text", input }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      if (response.status === 202) {
        const id = (JSON.parse(text) as { id?: string }).id;
        if (!id) throw new Error(`202 without an id: ${text.slice(0, 200)}`);
        result.accepted.push({ id, input, at });
        return;
      }
      let code = "?";
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? "?";
      } catch {
        result.malformedRefusals.push(`${response.status}: ${text.slice(0, 120)}`);
      }
      if ((response.status === 429 || response.status === 503) && !response.headers.get("retry-after")) result.malformedRefusals.push(`${response.status} ${code} without Retry-After`);
      bump(result.refused, `${response.status} ${code}`);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      bump(result.unanswered, (error as Error).name === "TimeoutError" ? "timeout" : (cause ?? (error as Error).message));
    }
  };
  let sent = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= options.durationMs) break;
    await options.onTick?.(elapsed);
    const due = Math.min(Math.floor(((performance.now() - started) / 1000) * options.ratePerSecond), Math.floor((options.durationMs / 1000) * options.ratePerSecond));
    const targets = options.targets();
    for (; sent < due; sent += 1) {
      const target = targets[sent % targets.length];
      if (target === undefined) {
        bump(result.unanswered, "no API to send to");
        continue;
      }
      const request = send(sent, target);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(inFlight);
  result.offered = sent;
  return result;
}

export interface Settled {
  completed: number;
  /** Failed jobs by error code: each has a reason. */
  failed: Map<string, number>;
  /** Accepted, but unknown to the API or not finished before the deadline. */
  lost: string[];
  /** Jobs that needed more than one attempt. */
  retried: number;
  /** When each job finished (ms since the load started is not known here: epoch ms). */
  finishedAt: Map<string, number>;
}

interface JobView {
  status: string;
  attempts?: number;
  error?: { code?: string; message?: string };
}

/**
 * Follows every accepted job to its end through an API (long-polling GET /v1/jobs/:id?wait=),
 * `concurrency` at a time, until `deadlineMs` from now. Whatever is neither completed nor failed
 * by then, or is unknown to the API, is lost.
 */
export async function settle(apiUrl: () => string, jobs: readonly AcceptedJob[], deadlineMs: number, concurrency = 32): Promise<Settled> {
  const settled: Settled = { completed: 0, failed: new Map(), lost: [], retried: 0, finishedAt: new Map() };
  const deadline = Date.now() + deadlineMs;
  let next = 0;
  const follow = async (job: AcceptedJob) => {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return void settled.lost.push(`${job.id}: not finished within the deadline`);
      let response: Response;
      try {
        response = await fetch(`${apiUrl()}/v1/jobs/${job.id}?wait=${Math.min(10_000, left)}`, { signal: AbortSignal.timeout(Math.min(10_000, left) + 5000) });
      } catch {
        // The API is being restarted or is briefly unreachable: ask again.
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (response.status === 404) return void settled.lost.push(`${job.id}: unknown to the API (404)`);
      if (response.status === 503) {
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      const view = (await response.json()) as JobView;
      if (view.status === "completed" || view.status === "failed") {
        settled.finishedAt.set(job.id, Date.now());
        if ((view.attempts ?? 1) > 1) settled.retried += 1;
        if (view.status === "completed") settled.completed += 1;
        else bump(settled.failed, view.error?.code ?? "no reason given");
        return;
      }
      if (view.status === "canceled") return void bump(settled.failed, "canceled");
    }
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (job) await follow(job);
      }
    }),
  );
  return settled;
}

/**
 * Work the fleet did more than once for these jobs: inputs the emulators computed twice or more
 * (summed over instances). Each job's input is unique, so every extra computation is a re-run.
 */
export function duplicates(jobs: readonly AcceptedJob[], ledgers: ReadonlyArray<ReadonlyMap<string, number>>): number {
  let twice = 0;
  for (const job of jobs) {
    let runs = 0;
    for (const ledger of ledgers) runs += ledger.get(job.input) ?? 0;
    if (runs > 1) twice += 1;
  }
  return twice;
}
