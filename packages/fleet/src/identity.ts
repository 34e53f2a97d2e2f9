import { isLoopbackUrl } from "@herd/config";

/**
 * One Ollama server across the fleet: its URL, qualified by the worker's host when the URL is a
 * loopback one. Two workers bound to the same server (replicas sharing an instance list) share a
 * key; two boxes' local servers do not.
 */
export function instanceKey(workerHost: string, url: string): string {
  return isLoopbackUrl(url) ? `${workerHost}|${url}` : url;
}

/** Whether a process on `fromHost` can call the server a worker on `workerHost` calls at `url`. */
export function reachableFrom(fromHost: string, workerHost: string, url: string): boolean {
  return !isLoopbackUrl(url) || fromHost === workerHost;
}
