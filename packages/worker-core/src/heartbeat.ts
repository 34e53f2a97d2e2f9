import type { WorkerHeartbeat } from "@herd/fleet";
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
