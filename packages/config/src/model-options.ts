import { z } from "zod";
import { normalizeModel, RUNNER_OPTION_NAMES, RunnerOptions } from "@herd/jobs";

/** Runner options pinned per model, keyed by the normalised, lower-cased model name (`llama3.2:latest`). */
export type PinnedModelOptions = Readonly<Record<string, RunnerOptions>>;

const EXAMPLE = `{"llama3.2": {"num_ctx": 8192}}`;

/**
 * `HERD_MODEL_OPTIONS`: a JSON object from model name to the runner options every request for that
 * model is sent with, whatever the request asked for. Only runner options are taken: they are what
 * makes Ollama reload a model, and pinning sampling options would silently change answers.
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
      ctx.addIssue({ code: "custom", message: `expected a JSON object from model name to runner options, e.g. ${EXAMPLE}` });
      return z.NEVER;
    }
    const pinned: Record<string, RunnerOptions> = {};
    const spelledAs = new Map<string, string>();
    for (const [name, value] of Object.entries(parsed)) {
      if (name.trim() === "") {
        ctx.addIssue({ code: "custom", message: "a model name is empty" });
        continue;
      }
      const model = normalizeModel(name).toLowerCase();
      const earlier = spelledAs.get(model);
      if (earlier !== undefined) {
        ctx.addIssue({ code: "custom", message: `"${name}" and "${earlier}" name the same model (${model})` });
        continue;
      }
      spelledAs.set(model, name);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: "custom", message: `${name}: expected an object of runner options, e.g. {"num_ctx": 8192}` });
        continue;
      }
      const others = Object.keys(value).filter((key) => !(RUNNER_OPTION_NAMES as readonly string[]).includes(key));
      for (const key of others) {
        ctx.addIssue({ code: "custom", message: `${name}.${key}: only runner options can be pinned (${RUNNER_OPTION_NAMES.join(", ")})` });
      }
      if (others.length > 0) continue;
      const result = RunnerOptions.safeParse(value);
      if (!result.success) {
        for (const issue of result.error.issues) ctx.addIssue({ code: "custom", message: `${name}.${issue.path.map(String).join(".")}: ${issue.message}` });
        continue;
      }
      pinned[model] = result.data;
    }
    return pinned;
  });
