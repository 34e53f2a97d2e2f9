import type { IncomingMessage, ServerResponse } from "node:http";

/** Ollama's status-carrying error: always answered as `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "http: request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Go's encoding/json error texts for the common cases, so clients see what Ollama would say. */
function goJsonError(text: string, error: Error): string {
  const first = /\S/.exec(text);
  if (first && !/[[{"\-0-9tfn]/.test(first[0])) return `invalid character '${first[0]}' looking for beginning of value`;
  if (/end of (JSON|data)|Unterminated/i.test(error.message)) return "unexpected EOF";
  const position = /position (\d+)/.exec(error.message);
  const bad = position ? text.charAt(Number(position[1])) : "";
  return bad ? `invalid character '${bad}' after top-level value` : "unexpected EOF";
}

/** Parses a JSON object body; Ollama answers `missing request body` when there is nothing. */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === "") throw new HttpError(400, "missing request body");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, goJsonError(text, error as Error));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const type = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
    throw new HttpError(400, `json: cannot unmarshal ${type} into Go value of type api.Request`);
  }
  return value as Record<string, unknown>;
}

function goType(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "object" ? "object" : typeof value;
}

/** Mirrors a Go unmarshal type error for a struct field. */
export function expectType(body: Record<string, unknown>, field: string, type: "string" | "boolean" | "number" | "object" | "array", struct: string): void {
  const value = body[field];
  if (value === undefined || value === null) return;
  const actual = goType(value);
  if (actual !== type) {
    const goTarget = { string: "string", boolean: "bool", number: "int", object: "map[string]interface {}", array: "[]" }[type];
    throw new HttpError(400, `json: cannot unmarshal ${actual} into Go struct field ${struct}.${field} of type ${goTarget}`);
  }
}

/** A JSON body that is already text (used to emit values JSON.stringify cannot produce). */
export class RawJson {
  constructor(readonly text: string) {}
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const payload = body instanceof RawJson ? body.text : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

export function sendText(res: ServerResponse, status: number, text: string, method: string | undefined): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(method === "HEAD" ? undefined : text);
}

/** Writes NDJSON lines; headers go out with the first line, as gin's c.Stream does. */
export class NdjsonWriter {
  constructor(private readonly res: ServerResponse) {}

  write(line: unknown): void {
    if (this.res.destroyed) return;
    if (!this.res.headersSent) this.res.writeHead(200, { "Content-Type": "application/x-ndjson" });
    this.res.write(`${JSON.stringify(line)}\n`);
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }
}

/** Go's time.Duration string ("5m", "1h30m", "-1s", "250ms"). */
export function parseGoDuration(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const match = /^([+-])?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+|0)$/.exec(text.trim());
  if (!match) return undefined;
  const sign = match[1] === "-" ? -1 : 1;
  let total = 0;
  for (const part of (match[2] ?? "").matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * (units[part[2] as string] ?? 0);
  return sign * total;
}

/** `keep_alive`: a number of seconds or a Go duration; negative keeps the model forever. */
export function parseKeepAlive(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return value < 0 ? -1 : value * 1000;
  if (typeof value === "string") {
    const ms = parseGoDuration(value);
    if (ms === undefined) throw new HttpError(400, `time: invalid duration "${value}"`);
    return ms < 0 ? -1 : ms;
  }
  throw new HttpError(400, `Unsupported type: '${goType(value)}'`);
}

/** Ollama timestamps: RFC 3339 with nanoseconds in UTC. */
export function nowRfc3339Nano(): string {
  const epochMs = performance.timeOrigin + performance.now();
  const whole = Math.floor(epochMs);
  const subMs = String(Math.floor((epochMs - whole) * 1e6)).padStart(6, "0");
  return new Date(whole).toISOString().replace(/Z$/, `${subMs}Z`);
}

export function msToNs(ms: number): number {
  return Math.max(0, Math.round(ms * 1e6));
}

/** Ollama omits zero metric fields (`omitempty`). */
export function withoutZeroes<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== 0 && value !== undefined)) as Partial<T>;
}
