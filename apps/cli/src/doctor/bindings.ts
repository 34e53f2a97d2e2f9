import { describeBinders, instanceKey, sharedInstances, SHARED_INSTANCE_ADVICE } from "@herd/fleet";
import type { FleetReading } from "./fleet.js";
import { ok, warn, type Finding } from "./report.js";

const CHECK = "instance bindings";

/**
 * Whether any Ollama instance is bound by more than one live worker (from their heartbeats): it is
 * then oversubscribed. Nothing without live workers, or when the queue Redis could not be read
 * (its own check says so). A worker killed seconds ago still has a heartbeat for up to three
 * heartbeat intervals; each worker's own warning waits for the other to publish again.
 */
export function checkBindings(fleet: FleetReading | Error): Finding[] {
  if (fleet instanceof Error || fleet.workers.length === 0) return [];
  const shared = sharedInstances(fleet.workers);
  if (shared.length === 0) {
    const instances = new Set(fleet.workers.flatMap((worker) => worker.instances.map((instance) => instanceKey(worker.host, instance.url)))).size;
    return [ok(CHECK, `each of the ${instances} instance(s) live workers report is bound by one worker`)];
  }
  return shared.map((entry) => warn(CHECK, `${entry.url} is bound by ${entry.binders.length} workers, ${describeBinders(entry.binders)}: ${SHARED_INSTANCE_ADVICE}`));
}
