import { z } from "zod";

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

/** A boolean that may be left unset (undefined), for settings whose default depends on another. */
export function optionalBoolEnv() {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return undefined;
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      ctx.addIssue({ code: "custom", message: `expected a boolean (true/false/1/0), got "${raw}"` });
      return z.NEVER;
    });
}

/** A boolean written as an environment variable ("true", "1", "off", ...). */
export function boolEnv(defaultValue: boolean) {
  return optionalBoolEnv().transform((value) => value ?? defaultValue);
}

/** A positive integer with bounds, given as a string in the environment. */
export function intEnv(defaultValue: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return defaultValue;
      const value = Number(raw.trim());
      if (!Number.isInteger(value)) {
        ctx.addIssue({ code: "custom", message: `expected an integer, got "${raw}"` });
        return z.NEVER;
      }
      if (value < min || value > max) {
        ctx.addIssue({ code: "custom", message: `must be between ${min} and ${max}, got ${value}` });
        return z.NEVER;
      }
      return value;
    });
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "30s", "10m", "24h", "7d" or a bare number of `bareUnit` into milliseconds. */
export function parseDurationMs(raw: string, bareUnit: "ms" | "s"): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim().toLowerCase());
  if (!match) return undefined;
  const unit = match[2] ?? bareUnit;
  const factor = DURATION_UNITS[unit];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** A duration in milliseconds; bare numbers are milliseconds. */
export function durationMsEnv(defaultMs: number, { min = 0, max = 365 * 86_400_000 } = {}) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return defaultMs;
      const value = parseDurationMs(raw, "ms");
      if (value === undefined) {
        ctx.addIssue({ code: "custom", message: `expected a duration like 500ms, 30s, 10m, got "${raw}"` });
        return z.NEVER;
      }
      if (value < min || value > max) {
        ctx.addIssue({ code: "custom", message: `must be between ${min}ms and ${max}ms, got ${value}ms` });
        return z.NEVER;
      }
      return value;
    });
}

/**
 * A cache TTL: "7d", "24h", "3600" (seconds), or "off"/"0" to disable the layer.
 * Resolves to seconds, with 0 meaning disabled.
 */
export function ttlEnv(defaultSeconds: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return defaultSeconds;
      const word = raw.trim().toLowerCase();
      if (word === "off" || word === "false" || word === "disabled") return 0;
      const ms = parseDurationMs(word, "s");
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `expected a TTL like 3600, 24h, 7d or "off", got "${raw}"` });
        return z.NEVER;
      }
      return Math.round(ms / 1000);
    });
}

export function urlEnv(defaultValue: string, protocols: readonly string[]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw === undefined || raw.trim() === "" ? defaultValue : raw.trim();
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: "custom", message: `expected a URL, got "${value}"` });
        return z.NEVER;
      }
      if (!protocols.includes(url.protocol)) {
        ctx.addIssue({ code: "custom", message: `expected a ${protocols.join(" or ")} URL, got "${value}"` });
        return z.NEVER;
      }
      return value;
    });
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** A size in bytes: "64mb", "512kb", "1gb", a bare number of bytes, or "off"/"0". */
export function bytesEnv(defaultBytes: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return defaultBytes;
      const word = raw.trim().toLowerCase();
      if (word === "off") return 0;
      const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/.exec(word);
      if (!match) {
        ctx.addIssue({ code: "custom", message: `expected a size like 64mb or "off", got "${raw}"` });
        return z.NEVER;
      }
      return Math.round(Number(match[1]) * (SIZE_UNITS[match[2] ?? "b"] ?? 1));
    });
}

/** Like urlEnv, but absent stays undefined (the caller picks the fallback). */
export function optionalUrlEnv(protocols: readonly string[]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return undefined;
      const value = raw.trim();
      if (!URL.canParse(value) || !protocols.includes(new URL(value).protocol)) {
        ctx.addIssue({ code: "custom", message: `expected a ${protocols.join(" or ")} URL, got "${value}"` });
        return z.NEVER;
      }
      return value;
    });
}

export function enumEnv<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      if (raw === undefined || raw.trim() === "") return defaultValue;
      const value = raw.trim();
      if (!(values as readonly string[]).includes(value)) {
        ctx.addIssue({ code: "custom", message: `expected one of ${values.join(", ")}, got "${raw}"` });
        return z.NEVER;
      }
      return value as T[number];
    });
}

export function stringEnv(defaultValue: string) {
  return z
    .string()
    .optional()
    .transform((raw) => (raw === undefined || raw.trim() === "" ? defaultValue : raw.trim()));
}

/** A listen port for a side server: a number (0 picks a free one), or "off" for none (undefined). */
export function optionalPortEnv(defaultPort: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === "") return defaultPort;
      const word = raw.trim().toLowerCase();
      if (word === "off" || word === "false" || word === "disabled") return undefined;
      const value = Number(word);
      if (!Number.isInteger(value) || value < 0 || value > 65_535) {
        ctx.addIssue({ code: "custom", message: `expected a port from 0 to 65535 or "off", got "${raw}"` });
        return z.NEVER;
      }
      return value;
    });
}

/** A secret: unset or empty means "not configured" (undefined); when set, at least `minLength`. */
export function optionalSecretEnv(minLength: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === "") return undefined;
      if (raw.length < minLength) {
        ctx.addIssue({ code: "custom", message: `must be at least ${minLength} characters` });
        return z.NEVER;
      }
      return raw;
    });
}
