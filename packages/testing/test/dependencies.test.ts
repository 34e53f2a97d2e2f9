import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Tests run from the root, where these live. */
const ROOT_TEST_TOOLS = new Set(["vitest"]);
/** Packages whose types come from a separate @types package. */
const NEEDS_TYPES = new Set(["pg", "express", "cli-progress"]);

function sources(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/**
 * Package names a file imports (not node: builtins or relative paths), mapped to whether every
 * import of it is `import type` (which an @types package satisfies).
 */
function importsOf(file: string): Map<string, boolean> {
  const names = new Map<string, boolean>();
  for (const match of readFileSync(file, "utf8").matchAll(/^\s*(import|export)(\s+type)?\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)) {
    const specifier = (match[3] ?? match[4]) as string;
    if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
    const parts = specifier.split("/");
    const name = specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
    names.set(name, (names.get(name) ?? true) && match[2] !== undefined);
  }
  return names;
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function workspaces(): Array<{ dir: string; manifest: Manifest }> {
  return ["apps", "packages"].flatMap((group) =>
    readdirSync(join(ROOT, group))
      .map((name) => join(ROOT, group, name))
      .filter((dir) => {
        try {
          return statSync(join(dir, "package.json")).isFile();
        } catch {
          return false;
        }
      })
      .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest })),
  );
}

describe("workspace dependencies", () => {
  it("every workspace declares what it imports (Docker images install each from its own package.json)", () => {
    const undeclared: string[] = [];
    const found = workspaces();
    expect(found.length).toBeGreaterThan(10);
    for (const { dir, manifest } of found) {
      const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
      for (const folder of ["src", "test"]) {
        for (const file of sources(join(dir, folder))) {
          for (const [imported, typeOnly] of importsOf(file)) {
            if (imported === manifest.name || (folder === "test" && ROOT_TEST_TOOLS.has(imported))) continue;
            if (typeOnly && declared.has(`@types/${imported}`)) continue;
            if (!declared.has(imported)) undeclared.push(`${manifest.name}: ${imported} (${file.slice(ROOT.length + 1)})`);
            if (NEEDS_TYPES.has(imported) && !declared.has(`@types/${imported}`)) undeclared.push(`${manifest.name}: @types/${imported}`);
          }
        }
      }
    }
    expect([...new Set(undeclared)]).toEqual([]);
  });

  it("reads imports the way TypeScript writes them", () => {
    expect([...importsOf(fileURLToPath(import.meta.url))]).toEqual([["vitest", false]]);
    expect(importsOf(join(ROOT, "packages/metrics/src/http.ts")).get("express")).toBe(true);
  });
});
