import type { WorkerHeartbeat } from "./heartbeat.js";
import { instanceKey } from "./identity.js";

/** A worker binding an Ollama server, as its heartbeat says. */
export type InstanceBinder = Pick<WorkerHeartbeat, "workerId" | "host">;

/** One Ollama server that several workers bind at once. */
export interface SharedInstance {
  /** See instanceKey. */
  key: string;
  url: string;
  binders: InstanceBinder[];
}

/**
 * The Ollama servers that more than one worker binds (one server: one instanceKey). Each of those
 * workers fills the slots it was given without knowing of the others, so together they send the
 * server more calls at once than it has slots, and Ollama queues the rest inside itself: the very
 * thing pulling by free slots is there to prevent. A worker listed twice under one id (two
 * processes sharing HERD_WORKER_ID) counts once: that mistake has a warning of its own.
 */
export function sharedInstances(workers: readonly WorkerHeartbeat[]): SharedInstance[] {
  const byKey = new Map<string, SharedInstance>();
  for (const worker of workers) {
    for (const instance of worker.instances) {
      const key = instanceKey(worker.host, instance.url);
      let shared = byKey.get(key);
      if (!shared) {
        shared = { key, url: instance.url, binders: [] };
        byKey.set(key, shared);
      }
      if (shared.binders.some((binder) => binder.workerId === worker.workerId)) continue;
      shared.binders.push({ workerId: worker.workerId, host: worker.host });
    }
  }
  return [...byKey.values()].filter((shared) => shared.binders.length > 1);
}

/** "w-a (host a), w-b (host b)": who binds a shared instance, for messages. */
export function describeBinders(binders: readonly InstanceBinder[]): string {
  return binders.map((binder) => `${binder.workerId} (${binder.host})`).join(", ");
}

/** What to do about a shared instance, in every message that reports one. */
export const SHARED_INSTANCE_ADVICE =
  "each of them fills the instance's slots, so together they send it more calls at once than it has and Ollama queues the rest inside itself; give each instance to one worker, or set HERD_CLAIM_INSTANCES on every worker that lists it (each instance is then claimed by one)";
