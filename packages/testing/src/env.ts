import { z } from "zod";

/** Where the tests find their services; parsed once, like every other configuration. */
const TestEnv = z.object({
  TEST_REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  TEST_DATABASE_URL: z.string().default("postgres://postgres@127.0.0.1:5432/postgres"),
  TEST_LOG_LEVEL: z.enum(["silent", "error", "warn", "info", "debug"]).default("silent"),
});

export const testEnv = TestEnv.parse(process.env);
