export { ApiKeys, ApiKeyRecord, KeyError, type ApiKeyInfo, type Principal } from "./keys.js";
