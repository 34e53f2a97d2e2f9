import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  name: string;
  level: string;
  /** "auto" prints human-readable lines on a terminal and JSON everywhere else. */
  format: "auto" | "json" | "pretty";
  /** Defaults to whether stdout is a terminal; injectable for tests. */
  isTerminal?: boolean;
  /** Where JSON lines go instead of stdout (tests read them back). */
  destination?: DestinationStream;
}

const MAX_ARGS = 12;
const MAX_ARG_CHARS = 120;

function shortArg(arg: unknown): unknown {
  if (typeof arg === "string") return arg.length > MAX_ARG_CHARS ? `${arg.slice(0, MAX_ARG_CHARS)}… (${arg.length} chars)` : arg;
  if (typeof arg === "number" || typeof arg === "boolean" || arg === null) return arg;
  if (Buffer.isBuffer(arg)) return `<${arg.length} bytes>`;
  return `<${typeof arg}>`;
}

/** A Redis command as an error carries it, with its arguments cut short. */
function shortCommand(command: unknown): unknown {
  if (typeof command !== "object" || command === null || !Array.isArray((command as { args?: unknown }).args)) return command;
  const { name, args } = command as { name?: unknown; args: unknown[] };
  return { name, args: args.slice(0, MAX_ARGS).map(shortArg), ...(args.length > MAX_ARGS ? { moreArgs: args.length - MAX_ARGS } : {}) };
}

/** An instance of some class (a pg Client, a socket): neither data nor an error. */
function isClassInstance(value: unknown): value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Error || value instanceof Date || Buffer.isBuffer(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype !== Object.prototype && prototype !== null;
}

/**
 * pino's error serializer, except that the Redis command an ioredis error carries keeps only a
 * short form of its arguments: a failed BullMQ call would otherwise log its whole Lua script
 * (about 10 kB) and a failed transaction every value it wrote, on every retry. Objects a library
 * hangs on its errors (pg-pool puts the whole Client on an idle connection's error) are named,
 * not dumped.
 */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (typeof serialized !== "object" || serialized === null) return serialized;
  for (const key of Object.keys(serialized)) {
    const original = (error as Record<string, unknown>)[key];
    if (key !== "command" && isClassInstance(original)) serialized[key] = `[${original.constructor.name || "object"}]`;
  }
  if ("command" in serialized) serialized["command"] = shortCommand(serialized["command"]);
  const previous = serialized["previousErrors"];
  if (Array.isArray(previous)) {
    serialized["previousErrors"] = previous.map((entry: unknown) =>
      typeof entry === "object" && entry !== null ? { message: (entry as { message?: unknown }).message, command: shortCommand((entry as { command?: unknown }).command) } : entry,
    );
  }
  return serialized;
}

export function createLogger(options: LoggerOptions): Logger {
  const terminal = options.isTerminal ?? Boolean(process.stdout.isTTY);
  const pretty = options.format === "pretty" || (options.format === "auto" && terminal);
  const settings = {
    name: options.name,
    level: options.level,
    base: { service: options.name },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty
      ? { transport: { target: "pino-pretty", options: { colorize: terminal, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" } } }
      : {}),
  };
  return options.destination && !pretty ? pino(settings, options.destination) : pino(settings);
}

/** A logger that discards everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

export { coerceError } from "./coerce.js";
export { atMostEvery, OutageLog, warnAtMostEvery } from "./repeated.js";
