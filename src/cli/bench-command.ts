/** `meshlogd bench airtime`: what each submission of a Kobo data page costs on air. */
import { readFileSync } from "node:fs";
import { airtimeReport } from "./airtime-report.js";
import { numberOption, parseOptions, UsageError } from "./options.js";

function readJson(opts: Map<string, string>, name: string): unknown {
  const path = opts.get(name);
  if (path === undefined) throw new UsageError(`--${name} FILE is required`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--${name} ${path}: cannot read it as JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

export function benchCommand(args: readonly string[]): number {
  if (args[0] !== "airtime") throw new UsageError(`unknown benchmark "${args[0] ?? ""}" (there is: airtime)`);
  const opts = parseOptions(args.slice(1), ["asset", "data", "sf", "bw", "cr", "sealed"]);
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
  return 0;
}
