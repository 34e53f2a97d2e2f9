import { createHash } from "node:crypto";

export interface ModelSpec {
  /** Full name with tag, e.g. "nomic-embed-text:latest". */
  name: string;
  kind: "embedding" | "generation";
  family: string;
  /** Length of the vectors this model returns from /api/embed. */
  embeddingLength: number;
  /** Context length used for truncation (Ollama's effective num_ctx). */
  contextLength: number;
  /**
   * The context the model was trained for (/api/show's model_info), when larger than
   * `contextLength`: its Modelfile then sets `num_ctx` to `contextLength` (/api/show's
   * `parameters`), as Ollama's all-minilm does (trained for 512, num_ctx 256).
   */
  trainedContextLength?: number;
  parameterSize: string;
  quantization: string;
  sizeBytes: number;
  /**
   * What /api/show reports. Defaults from `kind`: ["embedding"] or ["completion"]. A model with
   * "completion" runs with num_parallel slots even for /api/embed; only embedding-only models are
   * forced to one slot, as in Ollama's scheduler.
   */
  capabilities?: string[];
}

export function capabilitiesOf(spec: ModelSpec): string[] {
  return spec.capabilities ?? (spec.kind === "embedding" ? ["embedding"] : ["completion"]);
}

export function canComplete(spec: ModelSpec): boolean {
  return capabilitiesOf(spec).includes("completion");
}

export const DEFAULT_MODELS: readonly ModelSpec[] = [
  {
    name: "nomic-embed-text:latest",
    kind: "embedding",
    family: "nomic-bert",
    embeddingLength: 768,
    contextLength: 2048,
    parameterSize: "137M",
    quantization: "F16",
    sizeBytes: 274_302_450,
  },
  {
    name: "all-minilm:latest",
    kind: "embedding",
    family: "bert",
    embeddingLength: 384,
    contextLength: 256,
    trainedContextLength: 512,
    parameterSize: "23M",
    quantization: "F16",
    sizeBytes: 45_960_996,
  },
  {
    name: "llama3.2:latest",
    kind: "generation",
    family: "llama",
    embeddingLength: 3072,
    contextLength: 4096,
    parameterSize: "3.2B",
    quantization: "Q4_K_M",
    sizeBytes: 2_019_393_189,
    capabilities: ["completion", "tools"],
  },
];

export function withLatestTag(name: string): string {
  const tail = name.slice(name.lastIndexOf("/") + 1);
  return tail.includes(":") ? name : `${name}:latest`;
}

export function modelDigest(spec: ModelSpec): string {
  return createHash("sha256").update(spec.name).digest("hex");
}

/** Accepts partial specs from a JSON catalog file and fills the rest with plausible values. */
export function completeModelSpec(partial: Partial<ModelSpec> & { name: string }): ModelSpec {
  const kind = partial.kind ?? "generation";
  return {
    name: withLatestTag(partial.name),
    kind,
    family: partial.family ?? (kind === "embedding" ? "bert" : "llama"),
    embeddingLength: partial.embeddingLength ?? (kind === "embedding" ? 768 : 4096),
    contextLength: partial.contextLength ?? (kind === "embedding" ? 2048 : 4096),
    parameterSize: partial.parameterSize ?? "1B",
    quantization: partial.quantization ?? "Q4_K_M",
    sizeBytes: partial.sizeBytes ?? 1_000_000_000,
    ...(partial.capabilities ? { capabilities: partial.capabilities } : {}),
    ...(partial.trainedContextLength !== undefined ? { trainedContextLength: partial.trainedContextLength } : {}),
  };
}
