import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Every `bin` of every workspace, with the file it names relative to the repository. */
function workspaceBins(): Array<{ name: string; file: string }> {
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] };
  const manifests = execFileSync("git", ["ls-files", ...root.workspaces.map((pattern) => `${pattern}/package.json`)], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  return manifests.flatMap((manifest) => {
    const bin = (JSON.parse(readFileSync(join(ROOT, manifest), "utf8")) as { bin?: Record<string, string> }).bin ?? {};
    return Object.entries(bin).map(([name, target]) => ({ name, file: normalize(join(dirname(manifest), target)) }));
  });
}

describe("workspace commands on a fresh clone", () => {
  const bins = workspaceBins();

  it("finds the commands README uses", () => {
    expect(bins.map((bin) => bin.name).sort()).toEqual(["herd", "ollama-emulator"]);
  });

  // npm links a bin into node_modules/.bin only if its file exists when `npm ci` runs, which is
  // before any build: a bin under dist/ is never linked on a fresh clone.
  it.each(bins.map((bin) => [bin.name, bin.file]))("%s names a committed, executable file (%s)", (_, file) => {
    expect(execFileSync("git", ["ls-files", "--error-unmatch", file], { cwd: ROOT, encoding: "utf8" }).trim()).toBe(file);
    expect(() => accessSync(join(ROOT, file), constants.X_OK)).not.toThrow();
    expect(readFileSync(join(ROOT, file), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});
