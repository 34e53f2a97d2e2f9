import type { z } from "zod";
import { ConfigError, formatIssues } from "./errors.js";

export type EnvSource = Readonly<Record<string, string | undefined>>;

/**
 * Parses an environment once at start-up. Unknown variables are ignored; every invalid one is
 * reported by name in a single ConfigError so a bad deployment fails at boot, not at first use.
 */
export function loadConfig<S extends z.ZodType, C>(schema: S, build: (env: z.output<S>) => C, env: EnvSource): C {
  const result = schema.safeParse(env);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  return build(result.data);
}
