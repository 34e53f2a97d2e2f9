import type { ChainableCommander } from "ioredis";

/**
 * Sends a pipeline or MULTI and gives each command's reply, in order. ioredis resolves `exec()`
 * even when commands in it fail (WRONGTYPE, OOM under `noeviction`, NOPERM from an ACL), with each
 * error next to its command; a caller that reads only the values takes a failed write for a done
 * one and a failed read for a missing key. This throws the first such error instead.
 */
export async function execAll(batch: ChainableCommander): Promise<unknown[]> {
  const results = await batch.exec();
  // Only a MULTI whose WATCHed key changed gives null; Herd watches none, so this is a fault too.
  if (results === null) throw new Error("Redis transaction aborted (EXEC returned null)");
  const failed = results.find(([error]) => error !== null);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}
