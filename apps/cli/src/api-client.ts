import { HerdClient } from "@herd/client";
import { CliEnv, loadConfig, toCliConfig, type EnvSource } from "@herd/config";

/** The Herd API client of a command: `--url` else HERD_URL, with HERD_API_KEY as its API key. */
export function clientFor(url: string | undefined, env: EnvSource): HerdClient {
  const config = loadConfig(CliEnv, toCliConfig, url ? { ...env, HERD_URL: url } : env);
  return new HerdClient({ baseUrl: config.url, ...(config.apiKey ? { headers: { authorization: `Bearer ${config.apiKey}` } } : {}) });
}
