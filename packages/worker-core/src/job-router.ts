import type { JobKind } from "@herd/jobs";
import { instanceKey, type ModelBindingStatus, type WorkerHeartbeat } from "@herd/fleet";

/** What routing needs to know of a binding (one instance serving one model), for jobs of type J. */
export interface RouteCandidate<J> {
  readonly slots: number;
  /** Slots taken or promised (calls running, jobs at the gate or on their way to it). */
  readonly occupied: number;
  /** Typical (median) slot time of its recent calls; undefined until a few have been timed. */
  readonly typicalCallMs: number | undefined;
  /** Whether its instance has the model loaded (undefined: unknown, taken as loaded). */
  readonly loaded: boolean | undefined;
  /** Pulling now: its instance healthy, not closing, not holding off after passing a retry on. */
  readonly acceptsNow: boolean;
  /** The job's last attempt failed on this binding's instance, through the instance's fault. */
  lastFailedHere(job: J): boolean;
}

/** A peer must be expected to finish a job in at most this share of the fetcher's time to get it. */
const ROUTE_MARGIN = 0.8;

/**
 * Where a job that `fetcher` just took from the queue should run. Every idle binding waits on the
 * queue and Redis hands a new job to whichever started waiting first, so at light load jobs would
 * alternate between a fast and a slow instance. Instead, an idle peer in this process that is
 * expected to finish the job clearly sooner gets it (undefined: the fetcher keeps it).
 *
 * Only idle peers qualify: a slot that is free on a busy instance may run slower than its average
 * (real GPUs share their compute between parallel requests), and under load every free slot fills
 * anyway, so routing changes nothing there. Nor does a retry go to the instance it just failed on:
 * that binding would only pass it on again (see Binding), after a delay.
 */
export function fasterIdlePeer<J, T extends RouteCandidate<J>>(fetcher: T, peers: readonly T[], job: J): T | undefined {
  const own = fetcher.typicalCallMs;
  if (own === undefined) return undefined;
  const idle = (peer: T) => peer !== fetcher && peer.acceptsNow && peer.occupied === 0 && !peer.lastFailedHere(job);
  // With every slot of its own taken, the job would first wait about one call for a slot.
  const ownFinishMs = fetcher.occupied < fetcher.slots ? own : 2 * own;
  let best: T | undefined;
  let bestMs = ownFinishMs * ROUTE_MARGIN;
  for (const peer of peers) {
    if (!idle(peer) || peer.typicalCallMs === undefined) continue;
    if (peer.typicalCallMs < bestMs) {
      best = peer;
      bestMs = peer.typicalCallMs;
    }
  }
  if (best || fetcher.loaded !== false) return best;
  // Without the model loaded, the fetcher would first load it (seconds, maybe evicting another
  // model): an idle peer about as fast (the fetcher not clearly faster) that has it loaded runs
  // the job instead, the fastest of them.
  return peers
    .filter((peer) => idle(peer) && peer.loaded === true && peer.typicalCallMs !== undefined && !clearlyFaster(own, peer.typicalCallMs))
    .sort((a, b) => (a.typicalCallMs ?? 0) - (b.typicalCallMs ?? 0))[0];
}

/** Whether a typical call of `ms` is clearly faster (within ROUTE_MARGIN) than one of `otherMs`. */
function clearlyFaster(ms: number, otherMs: number): boolean {
  return ms <= otherMs * ROUTE_MARGIN;
}

/** A binding as fasterElsewhere and warmElsewhere see it: its instance (see instanceKey), model, kinds, typical call and whether the model is loaded. */
export interface DeferralCandidate {
  readonly key: string;
  readonly model: string;
  readonly kinds: readonly JobKind[];
  readonly typicalCallMs: number | undefined;
  readonly loaded: boolean | undefined;
}

/** The healthy instances of other workers (per their heartbeats) serving `own`'s model for its kinds, with that model's status there. */
function servingElsewhere(own: DeferralCandidate, fleet: readonly WorkerHeartbeat[], selfWorkerId: string): ModelBindingStatus[] {
  return fleet.flatMap((worker) =>
    worker.workerId === selfWorkerId
      ? []
      : worker.instances.flatMap((instance) =>
          // The same server bound by two workers is not another one; two boxes' local servers
          // (one loopback URL on two machines) are two.
          instance.healthy && instanceKey(worker.host, instance.url) !== own.key
            ? instance.models.filter((model) => model.model === own.model && own.kinds.every((kind) => model.kinds.includes(kind)))
            : [],
        ),
  );
}

/**
 * Whether `own`'s instance lacks the model while another worker's healthy instance, about as fast
 * (`own` not clearly faster), has it loaded. Such a binding defers to it (FetchDecider.deferring):
 * at light load the warm instance takes the jobs, and this one loads the model only for a backlog
 * the warm one leaves waiting. Speeds must be known on both sides: an instance never timed takes
 * its turns until it is, as in routing.
 */
export function warmElsewhere(own: DeferralCandidate, fleet: readonly WorkerHeartbeat[], selfWorkerId: string): boolean {
  const ownMs = own.typicalCallMs;
  if (own.loaded !== false || ownMs === undefined) return false;
  return servingElsewhere(own, fleet, selfWorkerId).some((model) => model.loaded === true && model.typicalMs !== undefined && !clearlyFaster(ownMs, model.typicalMs));
}

/**
 * Whether another worker process (per the fleet's heartbeats) has a healthy instance serving the
 * same model for the same kinds whose typical call takes at most ROUTE_MARGIN of `own`'s. Such a
 * binding defers to it (see FetchDecider.deferring): routing within a worker cannot reach
 * instances bound to other processes, as in a deployment of one worker per GPU box.
 */
export function fasterElsewhere(own: DeferralCandidate, fleet: readonly WorkerHeartbeat[], selfWorkerId: string): boolean {
  if (own.typicalCallMs === undefined) return false;
  const threshold = own.typicalCallMs * ROUTE_MARGIN;
  return servingElsewhere(own, fleet, selfWorkerId).some((model) => model.typicalMs !== undefined && model.typicalMs <= threshold);
}
