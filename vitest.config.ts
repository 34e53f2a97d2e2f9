import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    // Suites share one Redis and a 2-core machine; running files one at a time keeps the
    // emulator's timing-based counters meaningful. Isolation comes from per-file key prefixes.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
