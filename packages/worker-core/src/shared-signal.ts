import { setMaxListeners } from "node:events";

/**
 * An AbortController whose signal every running job or call listens to (the worker's shutdown,
 * an instance going dead). Node warns of a leak past 10 listeners on one signal, which here is
 * just a busy worker: 20 slots and the jobs waiting for them listen at once. Each listener is
 * removed when its job or call ends (see JobCancels, the Ollama client's transport).
 */
export function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
