/** A minimal structured logger: one line per event on stderr, `key=value` fields, injected where logging happens. */

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Where log lines go; tests pass one that collects them. */
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Formats `fields` as `key=value` pairs, quoting values that contain spaces or quotes. */
export function formatFields(fields: Record<string, unknown> = {}): string {
  return Object.entries(fields)
    .map(([key, value]) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return `${key}=${/[\s"=]/.test(text ?? "") ? JSON.stringify(text) : text}`;
    })
    .join(" ");
}

/** Logs to stderr with an ISO timestamp, dropping levels below `minLevel`. */
export function consoleLogger(minLevel: LogLevel = "info"): Logger {
  const order: LogLevel[] = ["debug", "info", "warn", "error"];
  const min = order.indexOf(minLevel);
  return (level, message, fields) => {
    if (order.indexOf(level) < min) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message} ${formatFields(fields)}`;
    console.error(line.trimEnd());
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = () => {};
