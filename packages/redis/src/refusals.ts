import { causeOfAbort } from "./batch.js";

/**
 * Redis's refusal of a write for want of memory (`maxmemory` reached under `noeviction`):
 * "OOM command not allowed when used memory > 'maxmemory'." Reads still work; the state passes
 * once memory is freed or the limit raised.
 */
export function isOutOfMemory(error: unknown): boolean {
  // A MULTI refused while queueing fails as EXECABORT: the refusal is its cause (causeOfAbort).
  const cause = causeOfAbort(error);
  return cause instanceof Error && /^OOM /.test(cause.message);
}
