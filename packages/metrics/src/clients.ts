/**
 * The client family named by a User-Agent header, for the `client` label. The set is fixed so
 * the label stays bounded whatever clients send; API keys (when present) will name tenants instead.
 */
const FAMILIES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^herd-(client|cli)\b/i, "herd-client"],
  [/^ollama-js\b/i, "ollama-js"],
  [/^ollama-python\b/i, "ollama-python"],
  [/^OpenAI\/JS\b/i, "openai-js"],
  [/^OpenAI\/Python\b/i, "openai-python"],
  [/^Anthropic\/JS\b/i, "anthropic-js"],
  [/^Anthropic\/Python\b/i, "anthropic-python"],
  [/^claude-cli\//i, "claude-code"],
  [/^(python-requests|python-httpx|aiohttp)\b/i, "python"],
  [/^curl\//i, "curl"],
  [/^(node|undici)\b/i, "node"],
  [/^Mozilla\//, "browser"],
];

export const CLIENT_FAMILIES = [...FAMILIES.map(([, family]) => family), "other"] as const;

// Clients send the same few User-Agents over and over: remember the answer (bounded).
const known = new Map<string, string>();

/** Runs on every job request, so a repeated User-Agent costs one map lookup. */
export function clientFamily(userAgent: string | undefined): string {
  if (!userAgent) return "other";
  const cached = known.get(userAgent);
  if (cached) return cached;
  const family = FAMILIES.find(([pattern]) => pattern.test(userAgent))?.[1] ?? "other";
  if (known.size >= 1000) known.clear();
  known.set(userAgent, family);
  return family;
}
