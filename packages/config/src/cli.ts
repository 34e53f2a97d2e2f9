import { z } from "zod";
import { urlEnv } from "./primitives.js";

/** Settings of the `herd` commands that talk to a running API. */
export const CliEnv = z.object({
  HERD_URL: urlEnv("http://127.0.0.1:8008", ["http:", "https:"]),
});

export interface CliConfig {
  url: string;
}

export function toCliConfig(env: z.output<typeof CliEnv>): CliConfig {
  return { url: env.HERD_URL };
}
