/**
 * The benchmark output contract: stdout carries only metric lines, one JSON
 * object each; everything else goes to stderr.
 */

/** One measured value. */
export interface Metric {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
}

/** Writes `m` as one JSON line on stdout. */
export function printMetric(m: Metric): void {
  if (!Number.isFinite(m.value)) throw new RangeError(`metric ${m.metric} has no finite value (${m.value})`);
  process.stdout.write(`${JSON.stringify({ metric: m.metric, value: m.value, unit: m.unit })}\n`);
}

/** A progress or diagnostic line on stderr. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** `x` rounded to `digits` significant digits, for readable metric values. */
export function round(x: number, digits = 4): number {
  return Number(x.toPrecision(digits));
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}
