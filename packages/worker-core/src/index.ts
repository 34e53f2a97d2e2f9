export { WorkerRuntime, type WorkerRuntimeOptions } from "./runtime.js";
export { Binding } from "./binding.js";
export { InstanceMonitor } from "./instance-monitor.js";
export { SlotGate, GateClosedError } from "./slot-gate.js";
export { kindsFor, slotsFor, type DiscoveredModel } from "./discovery.js";
export { toJobError } from "./failure.js";
export { BatchSlicer } from "./batch-slicer.js";
export { WorkerMetrics } from "./metrics.js";
