import { z } from "zod";

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

export function defaultInstanceName(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${parsed.hostname}-${port}`.replace(/[^A-Za-z0-9._-]/g, "_");
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
