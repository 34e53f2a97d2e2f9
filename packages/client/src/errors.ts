/** An error answered by Herd (`{ error: { code, message } }`), or a transport failure (status 0). */
export class HerdError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "HerdError";
  }
}
