import { defineConfig } from "vitest/config";

/** The fault-injection suite (`npm run test:faults`): real processes, real load, one scenario at a time. */
export default defineConfig({
  test: {
    include: ["apps/faults/test/**/*.faults.ts"],
    globalSetup: ["apps/faults/test/global-setup.ts"],
    fileParallelism: false,
    sequence: { shuffle: false },
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
