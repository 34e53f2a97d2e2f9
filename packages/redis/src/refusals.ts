/**
 * Redis's refusal of a write for want of memory (`maxmemory` reached under `noeviction`):
 * "OOM command not allowed when used memory > 'maxmemory'." Reads still work; the state passes
 * once memory is freed or the limit raised.
 */
export function isOutOfMemory(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (/^OOM /.test(error.message)) return true;
  // A MULTI refused while queueing (see causeOfAbort): EXECABORT, with the OOM among its causes.
  const previous = (error as Error & { previousErrors?: unknown[] }).previousErrors;
  return /^EXECABORT /.test(error.message) && Array.isArray(previous) && previous.some((cause) => isOutOfMemory(cause));
}
