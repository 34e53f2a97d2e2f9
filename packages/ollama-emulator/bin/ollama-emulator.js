#!/usr/bin/env node
// A committed entry point, so that `npm ci` links `ollama-emulator` into node_modules/.bin on a
// fresh clone: npm skips a bin whose file does not exist at install time, and dist/ exists only
// after a build.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error("ollama-emulator: not built yet; run `npm run build` at the repository root first");
  process.exit(1);
}
await import(entry.href);
