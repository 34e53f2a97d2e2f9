export { ApiKeys, ApiKeyRecord, KeyError, parseRate, type ApiKeyInfo, type Principal, type RateLimit } from "./keys.js";
