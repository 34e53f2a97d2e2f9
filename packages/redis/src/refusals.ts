/**
 * Redis's refusal of a write for want of memory (`maxmemory` reached under `noeviction`):
 * "OOM command not allowed when used memory > 'maxmemory'." Reads still work; the state passes
 * once memory is freed or the limit raised.
 */
export function isOutOfMemory(error: unknown): boolean {
  return error instanceof Error && /^OOM /.test(error.message);
}
