import { OllamaError } from "./errors.js";

/** Rejects vectors an instance should never send: wrong count, ragged or wrong length, NaN/Inf/null. */
export function validateVectors(vectors: unknown[][], expectedCount: number, expectedLength: number | undefined, instance: string): number[][] {
  if (vectors.length !== expectedCount) {
    throw new OllamaError("invalid_response", `expected ${expectedCount} embeddings, got ${vectors.length}`, instance);
  }
  const length = expectedLength ?? vectors[0]?.length ?? 0;
  for (const [index, vector] of vectors.entries()) {
    if (vector.length !== length || length === 0) {
      throw new OllamaError("invalid_response", `embedding ${index} has ${vector.length} dimensions, expected ${length}`, instance);
    }
    for (const value of vector) {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new OllamaError("invalid_response", `embedding ${index} contains a non-finite value`, instance);
      }
    }
  }
  return vectors as number[][];
}
