import { sameRun, type WorkerHeartbeat, type WorkerRun } from "@herd/fleet";
import { atMostEvery, type Logger } from "@herd/logger";
import type { Binding } from "./binding.js";
import type { InstanceMonitor } from "./instance-monitor.js";
import { roundMs } from "./latency-window.js";

export interface WorkerState {
  workerId: string;
  /** The machine, as read once at start: the name its loopback instances are keyed by. */
  host: string;
  startedAt: Date;
  clockOffsetMs: number | undefined;
  monitors: readonly InstanceMonitor[];
  bindingsOf: (monitor: InstanceMonitor) => Binding[];
}

/** The heartbeat a worker publishes: itself, and each instance with its models' bindings. */
export function describeWorker(state: WorkerState): WorkerHeartbeat {
  return {
    workerId: state.workerId,
    host: state.host,
    pid: process.pid,
    startedAt: state.startedAt.toISOString(),
    updatedAt: new Date().toISOString(),
    ...(state.clockOffsetMs !== undefined ? { clockOffsetMs: state.clockOffsetMs } : {}),
    instances: state.monitors.map((monitor) => ({
      name: monitor.instance.name,
      url: monitor.instance.url,
      healthy: monitor.healthy,
      weight: monitor.instance.weight,
      ...(monitor.version ? { version: monitor.version } : {}),
      ...(monitor.lastProbeAt ? { lastProbeAt: monitor.lastProbeAt.toISOString() } : {}),
      ...(monitor.lastProbeMs !== undefined ? { lastProbeMs: roundMs(monitor.lastProbeMs) } : {}),
      ...(monitor.lastError ? { lastError: monitor.lastError } : {}),
      models: state.bindingsOf(monitor).map((binding) => binding.status()),
    })),
  };
}

/**
 * Tells (at most once a minute) while another worker process publishes heartbeats under this
 * worker's id: the API then sees one worker whose instances flip between the two, and the one
 * that stops first takes the other's heartbeat out of the fleet until its next one. The first
 * heartbeat may replace this worker's own previous run (a restart): only later ones count.
 */
export class SharedIdWatch {
  #published = false;
  readonly #warn = atMostEvery(60_000);

  constructor(
    /** This worker process's run: what it publishes as, and what it takes out of the fleet. */
    readonly self: WorkerRun,
    private readonly logger: Logger,
  ) {}

  /** After each heartbeat, with the run it replaced. */
  replaced(previous: WorkerRun | undefined): void {
    const first = !this.#published;
    this.#published = true;
    if (first || previous === undefined || sameRun(previous, this.self)) return;
    this.#warn(() =>
      this.logger.warn(
        { workerId: this.self.workerId, other: { host: previous.host, pid: previous.pid, startedAt: previous.startedAt } },
        `another worker process publishes heartbeats as HERD_WORKER_ID=${this.self.workerId}: give each worker its own id (or leave it unset: <hostname>-<pid>)`,
      ),
    );
  }
}
