import { describe, expect, it } from "vitest";
import { FleetSnapshot, type ModelBindingStatus, type WorkerHeartbeat } from "../src/index.js";

function worker(id: string, bindings: Array<Partial<ModelBindingStatus>>): WorkerHeartbeat {
  const models = bindings.map((binding) => ({ model: "m:latest", kinds: ["generate" as const], slots: 1, inFlight: 0, completed: 0, failed: 0, ...binding }));
  return { workerId: id, host: "gpu", pid: 1, startedAt: "", updatedAt: "", instances: [{ name: `${id}-0`, url: `http://${id}:11434`, healthy: true, weight: 1, models }] };
}

describe("FleetSnapshot capabilities", () => {
  it("says a model lacks a capability only when every instance serving it lists its capabilities without it", () => {
    const listed = new FleetSnapshot([worker("a", [{ capabilities: ["completion", "tools"] }]), worker("b", [{ capabilities: ["completion", "vision"] }])], 0);
    expect(listed.lacks("m:latest", "thinking")).toBe(true);
    // One instance with vision is enough: the job may run there.
    expect(listed.lacks("m:latest", "vision")).toBe(false);
    expect(listed.lacks("m:latest", "tools")).toBe(false);
    // An instance that lists none (Ollama < 0.6) might have it: unknown, never refused.
    const mixed = new FleetSnapshot([worker("a", [{ capabilities: ["completion"] }]), worker("b", [{}])], 0);
    expect(mixed.lacks("m:latest", "vision")).toBe(false);
    expect(new FleetSnapshot([worker("b", [{}]), worker("a", [{ capabilities: ["completion"] }])], 0).lacks("m:latest", "vision")).toBe(false);
    expect(listed.lacks("other:latest", "vision")).toBe(false);
  });
});

describe("FleetSnapshot model spelling", () => {
  const fleet = new FleetSnapshot(
    [
      worker("a", [
        { model: "llama3.2:latest", kinds: ["generate"] },
        { model: "nomic-embed-text:latest", kinds: ["embed"] },
      ]),
      worker("b", [
        { model: "Qwen3:8b", kinds: ["generate"] },
        { model: "qwen3:8b", kinds: ["generate"] },
      ]),
    ],
    0,
  );

  it("names the served model whatever the case, as Ollama finds it", () => {
    expect(fleet.spelling("llama3.2:latest", "generate")).toBe("llama3.2:latest");
    expect(fleet.spelling("LLAMA3.2:Latest", "generate")).toBe("llama3.2:latest");
    expect(fleet.spelling("Nomic-Embed-Text:latest")).toBe("nomic-embed-text:latest");
  });

  it("finds nothing for another kind, an unserved model, or a case that fits two served models", () => {
    expect(fleet.spelling("LLAMA3.2:latest", "embed")).toBeUndefined();
    expect(fleet.spelling("mistral:latest", "generate")).toBeUndefined();
    expect(fleet.spelling("QWEN3:8B", "generate")).toBeUndefined();
    // Written exactly, either of the two is found.
    expect(fleet.spelling("Qwen3:8b", "generate")).toBe("Qwen3:8b");
  });
});

describe("FleetSnapshot context length", () => {
  it("is the smallest any instance reports for the model, and unknown when none reports one", () => {
    const fleet = new FleetSnapshot([worker("a", [{ contextLength: 131_072 }]), worker("b", [{}]), worker("c", [{ contextLength: 8192 }])], 0);
    expect(fleet.models.get("m:latest")?.contextLength).toBe(8192);
    expect(new FleetSnapshot([worker("b", [{}])], 0).models.get("m:latest")?.contextLength).toBeUndefined();
  });
});
