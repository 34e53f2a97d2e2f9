import { Counter, Histogram, type Registry } from "prom-client";

const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const RUN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/** What the API counts as requests arrive: answered from the cache, joined to a running job, or queued. */
export class ApiJobMetrics {
  readonly requests: Counter<"kind" | "model" | "outcome" | "client">;
  readonly submitted: Counter<"kind" | "model" | "priority">;
  readonly waits: Counter<"via">;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: "herd_job_requests_total",
      help: "Job requests by kind, model, outcome (cached: answered from the cache, coalesced: joined an identical job, queued: new job, rejected: queue full) and client family (from the User-Agent; internal for Herd's own, such as a search query's embedding).",
      labelNames: ["kind", "model", "outcome", "client"] as const,
      registers: [registry],
    });
    this.submitted = new Counter({
      name: "herd_jobs_submitted_total",
      help: "Jobs added to the queues, by kind, model and priority.",
      labelNames: ["kind", "model", "priority"] as const,
      registers: [registry],
    });
    this.waits = new Counter({
      name: "herd_job_waits_total",
      help: "Requests that waited for a job (?wait=, the drop-in endpoints) by how the wait ended: reply (a worker sent the result to this process), event (BullMQ's completion event), state (a state read found the job finished), timeout (the wait ran out or the client left).",
      labelNames: ["via"] as const,
      registers: [registry],
    });
  }
}

/** What workers count as jobs run: outcomes, retries, time waited in the queue and time running. */
export class WorkerJobMetrics {
  readonly completed: Counter<"kind" | "model" | "ollama">;
  readonly failed: Counter<"kind" | "model" | "code">;
  readonly retried: Counter<"kind" | "model" | "code">;
  readonly wait: Histogram<"kind" | "model" | "priority">;
  readonly run: Histogram<"kind" | "model" | "ollama">;

  constructor(registry: Registry) {
    this.completed = new Counter({
      name: "herd_jobs_completed_total",
      help: "Jobs completed, by kind, model and instance.",
      labelNames: ["kind", "model", "ollama"] as const,
      registers: [registry],
    });
    this.failed = new Counter({
      name: "herd_jobs_failed_total",
      help: "Jobs failed for good (no attempts left or not retryable), by kind, model and error code.",
      labelNames: ["kind", "model", "code"] as const,
      registers: [registry],
    });
    this.retried = new Counter({
      name: "herd_jobs_retried_total",
      help: "Failed attempts that will be retried, by kind, model and error code.",
      labelNames: ["kind", "model", "code"] as const,
      registers: [registry],
    });
    this.wait = new Histogram({
      name: "herd_job_wait_seconds",
      help: "Time a job waited in its queue before a worker took it.",
      labelNames: ["kind", "model", "priority"] as const,
      buckets: WAIT_BUCKETS,
      registers: [registry],
    });
    this.run = new Histogram({
      name: "herd_job_run_seconds",
      help: "Time from a worker taking a job to its outcome (waiting for a slot included).",
      labelNames: ["kind", "model", "ollama"] as const,
      buckets: RUN_BUCKETS,
      registers: [registry],
    });
  }
}
