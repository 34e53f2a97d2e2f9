import { z } from "zod";
import { herdKeys } from "@herd/jobs";
import type { RedisClient } from "@herd/redis";

/**
 * What an Ollama instance said of itself at the worker's last discovery: its /api/tags entries and
 * each model's /api/show answer, as Ollama sent them. The API answers /api/tags and /api/show for
 * an instance it cannot call itself (bound by a worker on another machine through a loopback URL)
 * from these.
 */
export const InstanceDescription = z.object({
  tags: z.array(z.looseObject({ name: z.string() })),
  show: z.record(z.string(), z.unknown()),
});
export type InstanceDescription = z.infer<typeof InstanceDescription>;

/**
 * Instance descriptions in Redis, one key per (worker, instance URL), written at each discovery
 * and kept for `ttlMs` after the last one. A worker writes a description again only when it
 * changed (a real /api/show carries the model's license and template, tens of kB) and otherwise
 * extends its lifetime.
 */
export class InstanceDescriptions {
  readonly #keys: ReturnType<typeof herdKeys>;
  readonly #written = new Map<string, string>();

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#keys = herdKeys(prefix);
  }

  async publish(workerId: string, url: string, description: InstanceDescription, ttlMs: number): Promise<void> {
    const key = this.#keys.instanceDescription(workerId, url);
    const value = JSON.stringify(description);
    if (this.#written.get(key) === value && (await this.redis.pexpire(key, ttlMs)) === 1) return;
    await this.redis.set(key, value, "PX", ttlMs);
    this.#written.set(key, value);
  }

  /** The description `workerId` published of `url`; undefined when there is none or it is malformed. */
  async read(workerId: string, url: string): Promise<InstanceDescription | undefined> {
    const raw = await this.redis.get(this.#keys.instanceDescription(workerId, url));
    if (raw === null) return undefined;
    try {
      const parsed = InstanceDescription.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  async remove(workerId: string, urls: readonly string[]): Promise<void> {
    if (urls.length === 0) return;
    await this.redis.del(...urls.map((url) => this.#keys.instanceDescription(workerId, url)));
    for (const url of urls) this.#written.delete(this.#keys.instanceDescription(workerId, url));
  }
}
