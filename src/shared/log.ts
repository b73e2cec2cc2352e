/**
 * A minimal structured logger: one line per event on stderr, as text (`key=value` fields) or as a JSON object,
 * injected where logging happens. Numbers that are not whole are rounded to milliseconds' precision (3 decimals).
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Where log lines go; tests pass one that collects them. */
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Formats `fields` as `key=value` pairs, quoting values that contain spaces or quotes. */
export function formatFields(fields: Record<string, unknown> = {}): string {
  return Object.entries(fields)
    .map(([key, value]) => {
      const text = typeof value === "string" ? value : JSON.stringify(rounded(value));
      return `${key}=${/[\s"=]/.test(text ?? "") ? JSON.stringify(text) : text}`;
    })
    .join(" ");
}

/** One log line: `TIME LEVEL message key=value...`, or `{"time", "level", "msg", ...fields}`. */
export function formatLine(
  format: LogFormat,
  time: Date,
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> = {},
): string {
  if (format === "json") {
    const rest = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, rounded(value)]));
    return JSON.stringify({ time: time.toISOString(), level, msg: message, ...rest });
  }
  return `${time.toISOString()} ${level.toUpperCase().padEnd(5)} ${message} ${formatFields(fields)}`.trimEnd();
}

function rounded(value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

/** Logs to stderr, dropping levels below `minLevel`. */
export function consoleLogger(minLevel: LogLevel = "info", format: LogFormat = "text"): Logger {
  const min = LOG_LEVELS.indexOf(minLevel);
  return (level, message, fields) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    console.error(formatLine(format, new Date(), level, message, fields));
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = () => {};

/** A logged warning or error, as kept for the health view. */
export interface LogEntry {
  time: string;
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

/** Passes every line on to `logger` and keeps the last `size` warnings and errors, newest last. */
export function keepingRecentProblems(logger: Logger, size: number): { log: Logger; recent(): LogEntry[] } {
  const kept: LogEntry[] = [];
  return {
    log(level, message, fields = {}) {
      logger(level, message, fields);
      if (level !== "warn" && level !== "error") return;
      kept.push({ time: new Date().toISOString(), level, message, fields });
      if (kept.length > size) kept.shift();
    },
    recent: () => [...kept],
  };
}
