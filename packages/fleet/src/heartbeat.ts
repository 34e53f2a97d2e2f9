import { z } from "zod";

export const ModelBindingStatus = z.object({
  /** Normalised model name ("name:tag"). */
  model: z.string(),
  /** Job kinds this binding pulls. */
  kinds: z.array(z.enum(["embed", "generate"])),
  slots: z.number().int().nonnegative(),
  inFlight: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Vector length reported by /api/show, when known. */
  embeddingLength: z.number().int().positive().optional(),
  /** The model's own context length (/api/show's model_info), when known: Ollama never runs it with more. */
  contextLength: z.number().int().positive().optional(),
  /** What /api/show lists (completion, tools, thinking, vision...); absent when the instance does not say (Ollama < 0.6). */
  capabilities: z.array(z.string()).optional(),
  /** Duration of the last (up to 512) successful calls, until Ollama's answer started. */
  latencyMs: z.object({ mean: z.number().nonnegative(), p95: z.number().nonnegative() }).optional(),
  /** Median slot time of the last calls, once a few were timed: how workers compare speeds. */
  typicalMs: z.number().nonnegative().optional(),
  /** Whether the instance has the model loaded (its /api/ps at the last probe); absent when unknown. */
  loaded: z.boolean().optional(),
});
export type ModelBindingStatus = z.infer<typeof ModelBindingStatus>;

export const InstanceStatus = z.object({
  name: z.string(),
  url: z.string(),
  healthy: z.boolean(),
  weight: z.number(),
  version: z.string().optional(),
  lastProbeAt: z.string().optional(),
  lastProbeMs: z.number().optional(),
  lastError: z.string().optional(),
  models: z.array(ModelBindingStatus),
});
export type InstanceStatus = z.infer<typeof InstanceStatus>;

export const WorkerHeartbeat = z.object({
  workerId: z.string(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Redis's clock minus the worker's, in ms (see readClockOffset), once measured. */
  clockOffsetMs: z.number().optional(),
  instances: z.array(InstanceStatus),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;
