/**
 * Dates and times in fewer bits (the "date" and "datetime" formats of
 * typed-pack.ts), relative to what the receiver already knows.
 *
 * A datetime answer is ISO 8601 text, "2024-03-13T14:43:10.248+01:00" (0 to 3
 * fraction digits, "Z" or a ±HH:MM offset). It is sent as
 *
 *   delta   its instant in units of its last digit (s, 100 ms, 10 ms or ms),
 *           less the reference instant in those units (rounded down), zigzag;
 *   digits  2 bits: how many fraction digits it had;
 *   zone    1 = the reference zone, 01 = "Z", 00 + zigzag offset in minutes.
 *
 * The reference is the previous datetime packed in the same event (in
 * vocabulary order, through repeat instances), and for the first the event's
 * HLC wall in "Z": a form's end follows its start by minutes, in its zone.
 * Text that is not exactly what these parts format back to (a "-00:00" offset,
 * a 31st of April, a fourth fraction digit) is not packed: it escapes.
 *
 * A date answer is a day number (field-codec.ts); it is sent as its zigzag
 * difference from the day of the event's HLC wall.
 */
import { BitReader, BitWriter, MAX_DELTA, readDelta, writeDelta, writeEscape } from "./bit-pack.js";

const MS_PER_DAY = 86_400_000;
const MS_PER_MINUTE = 60_000;
/** A ±HH:MM offset has two hour digits. */
const MAX_OFFSET_MINUTES = 99 * 60 + 59;
const DIGIT_BITS = 2;
const ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?(Z|[+-]\d\d:\d\d)$/;

/** A zone: "Z", or an offset east of UTC in minutes. */
export type Zone = "Z" | number;

/** What the next datetime of an event is sent relative to; updated as each is packed or unpacked. */
export interface TimeReference {
  instant: number;
  zone: Zone;
}

interface DateTime {
  readonly instant: number;
  readonly digits: number;
  readonly zone: Zone;
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

function formatZone(zone: Zone): string {
  if (zone === "Z") return "Z";
  const a = Math.abs(zone);
  return `${zone < 0 ? "-" : "+"}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
}

/** The text of a datetime, or undefined when its local year has no four-digit form. */
export function formatDateTime(t: DateTime): string | undefined {
  const local = new Date(t.instant + (t.zone === "Z" ? 0 : t.zone) * MS_PER_MINUTE);
  const year = local.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) return undefined;
  const ms = local.getUTCMilliseconds();
  const fraction = t.digits === 0 ? "" : `.${pad(ms, 3).slice(0, t.digits)}`;
  const date = `${pad(year, 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`;
  const time = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}`;
  return `${date}T${time}${fraction}${formatZone(t.zone)}`;
}

/** A datetime text's parts, if formatDateTime gives that very text back. */
export function parseDateTime(text: string): DateTime | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = "", z = "Z"] = m;
  const zone: Zone = z === "Z" ? "Z" : (z[0] === "-" ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6)));
  const local = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  local.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  local.setUTCHours(Number(h), Number(mi), Number(s), Number(frac.padEnd(3, "0")));
  const t = { instant: local.getTime() - (zone === "Z" ? 0 : zone) * MS_PER_MINUTE, digits: frac.length, zone };
  return formatDateTime(t) === text ? t : undefined;
}

const unitOf = (digits: number): number => 10 ** (3 - digits);
const sameZone = (a: Zone, b: Zone): boolean => a === b;

/** Writes a datetime answer or the escape code; returns whether it wrote the value. */
export function writeDateTime(w: BitWriter, v: unknown, ref: TimeReference): boolean {
  const t = typeof v === "string" ? parseDateTime(v) : undefined;
  const unit = t ? unitOf(t.digits) : 1;
  const delta = t ? t.instant / unit - Math.floor(ref.instant / unit) : NaN;
  if (!t || !(Math.abs(delta) <= MAX_DELTA)) {
    writeEscape(w);
    return false;
  }
  writeDelta(w, delta);
  w.bits(t.digits, DIGIT_BITS);
  if (sameZone(t.zone, ref.zone)) w.bit(true);
  else if (t.zone === "Z") w.bits(0b01, 2);
  else {
    w.bits(0b00, 2);
    writeDelta(w, t.zone);
  }
  ref.instant = t.instant;
  ref.zone = t.zone;
  return true;
}

function readZone(r: BitReader, ref: TimeReference): Zone | undefined {
  if (r.bit()) return ref.zone;
  if (r.bit()) return "Z";
  const z = readDelta(r);
  return typeof z === "number" && Math.abs(z) <= MAX_OFFSET_MINUTES ? z : undefined;
}

/** Reads a datetime answer: its text, "escape", or undefined when malformed. */
export function readDateTime(r: BitReader, ref: TimeReference): string | "escape" | undefined {
  const delta = readDelta(r);
  if (delta === "escape") return delta;
  const digits = r.bits(DIGIT_BITS);
  const zone = readZone(r, ref);
  if (typeof delta !== "number" || zone === undefined) return undefined;
  const unit = unitOf(digits);
  const instant = (delta + Math.floor(ref.instant / unit)) * unit;
  const text = Number.isSafeInteger(instant) ? formatDateTime({ instant, digits, zone }) : undefined;
  if (text === undefined) return undefined;
  ref.instant = instant;
  ref.zone = zone;
  return text;
}

/** The day number of an HLC wall: dates are sent relative to it. */
export const dayOfWall = (wall: number): number => Math.floor(wall / MS_PER_DAY);

/** Writes a date answer (a day number) or the escape code; returns whether it wrote the value. */
export function writeDate(w: BitWriter, v: unknown, wallDay: number): boolean {
  const fits = typeof v === "number" && Number.isSafeInteger(v) && !Object.is(v, -0) && Math.abs(v - wallDay) <= MAX_DELTA;
  if (fits) writeDelta(w, v - wallDay);
  else writeEscape(w);
  return fits;
}

/** Reads a date answer: its day number, "escape", or undefined when malformed. */
export function readDate(r: BitReader, wallDay: number): number | "escape" | undefined {
  const d = readDelta(r);
  if (typeof d !== "number") return d === "escape" ? d : undefined;
  const day = d + wallDay;
  return Number.isSafeInteger(day) ? day : undefined;
}
