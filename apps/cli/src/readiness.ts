interface ReadyBody {
  status?: string;
  redis?: string;
  workers?: number;
}

interface FleetBody {
  workers?: Array<{ instances?: Array<{ name: string; url: string; healthy: boolean; lastError?: string }> }>;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T | undefined }> {
  const response = await fetch(url);
  const body = (await response.json().catch(() => undefined)) as T | undefined;
  return { status: response.status, body };
}

/**
 * Why the API at `apiUrl` is not ready, in words a user can act on (undefined once it is):
 * Redis, no worker yet, or each Ollama instance that does not answer with its last error.
 */
export async function notReadyReason(apiUrl: string): Promise<string | undefined> {
  let ready: { status: number; body: ReadyBody | undefined };
  try {
    ready = await getJson<ReadyBody>(`${apiUrl}/ready`);
  } catch {
    return "the API does not answer yet";
  }
  if (ready.status === 200) return undefined;
  if (ready.body?.redis !== undefined && ready.body.redis !== "ok") return `Redis is ${ready.body.redis}`;
  if (ready.body?.workers === 0) return "no worker has joined the fleet yet";
  // Behind API keys the fleet is not readable without one: the reason stays general.
  const fleet = await getJson<FleetBody>(`${apiUrl}/v1/fleet`).catch(() => undefined);
  const down = (fleet?.body?.workers ?? []).flatMap((worker) => worker.instances ?? []).filter((instance) => !instance.healthy);
  if (down.length === 0) return "no Ollama instance is healthy yet";
  return `no Ollama instance is healthy: ${down.map((instance) => `${instance.name} (${instance.url}): ${instance.lastError ?? "not probed yet"}`).join("; ")}`;
}

/**
 * Waits up to `timeoutMs` for the API to be ready. From `quietMs` on, says why it is not, each time
 * the reason changes. Resolves with undefined once ready, else with the last reason.
 */
export async function waitUntilReady(apiUrl: string, timeoutMs: number, report: (reason: string) => void, quietMs = 5000, intervalMs = 250): Promise<string | undefined> {
  const started = Date.now();
  let reported: string | undefined;
  let reason: string | undefined = "not checked yet";
  while (Date.now() - started < timeoutMs) {
    reason = await notReadyReason(apiUrl);
    if (reason === undefined) return undefined;
    if (Date.now() - started >= quietMs && reason !== reported) {
      reported = reason;
      report(reason);
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
  return reason;
}
