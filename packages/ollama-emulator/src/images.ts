import { HttpError } from "./http.js";

/** What the emulated vision model "sees" in an image: its format and, where the header tells, its size. */
export interface SeenImage {
  format: "PNG" | "JPEG" | "GIF" | "WebP" | "BMP";
  width?: number;
  height?: number;
  bytes: number;
}

/** Prompt tokens an image costs (gemma3 encodes every image as 256 tokens). */
export const IMAGE_TOKENS = 256;

/** The runner's error prefix: Ollama answers these with a 500, though the request is at fault. */
const SEQUENCE_ERROR = "Failed to create new sequence: failed to process inputs";

const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

/**
 * Go's `base64.StdEncoding` (how encoding/json decodes `[]byte`): standard alphabet, `=` padding
 * only at the end, CR/LF ignored. Returns the byte index Go reports for the first bad input.
 */
function badBase64At(text: string): number | undefined {
  const compact = /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, "") : text;
  const foreign = NOT_BASE64.exec(compact)?.index;
  const padding = compact.indexOf("=");
  const misplacedPadding = padding >= 0 && (compact.length % 4 !== 0 || padding < compact.length - 2 || !/^=+$/.test(compact.slice(padding))) ? padding : undefined;
  const bad = Math.min(foreign ?? Infinity, misplacedPadding ?? Infinity);
  if (bad !== Infinity) return bad;
  return compact.length % 4 === 0 ? undefined : compact.length - (compact.length % 4);
}

/** Decodes one image the way Ollama's JSON decoder does: a wrong type or bad base64 is a 400. */
function decodeImage(value: unknown, struct: string): Buffer {
  if (typeof value !== "string") throw new HttpError(400, `json: cannot unmarshal ${value === null ? "null" : typeof value} into Go struct field ${struct}.images of type api.ImageData`);
  const bad = badBase64At(value);
  if (bad !== undefined) throw new HttpError(400, `illegal base64 data at input byte ${bad}`);
  return Buffer.from(value, "base64");
}

function list(value: unknown, struct: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new HttpError(400, `json: cannot unmarshal ${typeof value} into Go struct field ${struct}.images of type []api.ImageData`);
  return value;
}

/** The request's images in order (a prompt's, or each chat message's), decoded. */
export function readImages(mode: "generate" | "chat", body: Record<string, unknown>): Buffer[] {
  if (mode === "generate") return list(body["images"], "GenerateRequest").map((image) => decodeImage(image, "GenerateRequest"));
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as unknown[]) : [];
  return messages.flatMap((message) => {
    const images = typeof message === "object" && message !== null ? (message as Record<string, unknown>)["images"] : undefined;
    return list(images, "Message").map((image) => decodeImage(image, "Message"));
  });
}

/**
 * Reads an image the way the runner does before the model sees it. A model without the vision
 * capability, an empty image or one in no format Go decodes fails the request: Ollama's runner
 * answers 500 with these texts.
 */
export function seeImages(images: Buffer[], vision: boolean): SeenImage[] {
  if (images.length === 0) return [];
  if (!vision) throw new HttpError(500, `${SEQUENCE_ERROR}: this model is missing data required for image input`);
  return images.map((image) => {
    if (image.length === 0) throw new HttpError(500, `${SEQUENCE_ERROR}: received zero length image`);
    const seen = identify(image);
    if (!seen) throw new HttpError(500, `${SEQUENCE_ERROR}: image: unknown format`);
    return seen;
  });
}

function identify(image: Buffer): SeenImage | undefined {
  const bytes = image.length;
  if (bytes >= 24 && image.readUInt32BE(0) === 0x89504e47 && image.readUInt32BE(4) === 0x0d0a1a0a) {
    return { format: "PNG", width: image.readUInt32BE(16), height: image.readUInt32BE(20), bytes };
  }
  if (bytes >= 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff) return { format: "JPEG", bytes };
  if (bytes >= 10 && image.toString("latin1", 0, 4) === "GIF8") return { format: "GIF", width: image.readUInt16LE(6), height: image.readUInt16LE(8), bytes };
  if (bytes >= 12 && image.toString("latin1", 0, 4) === "RIFF" && image.toString("latin1", 8, 12) === "WEBP") return { format: "WebP", bytes };
  if (bytes >= 2 && image.toString("latin1", 0, 2) === "BM") return { format: "BMP", bytes };
  return undefined;
}

/** A sentence describing what the model saw, deterministic for the same images. */
export function describeImages(seen: SeenImage[]): string {
  const parts = seen.map((image, index) => {
    const size = image.width !== undefined && image.height !== undefined ? `${image.width}x${image.height} ` : "";
    return `image ${index + 1} is a ${size}${image.format} picture of ${image.bytes} bytes`;
  });
  return parts.length === 0 ? "" : `I see ${seen.length === 1 ? "one image" : `${seen.length} images`}: ${parts.join("; ")}.`;
}
