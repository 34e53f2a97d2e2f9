export { testEnv } from "./env.js";
export { waitFor, type WaitOptions } from "./wait.js";
export { uniquePrefix, testRedis, deletePrefix, freePort, RedisServer, countSocketWrites } from "./redis.js";
export { createTestDatabase, type TestDatabase } from "./postgres.js";
export { makePdf } from "./pdf.js";
export { PostgresServer } from "./postgres-server.js";
export { HerdCluster, type Member } from "./cluster.js";
export { RedisClusterServer } from "./redis-cluster.js";
export { makePng } from "./png.js";
