/**
 * Log output for people and for machines, and the guard that keeps secrets
 * out of both: every line passes through a redactor that replaces any
 * configured secret (token, password, network key) wherever it appears.
 */
import { createJsonLogger, type Logger, type LogLevel } from "./logger.js";

export type LogFormat = "auto" | "json" | "pretty";

const REDACTED = "[redacted]";
/** Secrets shorter than this are not searched for (they would match ordinary words); config validation requires longer ones. */
const MIN_SECRET_LENGTH = 8;

/** Replaces every occurrence of each secret in `line`. */
export function redactor(secrets: readonly string[]): (line: string) => string {
  const list = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  // JSON lines escape some characters; search for the escaped form too.
  const forms = [...new Set(list.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))];
  return (line) => forms.reduce((out, s) => out.split(s).join(REDACTED), line);
}

const LEVEL_MARK: Record<string, string> = { debug: "debug", info: "info ", warn: "WARN ", error: "ERROR" };

/** "09:30:12 info  forms opened  forms=household <- kobo:a7x…" from one JSON line. */
export function prettyLine(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>;
  const { time, level, msg, ...rest } = o;
  const t = typeof time === "string" ? time.slice(11, 19) : "";
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${t} ${LEVEL_MARK[String(level)] ?? String(level)} ${String(msg)}${fields ? `  ${fields}` : ""}`;
}

export interface ServiceLoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly secrets: readonly string[];
  /** Where lines go; stdout by default. */
  readonly write?: (line: string) => void;
  /** Whether the output is a terminal (decides "auto"). */
  readonly isTty?: boolean;
}

export function createServiceLogger(o: ServiceLoggerOptions): Logger {
  const out = o.write ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const redact = redactor(o.secrets);
  const pretty = o.format === "pretty" || (o.format === "auto" && (o.isTty ?? process.stdout.isTTY === true));
  return createJsonLogger(o.level, (line) => out(redact(pretty ? prettyLine(line) : line)));
}
