import type { ChainableCommander } from "ioredis";

/**
 * Sends a pipeline or MULTI and gives each command's reply, in order. ioredis resolves `exec()`
 * even when commands in it fail (WRONGTYPE, OOM under `noeviction`, NOPERM from an ACL), with each
 * error next to its command; a caller that reads only the values takes a failed write for a done
 * one and a failed read for a missing key. This throws the first such error instead.
 */
export async function execAll(batch: ChainableCommander): Promise<unknown[]> {
  let results: Array<[Error | null, unknown]> | null;
  try {
    results = await batch.exec();
  } catch (error) {
    throw causeOfAbort(error);
  }
  // Only a MULTI whose WATCHed key changed gives null; Herd watches none, so this is a fault too.
  if (results === null) throw new Error("Redis transaction aborted (EXEC returned null)");
  const failed = results.find(([error]) => error !== null);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}

/**
 * A MULTI that Redis refused while queueing its commands (OOM under `noeviction`, READONLY on a
 * demoted primary, NOPERM) fails as a whole with "EXECABORT Transaction discarded because of
 * previous errors"; ioredis keeps the refusals in `previousErrors`. The first of them says why, and
 * is what callers classify (out of memory, unavailable): the EXECABORT itself says nothing.
 */
export function causeOfAbort(error: unknown): unknown {
  if (!(error instanceof Error) || !/^EXECABORT /.test(error.message)) return error;
  const [first] = (error as Error & { previousErrors?: unknown[] }).previousErrors ?? [];
  return first instanceof Error ? first : error;
}
