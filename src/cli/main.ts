#!/usr/bin/env node
/**
 * The meshlogd command. Until the service lands, its default is the engine
 * demo: several simulated sites converging over a lossy channel.
 */
import { readFileSync } from "node:fs";
import { runEngineDemo } from "../demo/engine-demo.js";
import { airtimeReport } from "./airtime-report.js";

const USAGE = `usage: meshlogd [command]

commands:
  demo [--loss 0.2] [--seed 42]   run the engine demo: a base camp and four field teams
                                  converge over a simulated lossy channel (the default)
  bench airtime --asset ASSET.json --data DATA.json [--sf 9] [--bw 125000] [--cr 5] [--sealed yes|no]
                                  what each submission of a Kobo data page costs on air:
                                  JSON lines of bytes, frames and airtime (medians), against the
                                  seed prototype's JSON events
  help                            show this text`;

/** Parses `--name value` options; unknown options are an error that names them. */
function parseOptions(args: readonly string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const name = arg.replace(/^--/, "");
    if (!arg.startsWith("--") || !known.includes(name)) throw new UsageError(`unknown option "${arg}"`);
    const value = args[i + 1];
    if (value === undefined) throw new UsageError(`option "${arg}" needs a value`);
    out.set(name, value);
    i++;
  }
  return out;
}

function numberOption(opts: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const raw = opts.get(name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return v;
}

class UsageError extends Error {}

function readJson(opts: Map<string, string>, name: string): unknown {
  const path = opts.get(name);
  if (path === undefined) throw new UsageError(`--${name} FILE is required`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--${name} ${path}: cannot read it as JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function benchAirtime(opts: Map<string, string>): void {
  const sf = numberOption(opts, "sf", 5, 12) ?? 9;
  const bandwidth = numberOption(opts, "bw", 7800, 1_625_000) ?? 125_000;
  const cr = numberOption(opts, "cr", 5, 8) ?? 5;
  const sealed = (opts.get("sealed") ?? "yes") !== "no";
  const r = airtimeReport({ asset: readJson(opts, "asset"), data: readJson(opts, "data"), modulation: { sf, bandwidth, cr }, sealed });
  const line = (metric: string, value: number, unit: string) =>
    process.stdout.write(`${JSON.stringify({ metric, value: Math.round(value * 1000) / 1000, unit })}\n`);
  line("radio.bytes_on_air_per_submission_median", r.bytesOnAirMedian, "bytes");
  line("radio.frames_per_submission_median", r.framesMedian, "frames");
  line("radio.airtime_ms_per_submission_median", r.airtimeMsMedian, "ms");
  line("radio.seed_bytes_per_submission_median", r.seedBytesMedian, "bytes");
  line("radio.bytes_vs_seed_ratio", r.bytesOnAirMedian / r.seedBytesMedian, "ratio");
  process.stderr.write(
    `${r.submissions} submissions at SF${sf}/${bandwidth / 1000} kHz/CR4:${cr}, ${sealed ? "sealed" : "unsealed"}: ` +
      `${(r.oneFrameShare * 100).toFixed(1)} % in one frame; the vocabulary (once per site and form) is ${r.vocabularyBytes} bytes\n`,
  );
}

function main(argv: readonly string[]): number {
  const [command = "demo", ...rest] = argv;
  switch (command) {
    case "demo": {
      const opts = parseOptions(rest, ["loss", "seed"]);
      const result = runEngineDemo({
        log: (line) => process.stdout.write(`${line}\n`),
        loss: numberOption(opts, "loss", 0, 0.9),
        seed: numberOption(opts, "seed", 0, 2 ** 31),
      });
      return result.passed ? 0 : 1;
    }
    case "bench": {
      if (rest[0] !== "airtime") throw new UsageError(`unknown benchmark "${rest[0] ?? ""}" (there is: airtime)`);
      benchAirtime(parseOptions(rest.slice(1), ["asset", "data", "sf", "bw", "cr", "sealed"]));
      return 0;
    }
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`meshlogd: ${err.message}\n\n${USAGE}\n`);
  process.exitCode = 2;
}
