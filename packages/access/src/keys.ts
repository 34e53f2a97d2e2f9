import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { RedisClient } from "@herd/redis";
import { z } from "zod";
import { herdKeys } from "@herd/jobs";

/** What Redis keeps of a key: never the secret, only its SHA-256 (the secret is 256 random bits). */
export const ApiKeyRecord = z.object({
  id: z.string(),
  name: z.string(),
  tenant: z.string(),
  hash: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  /** Most requests per window for this key, across every API process; none: the API's default. */
  rate: z.object({ requests: z.number().int().positive(), perSeconds: z.number().int().positive() }).optional(),
  /** Most jobs this key may have queued or running at once; none: the API's default. */
  concurrency: z.number().int().positive().optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecord>;

export type ApiKeyInfo = Omit<ApiKeyRecord, "hash">;

/** The caller a request was authenticated as. */
export interface Principal {
  keyId: string;
  name: string;
  tenant: string;
  rate?: RateLimit | undefined;
  concurrency?: number | undefined;
}

export type RateLimit = { requests: number; perSeconds: number };

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const TOKEN = /^herd_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class KeyError extends Error {}

/**
 * API keys in the queue Redis, shared by every API process. A key reads `herd_<id>_<secret>`: the id
 * finds the record, the secret is checked against its hash in constant time. Verified keys are
 * remembered in the process for `cacheMs`, so a revocation takes effect within that time.
 */
export class ApiKeys {
  readonly #keys: ReturnType<typeof herdKeys>;
  readonly #verified = new Map<string, { principal: Principal | undefined; until: number }>();

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly cacheMs = 5000,
  ) {
    this.#keys = herdKeys(prefix);
  }

  /** Creates a key; the returned token is the only time the secret exists outside the caller. */
  async create(input: { name: string; tenant?: string; rate?: RateLimit; concurrency?: number }): Promise<{ token: string; key: ApiKeyInfo }> {
    if (!NAME.test(input.name)) throw new KeyError(`name must be 1 to 64 letters, digits, '.', '_' or '-': ${JSON.stringify(input.name)}`);
    const tenant = input.tenant ?? input.name;
    if (!NAME.test(tenant)) throw new KeyError(`tenant must be 1 to 64 letters, digits, '.', '_' or '-': ${JSON.stringify(tenant)}`);
    if ((await this.list()).some((key) => key.name === input.name && !key.revokedAt)) throw new KeyError(`a key named "${input.name}" exists; revoke it first or choose another name`);
    const id = randomBytes(6).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const record: ApiKeyRecord = { id, name: input.name, tenant, hash: sha256(secret), createdAt: new Date().toISOString(), ...(input.rate ? { rate: input.rate } : {}), ...(input.concurrency ? { concurrency: input.concurrency } : {}) };
    const created = await this.redis.set(this.#keys.apiKey(id), JSON.stringify(record), "NX");
    if (created !== "OK") throw new KeyError("key id collision; try again");
    await this.redis.sadd(this.#keys.apiKeys, id);
    const { hash: _hash, ...key } = record;
    return { token: `herd_${id}_${secret}`, key };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const ids = await this.redis.smembers(this.#keys.apiKeys);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => this.#keys.apiKey(id)));
    return values
      .flatMap((value) => {
        const parsed = value ? ApiKeyRecord.safeParse(JSON.parse(value)) : undefined;
        if (!parsed?.success) return [];
        const { hash: _hash, ...key } = parsed.data;
        return [key];
      })
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes by id or by name (the active key of that name); returns what was revoked. */
  async revoke(idOrName: string): Promise<ApiKeyInfo> {
    const keys = await this.list();
    const key = keys.find((candidate) => candidate.id === idOrName) ?? keys.find((candidate) => candidate.name === idOrName && !candidate.revokedAt);
    if (!key) throw new KeyError(`no key with id or name ${JSON.stringify(idOrName)}`);
    if (key.revokedAt) return key;
    const raw = await this.redis.get(this.#keys.apiKey(key.id));
    const record = ApiKeyRecord.parse(JSON.parse(raw ?? "{}"));
    const revoked = { ...record, revokedAt: new Date().toISOString() };
    await this.redis.set(this.#keys.apiKey(key.id), JSON.stringify(revoked));
    const { hash: _hash, ...info } = revoked;
    return info;
  }

  /** The principal a bearer token stands for, or undefined for a malformed, unknown or revoked one. */
  async verify(token: string): Promise<Principal | undefined> {
    const now = Date.now();
    const known = this.#verified.get(token);
    if (known && known.until > now) return known.principal;
    const match = TOKEN.exec(token);
    let principal: Principal | undefined;
    if (match) {
      const raw = await this.redis.get(this.#keys.apiKey(match[1] as string));
      const parsed = raw ? ApiKeyRecord.safeParse(JSON.parse(raw)) : undefined;
      if (parsed?.success && !parsed.data.revokedAt) {
        const expected = Buffer.from(parsed.data.hash, "hex");
        const actual = Buffer.from(sha256(match[2] as string), "hex");
        if (expected.length === actual.length && timingSafeEqual(expected, actual)) principal = { keyId: parsed.data.id, name: parsed.data.name, tenant: parsed.data.tenant, rate: parsed.data.rate, concurrency: parsed.data.concurrency };
      }
    }
    if (this.#verified.size > 10_000) this.#verified.clear();
    this.#verified.set(token, { principal, until: now + this.cacheMs });
    return principal;
  }
}
