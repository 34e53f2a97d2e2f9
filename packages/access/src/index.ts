export { ApiKeys, ApiKeyRecord, KeyError, type ApiKeyInfo, type Principal, type RateLimit } from "./keys.js";
export { ConcurrencyQuota, QUOTA_LEASE_MS } from "./quota.js";
