import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface BindingState {
  instance: string;
  model: string;
  slots: number;
  inFlight: number;
}

export interface InstanceState {
  instance: string;
  healthy: boolean;
  /** Other live workers binding the same Ollama server (see sharedInstances in @herd/fleet). */
  otherWorkers: number;
}

/**
 * A worker's view of its Ollama instances. Slots, in-flight calls and health are read from the
 * bindings when Prometheus scrapes; call durations and errors are recorded as they happen. The
 * instance is labelled `ollama`, not `instance`: Prometheus sets `instance` to the scraped target
 * and would rename ours to `exported_instance`.
 */
export class InstanceMetrics {
  readonly requestDuration: Histogram<"ollama" | "model" | "kind" | "outcome">;
  readonly errors: Counter<"ollama" | "class">;
  readonly held: Histogram<"ollama" | "model">;
  readonly loads: Counter<"ollama" | "model">;

  constructor(registry: Registry, state: { bindings: () => BindingState[]; instances: () => InstanceState[] }) {
    new Gauge({
      name: "herd_instance_slots",
      help: "Slots (parallel requests) of an instance for a model.",
      labelNames: ["ollama", "model"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const binding of state.bindings()) this.set({ ollama: binding.instance, model: binding.model }, binding.slots);
      },
    });
    new Gauge({
      name: "herd_instance_in_flight",
      help: "Ollama calls running on an instance for a model.",
      labelNames: ["ollama", "model"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const binding of state.bindings()) this.set({ ollama: binding.instance, model: binding.model }, binding.inFlight);
      },
    });
    new Gauge({
      name: "herd_instance_healthy",
      help: "1 while an instance is healthy and pulling jobs, 0 while it is taken out.",
      labelNames: ["ollama"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const instance of state.instances()) this.set({ ollama: instance.instance }, instance.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: "herd_instance_other_workers",
      help: "Other live workers binding the same Ollama instance. Above 0 the instance is oversubscribed: each worker fills its slots. Give each instance to one worker, or set HERD_CLAIM_INSTANCES.",
      labelNames: ["ollama"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const instance of state.instances()) this.set({ ollama: instance.instance }, instance.otherWorkers);
      },
    });
    this.requestDuration = new Histogram({
      name: "herd_ollama_request_duration_seconds",
      help: "Duration of calls to Ollama (until the answer starts), by instance, model, kind and outcome.",
      labelNames: ["ollama", "model", "kind", "outcome"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.held = new Histogram({
      name: "herd_ollama_held_seconds",
      help: "Time Ollama held a generation before running it (waiting for one of the model's parallel slots), from the durations it reports. Beyond a few ms the instance got more calls at once than it runs: slots above its OLLAMA_NUM_PARALLEL, or other clients.",
      labelNames: ["ollama", "model"] as const,
      buckets: [0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.loads = new Counter({
      name: "herd_ollama_loads_total",
      help: "Times Ollama loaded (or reloaded) the model, from calls whose load_duration was 250 ms or more (one load however many calls waited for it). Frequent loads: requests asking for different runner options (num_ctx...), or models evicting each other.",
      labelNames: ["ollama", "model"] as const,
      registers: [registry],
    });
    this.errors = new Counter({
      name: "herd_ollama_errors_total",
      help: "Failed calls to Ollama by instance and error class (connection, timeout, server, bad_request, not_found, invalid_response, aborted).",
      labelNames: ["ollama", "class"] as const,
      registers: [registry],
    });
  }
}
