import { createHash } from "node:crypto";
import { z } from "zod";
import { applyFallbackCharset, canonicalCharset, charsetParameter, legacyTypeOf, resolveType, withCharset } from "@herd/ingest";
import { ApiError, invalidRequest } from "../errors.js";
import { StorableObject, StorableString } from "../storable.js";

export interface UploadedDocument {
  externalId: string;
  bytes: Buffer;
  mimeType: string;
  source: string | null;
  metadata: Record<string, unknown>;
}

const DocumentId = StorableString.trim().min(1, "must not be empty").max(500, "is too long");
const Metadata = StorableObject;

const JsonDocument = z
  .object({
    id: DocumentId.optional(),
    text: z.string().optional(),
    base64: z.string().optional(),
    mimeType: StorableString.max(200).optional(),
    filename: StorableString.max(500).optional(),
    metadata: Metadata.optional(),
  })
  .strict()
  .superRefine((document, ctx) => {
    if ((document.text === undefined) === (document.base64 === undefined)) ctx.addIssue({ code: "custom", path: ["text"], message: 'give exactly one of "text" or "base64"' });
  });

/** An encoding label for the upload's text files that are not UTF-8 and do not declare their own. */
const FallbackCharset = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(50, "is too long")
  .refine((label) => canonicalCharset(label) !== undefined, { message: "unsupported charset (use a WHATWG encoding label such as windows-1252, iso-8859-15, shift_jis)" });

export const JsonUpload = z.object({ documents: z.array(JsonDocument).min(1, "must contain at least one document"), fallbackCharset: FallbackCharset.optional() }).strict();

/**
 * A declared or guessed MIME type; unknown types are kept and fail the document later with a
 * reason. With `bytes` (a file's, not JSON text), the declared charset is kept (see withCharset),
 * or else `fallbackCharset` applies when the bytes need it (see applyFallbackCharset).
 */
function mimeOf(declared: string | undefined, filename: string | undefined, fallback: string, file?: { bytes: Buffer; fallbackCharset: string | undefined }): string {
  // An old .ppt, .xls or .rtf sent as bytes of no declared type fails naming its format.
  const type = resolveType(declared, filename) ?? legacyTypeOf(declared, filename) ?? declared?.split(";")[0]?.trim().toLowerCase() ?? fallback;
  if (!file) return type;
  const charset = declared === undefined ? undefined : charsetParameter(declared);
  return charset !== undefined ? withCharset(type, charset) : applyFallbackCharset(file.bytes, type, file.fallbackCharset);
}

function fallbackCharsetOf(value: unknown): string | undefined {
  if (value === undefined || (typeof value === "string" && value.trim() === "")) return undefined;
  const checked = FallbackCharset.safeParse(value);
  if (!checked.success) throw new ApiError(400, "invalid_request", `fallbackCharset: ${checked.error.issues[0]?.message ?? "invalid"}`);
  return checked.data;
}

/**
 * A document id as stored: composed (NFC). A file named "Prüfung.md" on macOS is listed
 * decomposed ("u" + a combining diaeresis), elsewhere composed; both name the same document.
 */
export function storedId(id: string): string {
  return id.normalize("NFC");
}

function defaultId(bytes: Buffer): string {
  return `sha256-${createHash("sha256").update(bytes).digest("hex").slice(0, 32)}`;
}

export function documentsFromJson(body: unknown, maxDocuments: number): UploadedDocument[] {
  const parsed = JsonUpload.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error);
  if (parsed.data.documents.length > maxDocuments) throw new ApiError(413, "too_many_inputs", `documents: at most ${maxDocuments} per request`);
  return parsed.data.documents.map((document, index) => {
    let bytes: Buffer;
    if (document.base64 !== undefined) {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(document.base64)) throw new ApiError(400, "invalid_request", `documents.${index}.base64: not valid base64`);
      bytes = Buffer.from(document.base64, "base64");
    } else bytes = Buffer.from(document.text ?? "", "utf8");
    if (bytes.length === 0) throw new ApiError(400, "empty_input", `documents.${index}: the document is empty`);
    // JSON text is characters already (sent here as UTF-8): only the bytes of a file have an encoding.
    const file = document.base64 !== undefined ? { bytes, fallbackCharset: parsed.data.fallbackCharset } : undefined;
    const fallback = document.text !== undefined ? "text/plain" : "application/octet-stream";
    return {
      externalId: storedId(document.id ?? document.filename ?? defaultId(bytes)),
      bytes,
      mimeType: mimeOf(document.mimeType, document.filename ?? document.id, fallback, file),
      source: document.filename ?? null,
      metadata: document.metadata ?? {},
    };
  });
}

export interface MultipartFile {
  originalname: string;
  mimetype: string;
  buffer: Buffer;
}

/**
 * Multipart uploads: each file's name is its document id; optional `metadata` and
 * `fallbackCharset` fields apply to all (a part's own charset parameter does not reach here).
 */
export function documentsFromFiles(files: readonly MultipartFile[], fields: { metadata?: unknown; fallbackCharset?: unknown }, maxDocuments: number): UploadedDocument[] {
  const metadataField = fields.metadata;
  if (files.length === 0) throw new ApiError(400, "empty_input", "no files in the upload");
  if (files.length > maxDocuments) throw new ApiError(413, "too_many_inputs", `at most ${maxDocuments} files per request`);
  let metadata: Record<string, unknown> = {};
  if (typeof metadataField === "string" && metadataField.trim() !== "") {
    let value: unknown;
    try {
      value = JSON.parse(metadataField);
    } catch {
      throw new ApiError(400, "invalid_request", "metadata: not valid JSON");
    }
    const checked = Metadata.safeParse(value);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      if (issue?.code === "custom") throw new ApiError(400, "invalid_request", `${["metadata", ...issue.path].join(".")}: ${issue.message}`);
      throw new ApiError(400, "invalid_request", "metadata: must be a JSON object");
    }
    metadata = checked.data;
  }
  const fallbackCharset = fallbackCharsetOf(fields.fallbackCharset);
  return files.map((file) => {
    const id = DocumentId.safeParse(file.originalname);
    if (!id.success) throw new ApiError(400, "invalid_request", `file name: ${id.error.issues[0]?.message ?? "invalid"}`);
    return { externalId: storedId(id.data), bytes: file.buffer, mimeType: mimeOf(file.mimetype === "application/octet-stream" ? undefined : file.mimetype, file.originalname, "application/octet-stream", { bytes: file.buffer, fallbackCharset }), source: file.originalname, metadata };
  });
}

export function assertUniqueIds(documents: readonly UploadedDocument[]): void {
  const seen = new Set<string>();
  for (const document of documents) {
    if (seen.has(document.externalId)) throw new ApiError(400, "invalid_request", `documents: the id "${document.externalId}" appears twice`);
    seen.add(document.externalId);
  }
}
