/**
 * Numbers in fewer bits (the "decimal", "geopoint" and "geotrace" formats of
 * typed-pack.ts). Answers are typed as decimal text, so a number is usually a
 * short decimal: 2.4 is sent as the integer 24 and one decimal digit, not as
 * a float64. The receiver divides m by 10^d (both exact doubles), which gives
 * back the very number only because the sender checked that it does.
 *
 *   decimal   int m (bit-pack.ts writeInt, which can escape), count d (0…15)
 *   geopoint  2 bits: number of parts less 2 (3 = escape); then lat and lon
 *             each as 0 + 32 bits of zigzag(round(x·10^7)), or 1 + a decimal;
 *             then altitude and accuracy, if there, as decimals
 *   geotrace  count of points (which can escape), then each point as above
 *
 * A number no code gives back exactly (-0, 0.1 + 0.2, 1e-300) escapes, with
 * the whole answer it is part of.
 */
import { BitReader, BitWriter, readCount, readInt, writeCount, writeEscape, writeInt } from "./bit-pack.js";

/** Most decimal digits: 10^d and m stay exact doubles. */
const MAX_DIGITS = 15;
/** GPS receivers give degrees to 7 decimals (about 1 cm). */
const COORDINATE_SCALE = 1e7;
const COORDINATE_BITS = 32;
const PART_COUNT_BITS = 2;
const POINT_ESCAPE = 3;

interface Decimal {
  readonly m: number;
  readonly d: number;
}

const fromDecimal = (x: Decimal): number => (x.d === 0 ? x.m : x.m / 10 ** x.d);

function decimalOf(v: unknown): Decimal | undefined {
  if (typeof v !== "number" || !Number.isFinite(v) || Object.is(v, -0)) return undefined;
  for (let d = 0; d <= MAX_DIGITS; d++) {
    const m = Math.round(v * 10 ** d);
    if (!Number.isSafeInteger(m)) return undefined;
    if (fromDecimal({ m, d }) === v) return { m: m + 0, d };
  }
  return undefined;
}

function writeDecimalParts(w: BitWriter, x: Decimal): void {
  writeInt(w, x.m);
  writeCount(w, x.d);
}

function readDecimalParts(r: BitReader): number | "escape" | undefined {
  const m = readInt(r);
  if (m === "escape") return m;
  const d = readCount(r);
  if (typeof m !== "number" || typeof d !== "number" || d > MAX_DIGITS) return undefined;
  const v = fromDecimal({ m, d });
  return Object.is(v, -0) ? undefined : v;
}

/** Writes a decimal answer or the escape code; returns whether it wrote the value. */
export function writeDecimal(w: BitWriter, v: unknown): boolean {
  const x = decimalOf(v);
  if (x) writeDecimalParts(w, x);
  else writeEscape(w);
  return x !== undefined;
}

/** Reads a decimal answer: the number, "escape", or undefined when malformed. */
export function readDecimal(r: BitReader): number | "escape" | undefined {
  return readDecimalParts(r);
}

type Part = { readonly fixed: number } | { readonly decimal: Decimal };

function coordinateOf(v: number): Part | undefined {
  const m = Math.round(v * COORDINATE_SCALE);
  const z = m >= 0 ? 2 * m : -2 * m - 1;
  if (Number.isSafeInteger(m) && z < 2 ** COORDINATE_BITS && m / COORDINATE_SCALE === v && !Object.is(v, -0)) return { fixed: z };
  const decimal = decimalOf(v);
  return decimal && { decimal };
}

/** The parts of a point as it will be written, or undefined if it cannot be. */
function planPoint(v: unknown): Part[] | undefined {
  if (!Array.isArray(v) || v.length < 2 || v.length > 4 || !v.every((x) => typeof x === "number")) return undefined;
  const parts: (Part | undefined)[] = v.map((x: number, i) => {
    if (i < 2) return coordinateOf(x);
    const decimal = decimalOf(x);
    return decimal && { decimal };
  });
  return parts.every((p) => p !== undefined) ? (parts as Part[]) : undefined;
}

function writePoint(w: BitWriter, parts: readonly Part[]): void {
  w.bits(parts.length - 2, PART_COUNT_BITS);
  parts.forEach((p, i) => {
    if (i < 2) w.bit("decimal" in p);
    if ("fixed" in p) w.bits(p.fixed, COORDINATE_BITS);
    else writeDecimalParts(w, p.decimal);
  });
}

function readPoint(r: BitReader, count: number): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i < 2 && !r.bit()) {
      const z = r.bits(COORDINATE_BITS);
      const m = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      out.push(m / COORDINATE_SCALE + 0);
      continue;
    }
    const v = readDecimalParts(r);
    if (typeof v !== "number") return undefined;
    out.push(v);
  }
  return out;
}

/** Writes a geopoint answer ([lat, lon, alt?, acc?]) or the escape code; returns whether it wrote the value. */
export function writeGeopoint(w: BitWriter, v: unknown): boolean {
  const parts = planPoint(v);
  if (parts) writePoint(w, parts);
  else w.bits(POINT_ESCAPE, PART_COUNT_BITS);
  return parts !== undefined;
}

/** Reads a geopoint answer: the point, "escape", or undefined when malformed. */
export function readGeopoint(r: BitReader): number[] | "escape" | undefined {
  const n = r.bits(PART_COUNT_BITS);
  return n === POINT_ESCAPE ? "escape" : readPoint(r, n + 2);
}

/** Writes a geotrace or geoshape answer (an array of points) or the escape code; returns whether it wrote the value. */
export function writeGeotrace(w: BitWriter, v: unknown): boolean {
  const points = Array.isArray(v) ? v.map(planPoint) : undefined;
  if (!points || !points.every((p) => p !== undefined)) {
    writeEscape(w);
    return false;
  }
  writeCount(w, points.length);
  for (const p of points as Part[][]) writePoint(w, p);
  return true;
}

/** Reads a geotrace answer: its points, "escape", or undefined when malformed. `maxPoints` bounds what a hostile count can ask for. */
export function readGeotrace(r: BitReader, maxPoints: number): number[][] | "escape" | undefined {
  const n = readCount(r);
  if (n === "escape") return n;
  if (typeof n !== "number" || n > maxPoints || n * PART_COUNT_BITS > r.left()) return undefined;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const count = r.bits(PART_COUNT_BITS);
    const p = count === POINT_ESCAPE ? undefined : readPoint(r, count + 2);
    if (!p) return undefined;
    out.push(p);
  }
  return out;
}
