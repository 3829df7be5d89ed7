/**
 * The structured logger every long-lived part takes as a dependency: one
 * JSON object a line (the service adds a human-readable form for terminals).
 * Callers never pass secrets in `fields`.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line (e.g. the component's name). */
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes lines at `level` and above through `write` (stdout by default). */
export function createJsonLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  base: Record<string, unknown> = {},
  now: () => Date = () => new Date(),
): Logger {
  const emit = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(JSON.stringify({ time: now().toISOString(), level: lvl, msg, ...base, ...fields }));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createJsonLogger(level, write, { ...base, ...fields }, now),
  };
}

/** A logger that drops everything (tests that assert on state, not on lines). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
