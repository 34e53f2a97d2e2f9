import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { DEFAULT_MODELS, type ModelSpec } from "./catalog.js";
import { findModel, type EmbedCall, type InstanceContext } from "./context.js";
import { FaultState, NO_FAULT, RUNNER_STOPPED_MESSAGE, type FaultSpec } from "./faults.js";
import { handleAdmin } from "./handlers/admin.js";
import { handleEmbed, handleLegacyEmbeddings } from "./handlers/embed.js";
import { handleGeneration } from "./handlers/generate.js";
import { ps, show, tags } from "./handlers/info.js";
import { HttpError, parseJsonObject, readBody, sendError, sendJson, sendText } from "./http.js";
import { LATENCY_PRESETS, type LatencyProfile } from "./latency.js";
import { Scheduler } from "./scheduler.js";
import { StatsBook } from "./stats.js";

export const EMULATED_OLLAMA_VERSION = "0.13.5";
export const ADMIN_PREFIX = "/_emulator";

export interface EmulatorOptions {
  name?: string;
  models?: readonly ModelSpec[];
  /** OLLAMA_NUM_PARALLEL for generation models; embedding models always run one at a time. */
  numParallel?: number;
  /** Work durations are divided by this factor. */
  speed?: number;
  latency?: Partial<LatencyProfile>;
  maxQueue?: number;
  maxLoadedModels?: number;
  /** OLLAMA_KEEP_ALIVE in ms; negative keeps models loaded forever. */
  keepAliveMs?: number;
  /** Whether models start loaded (no load latency on first use). */
  preload?: boolean;
  /** Count how many times each embedding input is computed (see inputCounts()), and log each embedding call (see embedCalls()). */
  recordInputs?: boolean;
}

const ROUTES: Record<string, readonly string[]> = {
  "/": ["GET", "HEAD"],
  "/api/version": ["GET", "HEAD"],
  "/api/tags": ["GET", "HEAD"],
  "/api/ps": ["GET"],
  "/api/show": ["POST"],
  "/api/embed": ["POST"],
  "/api/embeddings": ["POST"],
  "/api/generate": ["POST"],
  "/api/chat": ["POST"],
  "/api/pull": ["POST"],
  "/api/delete": ["DELETE"],
};

const INFERENCE_ROUTES = new Set(["/api/embed", "/api/embeddings", "/api/generate", "/api/chat"]);

/** One emulated Ollama server: a real HTTP listener with Ollama's routes, scheduler and errors. */
export class EmulatorInstance {
  readonly ctx: InstanceContext;
  readonly numParallel: number;
  readonly #server: Server;
  /** The catalog, which DELETE /api/delete changes (ctx.models is this map, read-only to handlers). */
  readonly #models: Map<string, ModelSpec>;
  #port = 0;
  #host = "127.0.0.1";
  #listening = false;

  constructor(options: EmulatorOptions = {}) {
    const stats = new StatsBook();
    const latency = { ...LATENCY_PRESETS.zero, ...options.latency };
    const speed = options.speed ?? 1;
    const faults = new FaultState();
    this.numParallel = options.numParallel ?? 1;
    const scheduler = new Scheduler({
      numParallel: this.numParallel,
      maxQueue: options.maxQueue ?? 512,
      maxLoadedModels: options.maxLoadedModels ?? 3,
      defaultKeepAliveMs: options.keepAliveMs ?? 5 * 60_000,
      loadMs: () => (latency.loadMs * faults.slowdown()) / speed,
      stats,
    });
    this.#models = new Map((options.models ?? DEFAULT_MODELS).map((spec) => [spec.name, spec]));
    this.ctx = {
      name: options.name ?? "ollama",
      version: EMULATED_OLLAMA_VERSION,
      models: this.#models,
      scheduler,
      faults,
      stats,
      latency,
      speed,
      inputLedger: options.recordInputs ? new Map() : undefined,
      embedCalls: options.recordInputs ? [] : undefined,
    };
    // Go's net/http serves a connection's requests one at a time: it reads the next (pipelined)
    // request only after the previous handler returned, so that request never reaches Ollama's
    // scheduler early. Node's server would hand it over at once; each waits for its predecessor.
    const previousOnSocket = new WeakMap<Socket, Promise<void>>();
    this.#server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      const previous = previousOnSocket.get(req.socket);
      previousOnSocket.set(req.socket, new Promise((resolve) => res.once("close", () => resolve())));
      if (previous) void previous.then(() => this.#route(req, res));
      else void this.#route(req, res);
    });
    // Ollama sends nothing until work is done, so requests may legitimately sit for minutes.
    this.#server.requestTimeout = 0;
    this.#server.headersTimeout = 60_000;
    if (options.preload) for (const spec of this.ctx.models.values()) scheduler.preload(spec);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** Slots of generation models (embedding models have 1). */
  get slots(): number {
    return this.numParallel;
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<this> {
    if (this.#listening) return this;
    this.#host = host;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once("error", onError);
      this.#server.listen(port, host, () => {
        this.#server.off("error", onError);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#listening = true;
    return this;
  }

  /** Stops accepting and drops every open connection: clients now see ECONNREFUSED/ECONNRESET. */
  async stopListening(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async setFault(fault: FaultSpec): Promise<void> {
    this.ctx.faults.set(fault);
    if (fault.mode === "refuse") await this.stopListening();
    else if (!this.#listening && this.#port !== 0) await this.listen(this.#port, this.#host);
  }

  async clearFault(): Promise<void> {
    await this.setFault(NO_FAULT);
  }

  stats() {
    return this.ctx.stats.snapshot();
  }

  /** Times each embedding input was computed (empty unless created with `recordInputs`). */
  inputCounts(): ReadonlyMap<string, number> {
    return this.ctx.inputLedger ?? new Map();
  }

  /** Each embedding call, in the order they started computing (empty unless created with `recordInputs`). */
  embedCalls(): readonly EmbedCall[] {
    return this.ctx.embedCalls ?? [];
  }

  async close(): Promise<void> {
    this.ctx.faults.set(NO_FAULT);
    await this.stopListening();
    this.ctx.scheduler.close();
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    try {
      if (path.startsWith(`${ADMIN_PREFIX}/`)) {
        const text = method === "GET" || method === "DELETE" ? "" : await readBody(req);
        const body = text.trim() === "" ? undefined : parseJsonObject(text);
        const answer = await handleAdmin(
          { ctx: this.ctx, port: () => this.#port, slots: () => this.numParallel, setFault: (fault) => this.setFault(fault) },
          method,
          path.slice(ADMIN_PREFIX.length),
          body,
        );
        sendJson(res, 200, answer);
        return;
      }
      const allowed = ROUTES[path];
      if (!allowed) return sendText(res, 404, "404 page not found", method);
      if (!allowed.includes(method)) return sendText(res, 405, "405 method not allowed", method);
      if (!INFERENCE_ROUTES.has(path)) {
        if (this.ctx.faults.hits("hang", false)) return void res.on("close", () => undefined);
        if (this.ctx.faults.hits("error", false)) return sendError(res, this.ctx.faults.spec.status, RUNNER_STOPPED_MESSAGE);
      }
      await this.#dispatch(req, res, method, path);
    } catch (error) {
      if (error instanceof HttpError) sendError(res, error.status, error.message);
      else sendError(res, 500, (error as Error).message);
    }
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    switch (path) {
      case "/":
        return sendText(res, 200, "Ollama is running", method);
      case "/api/version":
        return sendJson(res, 200, { version: this.ctx.version });
      case "/api/tags":
        return sendJson(res, 200, tags(this.ctx));
      case "/api/ps":
        return sendJson(res, 200, ps(this.ctx));
    }
    const body = parseJsonObject(await readBody(req));
    switch (path) {
      case "/api/show":
        return sendJson(res, 200, show(this.ctx, body));
      case "/api/pull": {
        const name = String(body["model"] ?? body["name"] ?? "");
        if (!this.ctx.models.has(name.includes(":") ? name : `${name}:latest`)) throw new HttpError(500, "pull model manifest: file does not exist");
        return sendJson(res, 200, { status: "success" });
      }
      case "/api/delete": {
        // As Ollama's DeleteHandler: `model` (or the older `name`); later calls for it answer 404, and /api/tags no longer lists it.
        const name = String(body["model"] ?? body["name"] ?? "");
        if (!name) throw new HttpError(400, "model is required");
        const spec = findModel(this.ctx, name);
        if (!spec) throw new HttpError(404, `model '${name}' not found`);
        this.#models.delete(spec.name);
        res.writeHead(200).end();
        return;
      }
      case "/api/embed":
        return handleEmbed(this.ctx, req, res, body);
      case "/api/embeddings":
        return handleLegacyEmbeddings(this.ctx, req, res, body);
      case "/api/generate":
        return handleGeneration("generate", this.ctx, req, res, body);
      case "/api/chat":
        return handleGeneration("chat", this.ctx, req, res, body);
    }
  }
}
