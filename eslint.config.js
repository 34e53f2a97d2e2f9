import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", ".herd/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", fetch: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      // Configuration is parsed once at start-up (packages/config); nothing else reads the environment.
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "read configuration through @herd/config, not process.env" }],
    },
  },
  {
    // The entry points hand process.env to the config parser; tests and their helpers set up services.
    files: ["apps/*/src/main.ts", "packages/testing/src/env.ts", "**/test/**", "vitest.config.ts"],
    rules: { "no-restricted-properties": "off" },
  },
);
