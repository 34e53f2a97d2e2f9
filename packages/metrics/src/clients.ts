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
  [/^(python-requests|python-httpx|aiohttp)\b/i, "python"],
  [/^curl\//i, "curl"],
  [/^(node|undici)\b/i, "node"],
  [/^Mozilla\//, "browser"],
];

export const CLIENT_FAMILIES = [...FAMILIES.map(([, family]) => family), "other"] as const;

export function clientFamily(userAgent: string | undefined): string {
  if (!userAgent) return "other";
  for (const [pattern, family] of FAMILIES) if (pattern.test(userAgent)) return family;
  return "other";
}
