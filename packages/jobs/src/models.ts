/**
 * Ollama treats "llama3.2" and "llama3.2:latest" as the same model; queues, cache keys and the
 * fleet view all use the normalised form so both spellings meet in one place.
 */
export function normalizeModel(name: string): string {
  const trimmed = name.trim();
  const lastSlash = trimmed.lastIndexOf("/");
  const tail = trimmed.slice(lastSlash + 1);
  return tail.includes(":") ? trimmed : `${trimmed}:latest`;
}

export const JOB_KINDS = ["embed", "generate"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export function isJobKind(value: string): value is JobKind {
  return (JOB_KINDS as readonly string[]).includes(value);
}

/**
 * One queue per (kind, model). BullMQ separates key parts with ":", which model tags contain, so
 * the model is escaped like percent-encoding but with "~" in place of "%": `embed.nomic-embed-text~3Alatest`.
 * Not "%" itself, because tools around BullMQ (Bull Board) decode queue names from URLs once
 * more than they were encoded, and would never find a name containing "%3A".
 */
export function queueName(kind: JobKind, model: string): string {
  const escaped = encodeURIComponent(normalizeModel(model)).replace(/[~!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}.${escaped.replace(/%/g, "~")}`;
}

export function parseQueueName(name: string): { kind: JobKind; model: string } | undefined {
  const dot = name.indexOf(".");
  if (dot < 0) return undefined;
  const kind = name.slice(0, dot);
  if (!isJobKind(kind)) return undefined;
  try {
    return { kind, model: decodeURIComponent(name.slice(dot + 1).replace(/~/g, "%")) };
  } catch {
    return undefined;
  }
}

/** Document ingestion steps (parse, fan out embeddings, store) share one queue. */
export const INGEST_QUEUE = "ingest";
