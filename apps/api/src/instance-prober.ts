import { OllamaClient, OllamaError } from "@herd/ollama-client";

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  version?: string;
  error?: string;
}

/**
 * Live probes of the Ollama instances workers report (GET /api/version), for the health page.
 * The URLs come from the workers' configuration via their heartbeats, never from a request.
 */
export class InstanceProber {
  readonly #clients = new Map<string, OllamaClient>();

  constructor(private readonly timeoutMs = 2000) {}

  /** The client for an instance the workers report, created on first use and kept until close(). */
  client(url: string, name: string): OllamaClient {
    let client = this.#clients.get(url);
    if (!client) {
      client = new OllamaClient({ url, instance: name, connections: 2 });
      this.#clients.set(url, client);
    }
    return client;
  }

  async probe(url: string, name: string): Promise<ProbeResult> {
    const client = this.client(url, name);
    const started = performance.now();
    try {
      const version = await client.version({ timeoutMs: this.timeoutMs });
      return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10, version };
    } catch (error) {
      const message = error instanceof OllamaError ? `${error.kind}: ${error.message}` : (error as Error).message;
      return { ok: false, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: message };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#clients.values()].map((client) => client.close()));
    this.#clients.clear();
  }
}
