import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ApiEnv, CliEnv, DoctorEnv, KeysEnv, MigrateEnv, StartEnv, WorkerEnv } from "../src/index.js";

const README = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

// Config is read in one place, so its schemas list every variable a process reads; each must be
// documented in README (written as `NAME`), or a newcomer cannot find it.
describe("README's configuration", () => {
  it.each([
    ["API", ApiEnv],
    ["worker", WorkerEnv],
    ["herd start", StartEnv],
    ["herd", CliEnv],
    ["herd migrate", MigrateEnv],
    ["herd doctor", DoctorEnv],
    ["herd keys", KeysEnv],
  ] as const)("documents every variable the %s reads", (_, schema) => {
    const names = Object.keys(schema.shape);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !README.includes(`\`${name}\``))).toEqual([]);
  });
});
