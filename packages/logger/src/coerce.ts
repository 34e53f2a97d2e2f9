/** Normalises anything thrown into an Error so every catch site can log it the same way. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const message =
    typeof value === "object" && value !== null && "message" in value ? String((value as { message: unknown }).message) : String(value);
  return new Error(message, { cause: value });
}
