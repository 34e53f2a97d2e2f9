import { z } from "zod";
import { normalizeModel, RUNNER_OPTION_NAMES, RunnerOptions } from "@herd/jobs";

/** What HERD_MODEL_OPTIONS fixes for one model. */
export interface ModelPin {
  /** Runner options sent in place of the request's own. */
  options: RunnerOptions;
  /** Ollama's keep_alive sent in place of the request's own (seconds, or a Go duration). */
  keepAlive?: string | number;
}

/** Pins per model, keyed by the normalised, lower-cased model name (`llama3.2:latest`). */
export type PinnedModelOptions = Readonly<Record<string, ModelPin>>;

const EXAMPLE = `{"llama3.2": {"num_ctx": 8192, "keep_alive": "24h"}}`;
const PINNABLE = [...RUNNER_OPTION_NAMES, "keep_alive"] as const;

/** Ollama's keep_alive (api/types.go Duration): seconds, or a Go duration ("10m", "24h", "-1s"). */
const KeepAliveSetting = z.union([
  z.number().finite(),
  z.string().regex(/^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/, 'must be seconds or a duration like "30m", "24h" or "-1s" (negative: keep loaded)'),
]);

/**
 * `HERD_MODEL_OPTIONS`: a JSON object from model name to what every request for that model is
 * sent with, whatever the request asked for: runner options and keep_alive, the settings through
 * which one client makes Ollama reload or unload a model that others are using. Sampling options
 * are refused: pinning them would silently change answers.
 */
export const ModelOptionsEnv = z
  .string()
  .optional()
  .transform((raw, ctx): PinnedModelOptions => {
    if (raw === undefined || raw.trim() === "") return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `not valid JSON: ${(error as Error).message}` });
      return z.NEVER;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      ctx.addIssue({ code: "custom", message: `expected a JSON object from model name to pinned options, e.g. ${EXAMPLE}` });
      return z.NEVER;
    }
    const pinned: Record<string, ModelPin> = {};
    const spelledAs = new Map<string, string>();
    const issue = (message: string) => ctx.addIssue({ code: "custom", message });
    for (const [name, value] of Object.entries(parsed)) {
      if (name.trim() === "") {
        issue("a model name is empty");
        continue;
      }
      const model = normalizeModel(name).toLowerCase();
      const earlier = spelledAs.get(model);
      if (earlier !== undefined) {
        issue(`"${name}" and "${earlier}" name the same model (${model})`);
        continue;
      }
      spelledAs.set(model, name);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        issue(`${name}: expected an object of runner options and keep_alive, e.g. {"num_ctx": 8192}`);
        continue;
      }
      const others = Object.keys(value).filter((key) => !(PINNABLE as readonly string[]).includes(key));
      for (const key of others) issue(`${name}.${key}: only runner options and keep_alive can be pinned (${PINNABLE.join(", ")})`);
      if (others.length > 0) continue;
      const { keep_alive: keepAlive, ...runner } = value as Record<string, unknown>;
      const options = RunnerOptions.safeParse(runner);
      const kept = keepAlive === undefined ? undefined : KeepAliveSetting.safeParse(keepAlive);
      for (const found of options.error?.issues ?? []) issue(`${name}.${found.path.map(String).join(".")}: ${found.message}`);
      for (const found of kept?.error?.issues ?? []) issue(`${name}.keep_alive: ${found.message}`);
      if (!options.success || kept?.success === false) continue;
      pinned[model] = { options: options.data, ...(kept ? { keepAlive: kept.data } : {}) };
    }
    return pinned;
  });
