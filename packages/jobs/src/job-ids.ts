import { randomBytes } from "node:crypto";
import { isJobKind, normalizeModel, queueName, type JobKind } from "./models.js";

/**
 * Public job ids carry their queue: `<kind>.<base64url(model)>.<random>`. GET /v1/jobs/:id then
 * needs no lookup table, and the id has no ":" (forbidden in BullMQ custom ids) and no "/".
 */
export function createJobId(kind: JobKind, model: string): string {
  const encodedModel = Buffer.from(normalizeModel(model), "utf8").toString("base64url");
  return `${kind}.${encodedModel}.${randomBytes(12).toString("hex")}`;
}

export interface ParsedJobId {
  kind: JobKind;
  model: string;
  queue: string;
}

const JOB_ID_PATTERN = /^([a-z]+)\.([A-Za-z0-9_-]{1,400})\.([0-9a-f]{24})$/;

export function parseJobId(id: string): ParsedJobId | undefined {
  const match = JOB_ID_PATTERN.exec(id);
  if (!match) return undefined;
  const [, kind, encodedModel] = match;
  if (kind === undefined || encodedModel === undefined || !isJobKind(kind)) return undefined;
  const model = Buffer.from(encodedModel, "base64url").toString("utf8");
  if (model.length === 0 || normalizeModel(model) !== model) return undefined;
  return { kind, model, queue: queueName(kind, model) };
}
