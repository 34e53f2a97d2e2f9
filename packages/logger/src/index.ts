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

export function createLogger(options: LoggerOptions): Logger {
  const terminal = options.isTerminal ?? Boolean(process.stdout.isTTY);
  const pretty = options.format === "pretty" || (options.format === "auto" && terminal);
  const settings = {
    name: options.name,
    level: options.level,
    base: { service: options.name },
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

/** Normalises anything thrown into an Error so every catch site can log it the same way. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const message =
    typeof value === "object" && value !== null && "message" in value ? String((value as { message: unknown }).message) : String(value);
  return new Error(message, { cause: value });
}
