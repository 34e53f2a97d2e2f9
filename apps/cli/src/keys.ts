import { parseArgs } from "node:util";
import Table from "cli-table3";
import type { RedisClient } from "@herd/redis";
import { ApiKeys, KeyError, type RateLimit } from "@herd/access";
import { KeysEnv, loadConfig, parseRate, toKeysConfig, type EnvSource } from "@herd/config";
import { connectOnce } from "./redis-check.js";

export const KEYS_USAGE = `Usage: herd keys create --name NAME [--tenant TENANT] [--rate 20/s|600/m|10000/h] [--concurrency N]
       herd keys list [--json]
       herd keys revoke ID|NAME

API keys for the API (HERD_AUTH=keys, the default). A key is shown once, when it is created;
Redis keeps only its SHA-256. Clients send it as Authorization: Bearer <key>. The tenant (default:
the name) owns what the key creates. --rate limits the key's requests across every API process
(429 with Retry-After beyond it); --concurrency limits the jobs it may have queued or running at
once. Without them the API's HERD_DEFAULT_RATE and HERD_DEFAULT_CONCURRENCY apply. A revoked key stops working within HERD_KEY_CACHE (5 s).
Reads REDIS_URL and HERD_PREFIX.`;

function rateOption(text: string): RateLimit {
  const rate = parseRate(text);
  if (!rate) throw new KeyError(`rate must look like 20/s, 600/m or 10000/h, got ${JSON.stringify(text)}`);
  return rate;
}

function parseConcurrency(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new KeyError(`--concurrency must be a whole number of jobs (1 or more), got ${JSON.stringify(text)}`);
  return value;
}

/** `herd keys …`: returns the exit code (0 ok, 2 usage or input error). */
export async function keysCommand(argv: string[], env: EnvSource, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { name: { type: "string" }, tenant: { type: "string" }, rate: { type: "string" }, concurrency: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } } });
  if (values.help || action === undefined || action === "help") {
    out.write(`${KEYS_USAGE}\n`);
    return action === undefined ? 2 : 0;
  }
  const config = loadConfig(KeysEnv, toKeysConfig, env);
  let redis: RedisClient | undefined;
  try {
    redis = await connectOnce({ url: config.redisUrl, cluster: config.redisCluster }, 3000);
    const keys = new ApiKeys(redis, config.prefix);
    switch (action) {
      case "create": {
        if (!values.name) throw new KeyError("--name is required");
        const { token, key } = await keys.create({ name: values.name, ...(values.tenant ? { tenant: values.tenant } : {}), ...(values.rate ? { rate: rateOption(values.rate) } : {}), ...(values.concurrency !== undefined ? { concurrency: parseConcurrency(values.concurrency) } : {}) });
        const limits = key.concurrency ? `, at most ${key.concurrency} jobs at once` : "";
        const rate = key.rate ? `, ${key.rate.requests} requests per ${key.rate.perSeconds === 1 ? "second" : key.rate.perSeconds === 60 ? "minute" : "hour"}` : "";
        out.write(`created key ${key.id} "${key.name}" (tenant ${key.tenant}${rate}${limits})\n\n  ${token}\n\nThis is the only time the key is shown: store it now.\n`);
        return 0;
      }
      case "list": {
        const list = await keys.list();
        if (values.json) {
          out.write(`${JSON.stringify(list, null, 2)}\n`);
          return 0;
        }
        const table = new Table({ head: ["id", "name", "tenant", "rate", "created", "status"], style: { head: [], border: [], compact: true } });
        for (const key of list) table.push([key.id, key.name, key.tenant, key.rate ? `${key.rate.requests}/${key.rate.perSeconds === 1 ? "s" : key.rate.perSeconds === 60 ? "m" : "h"}` : "default", key.createdAt, key.revokedAt ? `revoked ${key.revokedAt}` : "active"]);
        out.write(list.length > 0 ? `${table.toString()}\n` : "no API keys yet: herd keys create --name <who>\n");
        return 0;
      }
      case "revoke": {
        const target = positionals[0];
        if (!target) throw new KeyError("which key? herd keys revoke ID|NAME");
        const key = await keys.revoke(target);
        out.write(`revoked key ${key.id} "${key.name}" (tenant ${key.tenant}) at ${key.revokedAt}\n`);
        return 0;
      }
      default:
        err.write(`herd keys: unknown action "${action}"\n\n${KEYS_USAGE}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof KeyError) {
      err.write(`herd keys: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    redis?.disconnect();
  }
}
