#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { completeModelSpec, type ModelSpec } from "./catalog.js";
import { EmulatorFleet } from "./fleet.js";
import { parseGoDuration } from "./http.js";
import { LATENCY_PRESETS, type LatencyProfile } from "./latency.js";

const USAGE = `Usage: ollama-emulator [options]

  --instances N          emulated instances (default 1)
  --base-port P          port of the first instance; the others follow (default 11434, 0 = random)
  --host H               listen address (default 127.0.0.1)
  --slots LIST           OLLAMA_NUM_PARALLEL per instance for generation models, e.g. 1,1,2,4 (default 1)
  --speed LIST           speed factor per instance, e.g. 1,0.5,2 (default 1)
  --latency NAME         preset: zero | realistic (default realistic)
  --request-ms X --embed-ms X --embed-token-ms X --prompt-token-ms X --eval-token-ms X --load-ms X
                         override single latency parameters (milliseconds)
  --models FILE          JSON array of models ({"name","kind":"embedding"|"generation","embeddingLength",...})
  --max-queue N          OLLAMA_MAX_QUEUE (default 512)
  --max-loaded N         OLLAMA_MAX_LOADED_MODELS (default 3)
  --keep-alive D         OLLAMA_KEEP_ALIVE, e.g. 5m or -1 (default 5m)
  --preload              start with the models loaded
  --admin-port P         control server for every instance (stats and faults even while one refuses)
  --help`;

function numberList(raw: string | undefined, flag: string): number[] | undefined {
  if (raw === undefined) return undefined;
  const values = raw.split(",").map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isFinite(value) || value <= 0)) throw new Error(`${flag}: expected positive numbers, got "${raw}"`);
  return values;
}

function numberFlag(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${flag}: expected a non-negative number, got "${raw}"`);
  return value;
}

function loadModels(file: string | undefined): ModelSpec[] | undefined {
  if (!file) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(parsed)) throw new Error("--models: the file must hold a JSON array");
  return parsed.map((entry: unknown) => {
    if (typeof entry !== "object" || entry === null || typeof (entry as { name?: unknown }).name !== "string") throw new Error("--models: every model needs a name");
    return completeModelSpec(entry as Partial<ModelSpec> & { name: string });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: "string" },
      "base-port": { type: "string" },
      host: { type: "string" },
      slots: { type: "string" },
      speed: { type: "string" },
      latency: { type: "string" },
      "request-ms": { type: "string" },
      "embed-ms": { type: "string" },
      "embed-token-ms": { type: "string" },
      "prompt-token-ms": { type: "string" },
      "eval-token-ms": { type: "string" },
      "load-ms": { type: "string" },
      models: { type: "string" },
      "max-queue": { type: "string" },
      "max-loaded": { type: "string" },
      "keep-alive": { type: "string" },
      preload: { type: "boolean" },
      "admin-port": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const presetName = values.latency ?? "realistic";
  if (!(presetName in LATENCY_PRESETS)) throw new Error(`--latency: expected zero or realistic, got "${presetName}"`);
  const latency: LatencyProfile = { ...LATENCY_PRESETS[presetName as keyof typeof LATENCY_PRESETS] };
  const overrides: Array<[keyof LatencyProfile, string]> = [
    ["requestMs", "request-ms"],
    ["embedMs", "embed-ms"],
    ["embedTokenMs", "embed-token-ms"],
    ["promptTokenMs", "prompt-token-ms"],
    ["evalTokenMs", "eval-token-ms"],
    ["loadMs", "load-ms"],
  ];
  for (const [field, flag] of overrides) {
    const value = numberFlag(values[flag as keyof typeof values] as string | undefined, `--${flag}`);
    if (value !== undefined) latency[field] = value;
  }
  const keepAlive = values["keep-alive"];
  const keepAliveMs = keepAlive === undefined ? undefined : /^-?\d+$/.test(keepAlive) ? Number(keepAlive) * 1000 : parseGoDuration(keepAlive);
  if (keepAlive !== undefined && keepAliveMs === undefined) throw new Error(`--keep-alive: invalid duration "${keepAlive}"`);
  const models = loadModels(values.models);
  const fleet = await EmulatorFleet.start({
    instances: numberFlag(values.instances, "--instances") ?? 1,
    basePort: numberFlag(values["base-port"], "--base-port") ?? 11434,
    host: values.host ?? "127.0.0.1",
    ...(values.slots ? { slots: numberList(values.slots, "--slots") ?? [] } : {}),
    ...(values.speed ? { speeds: numberList(values.speed, "--speed") ?? [] } : {}),
    latency,
    ...(models ? { models } : {}),
    ...(values["max-queue"] ? { maxQueue: numberFlag(values["max-queue"], "--max-queue") ?? 512 } : {}),
    ...(values["max-loaded"] ? { maxLoadedModels: numberFlag(values["max-loaded"], "--max-loaded") ?? 3 } : {}),
    ...(keepAliveMs !== undefined ? { keepAliveMs } : {}),
    preload: values.preload ?? false,
    ...(values["admin-port"] !== undefined ? { adminPort: numberFlag(values["admin-port"], "--admin-port") ?? 0 } : {}),
  });
  // One JSON line on stdout so scripts and the launcher can read the addresses.
  console.log(JSON.stringify({ event: "ready", urls: fleet.urls, admin: fleet.adminUrl ?? null }));
  const stop = () => {
    void fleet.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // Launched with an IPC channel (by `herd start`): its parent's death, even by SIGKILL, closes it.
  process.once("disconnect", stop);
}

main().catch((error: unknown) => {
  console.error(`ollama-emulator: ${(error as Error).message}`);
  process.exit(2);
});
