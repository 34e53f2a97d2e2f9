import type { IncomingMessage, ServerResponse } from "node:http";
import { applyDimensions, embedText, legacyEmbedding } from "../embedding.js";
import { findModel, scaledMs, withSlot, type InstanceContext } from "../context.js";
import { HttpError, RawJson, expectType, msToNs, parseKeepAlive, withoutZeroes } from "../http.js";
import { runInference } from "../inference.js";
import { waitUntil } from "../latency.js";
import { countTokens, truncateToTokens } from "../text.js";

function numCtxOf(body: Record<string, unknown>): number | undefined {
  const options = body["options"];
  if (typeof options !== "object" || options === null) return undefined;
  const value = (options as Record<string, unknown>)["num_ctx"];
  return typeof value === "number" && value > 0 ? Math.floor(value) : undefined;
}

function readInputs(input: unknown): string[] {
  if (input === undefined || input === null || input === "") return [];
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === "string")) return input as string[];
  throw new HttpError(400, "invalid input type");
}

/** Applies the vector faults: "nan" puts an out-of-range value in, "wrong_dims" drops one. */
function corrupt(ctx: InstanceContext, vector: number[]): number[] | string {
  if (ctx.faults.hits("wrong_dims", true)) return vector.slice(0, -1);
  if (ctx.faults.hits("nan", true)) return `[1e999${vector.length > 1 ? `,${vector.slice(1).join(",")}` : ""}]`;
  return vector;
}

/** POST /api/embed: each input takes the model's slot in turn; vectors are L2-normalised. */
export async function handleEmbed(ctx: InstanceContext, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  expectType(body, "model", "string", "EmbedRequest");
  expectType(body, "truncate", "boolean", "EmbedRequest");
  expectType(body, "dimensions", "number", "EmbedRequest");
  expectType(body, "options", "object", "EmbedRequest");
  const modelName = (body["model"] as string | undefined) ?? "";
  if (modelName === "") throw new HttpError(400, "model is required");
  const inputs = readInputs(body["input"]);
  const truncate = body["truncate"] !== false;
  const dimensions = body["dimensions"] as number | undefined;
  const keepAlive = parseKeepAlive(body["keep_alive"]);
  const spec = findModel(ctx, modelName);
  if (!spec) throw new HttpError(404, `model '${modelName}' not found`);

  await runInference(ctx, req, res, spec, async (life) => {
    const started = performance.now();
    const lease = await ctx.scheduler.acquire(spec, numCtxOf(body), keepAlive, life.signal);
    try {
      if (inputs.length === 0) return { model: modelName, embeddings: [] };
      ctx.stats.model(spec.name).inputs += inputs.length;
      ctx.embedCalls?.push({ model: spec.name, startedAt: Date.now(), inputs });
      const vectors: Array<number[] | string> = [];
      let promptTokens = 0;
      for (const [index, raw] of inputs.entries()) {
        vectors.push(
          await withSlot(ctx, lease.runner, life.signal, async () => {
            let text = raw;
            let tokens = countTokens(text);
            if (tokens > lease.runner.numCtx) {
              if (!truncate) throw new HttpError(400, "the input length exceeds the context length");
              text = truncateToTokens(text, lease.runner.numCtx);
              tokens = lease.runner.numCtx;
            }
            promptTokens += tokens;
            const nominal = (index === 0 ? ctx.latency.requestMs : 0) + ctx.latency.embedMs + tokens * ctx.latency.embedTokenMs;
            await waitUntil(performance.now() + scaledMs(ctx, nominal), life.signal);
            return corrupt(ctx, applyDimensions(embedText(text, spec.name, spec.embeddingLength), dimensions));
          }),
        );
      }
      const ledger = ctx.inputLedger;
      if (ledger) for (const raw of inputs) ledger.set(raw, (ledger.get(raw) ?? 0) + 1);
      const metrics = withoutZeroes({
        total_duration: msToNs(performance.now() - started),
        load_duration: msToNs(lease.loadDurationMs),
        prompt_eval_count: promptTokens,
      });
      if (vectors.some((vector) => typeof vector === "string")) {
        // A corrupted vector cannot be built as a JS value; splice the raw text in.
        const raw = vectors.map((vector) => (typeof vector === "string" ? vector : JSON.stringify(vector))).join(",");
        return new RawJson(`{"model":${JSON.stringify(modelName)},"embeddings":[${raw}]${Object.entries(metrics).map(([k, v]) => `,"${k}":${v}`).join("")}}`);
      }
      return { model: modelName, embeddings: vectors, ...metrics };
    } finally {
      lease.release();
    }
  });
}

/** POST /api/embeddings (legacy): one prompt, float64 values, not normalised, no metrics. */
export async function handleLegacyEmbeddings(ctx: InstanceContext, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  expectType(body, "model", "string", "EmbeddingRequest");
  expectType(body, "prompt", "string", "EmbeddingRequest");
  const modelName = (body["model"] as string | undefined) ?? "";
  if (modelName === "") throw new HttpError(400, "model is required");
  const prompt = (body["prompt"] as string | undefined) ?? "";
  const keepAlive = parseKeepAlive(body["keep_alive"]);
  const spec = findModel(ctx, modelName, true);
  if (!spec) throw new HttpError(404, `model "${modelName}" not found, try pulling it first`);

  await runInference(ctx, req, res, spec, async (life) => {
    const lease = await ctx.scheduler.acquire(spec, numCtxOf(body), keepAlive, life.signal);
    try {
      if (prompt === "") return { embedding: [] };
      ctx.stats.model(spec.name).inputs += 1;
      return await withSlot(ctx, lease.runner, life.signal, async () => {
        const tokens = Math.min(countTokens(prompt), lease.runner.numCtx);
        const nominal = ctx.latency.requestMs + ctx.latency.embedMs + tokens * ctx.latency.embedTokenMs;
        await waitUntil(performance.now() + scaledMs(ctx, nominal), life.signal);
        return { embedding: legacyEmbedding(truncateToTokens(prompt, lease.runner.numCtx), spec.name, spec.embeddingLength) };
      });
    } finally {
      lease.release();
    }
  });
}
