import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import sniffEncoding from "html-encoding-sniffer";
import { CorruptDocumentError, UnsupportedFormatError } from "./blocks.js";

/** Formats whose bytes are text in some character encoding (PDF carries its own). */
const TEXT_TYPES: ReadonlySet<string> = new Set(["text/plain", "text/markdown", "text/html", "text/csv", "text/tab-separated-values"]);

/** A MIME type without its parameters, lower case ("text/plain; charset=x" → "text/plain"). */
export function mimeEssence(mimeType: string): string {
  return (mimeType.split(";")[0] ?? "").trim().toLowerCase();
}

/** The `charset` parameter of a MIME type, lower case and unquoted, or undefined. */
export function charsetParameter(mimeType: string): string | undefined {
  for (const parameter of mimeType.split(";").slice(1)) {
    const [name = "", ...value] = parameter.split("=");
    if (name.trim().toLowerCase() !== "charset") continue;
    const label = value.join("=").trim().replace(/^"(.*)"$/, "$1").trim().toLowerCase();
    return label === "" ? undefined : label;
  }
  return undefined;
}

/** The encoding a label names ("latin1" → "windows-1252"), or undefined when this runtime cannot decode it. */
export function canonicalCharset(label: string): string | undefined {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return undefined;
  }
}

/**
 * `type` with the charset parameter a document's bytes are to be read in. UTF-8 is left out (it
 * is what an undeclared text is read as, so both spellings parse, hash and re-ingest alike), as is
 * any charset on a format that is not text; a label this runtime cannot decode is kept as written,
 * so that the document fails with it named.
 */
export function withCharset(type: string, label: string | undefined): string {
  if (label === undefined || !TEXT_TYPES.has(type)) return type;
  const canonical = canonicalCharset(label);
  return canonical === "utf-8" ? type : `${type}; charset=${canonical ?? label}`;
}

/**
 * For an upload's "read the others as X" setting: `type` with charset `fallback` when the bytes
 * are text that is not valid UTF-8 and says nothing of its own encoding (no byte order mark, and
 * for HTML no <meta charset>); otherwise `type`. A file that is valid UTF-8 is almost certainly
 * UTF-8, so a folder mixing UTF-8 and legacy files reads right with one setting.
 */
export function applyFallbackCharset(bytes: Uint8Array, type: string, fallback: string | undefined): string {
  // A type with parameters (a declared charset) is no bare text type: it is left as it is.
  if (fallback === undefined || !TEXT_TYPES.has(type)) return type;
  if (sniffEncoding(bytes, { xml: type !== "text/html", defaultEncoding: null }) !== null || isUtf8(bytes)) return type;
  return withCharset(type, fallback);
}

const HOW_TO_DECLARE = 'declare its encoding: a MIME type such as "text/plain; charset=windows-1252", or for a whole upload the fallbackCharset field (herd ingest --fallback-charset windows-1252)';

/**
 * A text document's characters. The encoding is chosen as browsers choose it (the HTML Standard's
 * sniffing): a byte order mark, else the MIME type's charset, else for HTML a <meta charset> in
 * its first 1024 bytes, else UTF-8. Bytes that are not valid in that encoding fail the document
 * rather than enter the index as replacement characters.
 */
export function decodeText(bytes: Uint8Array, mimeType: string): string {
  const declared = charsetParameter(mimeType);
  if (declared !== undefined && canonicalCharset(declared) === undefined) throw new UnsupportedFormatError(`unsupported charset "${declared}"`);
  const html = mimeEssence(mimeType) === "text/html";
  const encoding = sniffEncoding(bytes, { xml: !html, transportLayerEncodingLabel: declared, defaultEncoding: "UTF-8" }) ?? "UTF-8";
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding, { fatal: true });
  } catch {
    throw new UnsupportedFormatError(`unsupported charset "${encoding}"`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    const said = sniffEncoding(bytes, { xml: !html, transportLayerEncodingLabel: declared, defaultEncoding: null }) !== null;
    throw new CorruptDocumentError(said ? `the text is not valid ${decoder.encoding}, the encoding it declares` : `the text is not valid UTF-8; if it is in another encoding, ${HOW_TO_DECLARE}`);
  }
}
