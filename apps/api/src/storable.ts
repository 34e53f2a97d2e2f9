import { z } from "zod";

/**
 * PostgreSQL's text and jsonb cannot hold U+0000: a statement with it fails as a whole. Every
 * request field that reaches the database is checked, so the error names the field (a 400)
 * instead of coming back from the database as a 500.
 */
export const NUL_MESSAGE = "must not contain the NUL character (\\u0000), which PostgreSQL cannot store";

export function holdsNul(text: string): boolean {
  return text.includes("\u0000");
}

/** The path to the first key or string inside `value` holding U+0000, if any. */
function pathToNul(value: unknown, path: Array<string | number> = []): Array<string | number> | undefined {
  if (typeof value === "string") return holdsNul(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = pathToNul(item, [...path, index]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (holdsNul(key)) return [...path, JSON.stringify(key)];
      const found = pathToNul(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** A string field stored in (or compared with) PostgreSQL text. */
export const StorableString = z.string({ error: "must be a string" }).refine((text) => !holdsNul(text), NUL_MESSAGE);

/** A JSON object stored in (or compared with) a jsonb column: metadata, a metadata filter. */
export const StorableObject = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const path = pathToNul(value);
  if (path) ctx.addIssue({ code: "custom", path, message: NUL_MESSAGE });
});
