import { hostname } from "node:os";
import { z } from "zod";
import { isLoopback } from "./api.js";

/** One Ollama instance a worker process is bound to. */
export const InstanceConfig = z
  .object({
    url: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
    /** Stable, human-readable name used in heartbeats, job records and metrics labels. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "names use letters, digits, '.', '_' or '-' (at most 64)")
      .optional(),
    /**
     * Parallel requests per model (Ollama's OLLAMA_NUM_PARALLEL). Embedding-only models always
     * run one at a time inside Ollama, so they get 1 unless `models` names them explicitly.
     */
    slots: z.number().int().min(1).max(256).optional(),
    /** Per-model slot overrides, keyed by model name (":latest" may be omitted). */
    models: z.record(z.string().min(1), z.number().int().min(1).max(256)).optional(),
    /** Relative speed hint, reported in heartbeats; pulling itself needs no weights. */
    weight: z.number().positive().max(1000).optional(),
  })
  .strict();
export type InstanceConfig = z.infer<typeof InstanceConfig>;

export interface ResolvedInstance {
  name: string;
  url: string;
  slots: number | undefined;
  models: Record<string, number>;
  weight: number;
}

/**
 * Whether `url` names the machine it is used on (localhost, 127.0.0.0/8, ::1; 0.0.0.0 and :: dial
 * it too). Ollama listens on 127.0.0.1:11434 unless told otherwise, so a worker beside it on each
 * GPU box is bound to `http://127.0.0.1:11434` on every box, and that one URL names a different
 * server on each.
 */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return isLoopback(host) || host.endsWith(".localhost") || host === "0.0.0.0" || host === "[::]";
}

/**
 * `host-port` from the URL; for a loopback URL the machine's name instead of the address, so that
 * each GPU box's local Ollama keeps its own name in job records, logs and metrics.
 */
export function defaultInstanceName(url: string, machine = hostname()): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${isLoopbackUrl(url) ? machine : parsed.hostname}-${port}`.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64);
}

/**
 * `HERD_INSTANCES` is either a JSON array of instance objects or a comma-separated list of URLs.
 */
export const InstancesEnv = z
  .string()
  .optional()
  .transform((raw, ctx): ResolvedInstance[] => {
    if (raw === undefined || raw.trim() === "") return [];
    const text = raw.trim();
    let candidates: unknown[];
    if (text.startsWith("[")) {
      try {
        const parsed: unknown = JSON.parse(text);
        candidates = Array.isArray(parsed) ? parsed : [parsed];
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `not valid JSON: ${(error as Error).message}` });
        return z.NEVER;
      }
    } else {
      candidates = text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part.length > 0)
        .map((url) => ({ url }));
    }
    const resolved: ResolvedInstance[] = [];
    const names = new Set<string>();
    candidates.forEach((candidate, index) => {
      const result = InstanceConfig.safeParse(candidate);
      if (!result.success) {
        for (const issue of result.error.issues) {
          ctx.addIssue({ code: "custom", message: `[${index}]${issue.path.map((p) => `.${String(p)}`).join("")}: ${issue.message}` });
        }
        return;
      }
      const name = result.data.name ?? defaultInstanceName(result.data.url);
      if (names.has(name)) {
        ctx.addIssue({ code: "custom", message: `[${index}]: duplicate instance name "${name}"` });
        return;
      }
      names.add(name);
      resolved.push({
        name,
        url: result.data.url,
        slots: result.data.slots,
        models: result.data.models ?? {},
        weight: result.data.weight ?? 1,
      });
    });
    return resolved;
  });
