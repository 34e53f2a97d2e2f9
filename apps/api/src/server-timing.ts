/**
 * The `Server-Timing` header of a job request: where its time went inside the API, in
 * consecutive segments (browser devtools and `curl -i` show it). Everything outside the segments
 * (the network, HTTP parsing, body parsing before the route) is the client's total minus their sum.
 * Each mark updates the response's header, so whichever answer goes out carries the segments so far.
 */
export class ServerTiming {
  #last = performance.now();
  readonly #entries: string[] = [];

  constructor(private readonly response: { setHeader(name: string, value: string): unknown }) {}

  /** Closes the segment that started at the previous mark (or at construction). */
  mark(name: string, description: string): void {
    const now = performance.now();
    this.#entries.push(`${name};dur=${(now - this.#last).toFixed(2)};desc="${description}"`);
    this.#last = now;
    this.response.setHeader("Server-Timing", this.#entries.join(", "));
  }
}

/** One `Server-Timing` entry as the benchmark and tests read it back. */
export interface TimingEntry {
  name: string;
  durationMs: number;
  description: string | undefined;
}

/** Splits on `separator` where it is not inside a quoted string. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}

export function parseServerTiming(header: string | null | undefined): TimingEntry[] {
  if (!header) return [];
  return splitOutsideQuotes(header, ",").flatMap((part) => {
    const [name, ...params] = splitOutsideQuotes(part.trim(), ";").map((piece) => piece.trim());
    if (!name) return [];
    const value = (key: string) => params.find((param) => param.startsWith(`${key}=`))?.slice(key.length + 1);
    const duration = Number(value("dur"));
    const description = value("desc")?.replace(/^"|"$/g, "");
    return Number.isFinite(duration) ? [{ name, durationMs: duration, description }] : [];
  });
}
