import { describe, expect, it } from "vitest";
import { describeBinders, sharedInstances, type WorkerHeartbeat } from "../src/index.js";

function worker(workerId: string, host: string, urls: string[]): WorkerHeartbeat {
  return {
    workerId,
    host,
    pid: 1,
    startedAt: "",
    updatedAt: `t-${workerId}`,
    instances: urls.map((url, i) => ({ name: `${workerId}-${i}`, url, healthy: true, weight: 1, models: [] })),
  };
}

describe("sharedInstances", () => {
  it("finds a server bound by two workers, whatever their hosts, and nothing else", () => {
    const fleet = [
      worker("w-a", "box-a", ["http://gpu-1:11434", "http://gpu-2:11434"]),
      worker("w-b", "box-b", ["http://gpu-2:11434", "http://gpu-3:11434"]),
      worker("w-c", "box-c", ["http://gpu-4:11434"]),
    ];
    expect(sharedInstances(fleet)).toEqual([
      {
        key: "http://gpu-2:11434",
        url: "http://gpu-2:11434",
        binders: [
          { workerId: "w-a", host: "box-a" },
          { workerId: "w-b", host: "box-b" },
        ],
      },
    ]);
  });

  it("keeps each machine's loopback server its own, and two workers on one machine share it", () => {
    const local = "http://127.0.0.1:11434";
    expect(sharedInstances([worker("w-a", "box-a", [local]), worker("w-b", "box-b", [local])])).toEqual([]);
    const shared = sharedInstances([worker("w-a", "box-a", [local]), worker("w-b", "box-a", [local]), worker("w-c", "box-c", [local])]);
    expect(shared.map((entry) => [entry.key, entry.binders.map((binder) => binder.workerId)])).toEqual([[`box-a|${local}`, ["w-a", "w-b"]]]);
  });

  it("counts a worker once, even when it lists a server twice or two processes share its id", () => {
    const url = "http://gpu-1:11434";
    expect(sharedInstances([worker("w-a", "box-a", [url, url])])).toEqual([]);
    expect(sharedInstances([worker("w-a", "box-a", [url]), worker("w-a", "box-b", [url])])).toEqual([]);
  });

  it("names the binders for messages", () => {
    expect(describeBinders([{ workerId: "w-a", host: "box-a" }, { workerId: "w-b", host: "box-b" }])).toBe("w-a (box-a), w-b (box-b)");
  });
});
