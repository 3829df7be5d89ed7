/**
 * Canonical answer values: one server-independent encoding per FieldType, so
 * every site computes the same value for the same answer whether it reads
 * XML text, Kobo's JSON strings or ODK Central's OData JSON.
 *
 * - Empty or absent → null.
 * - string, select_one, time, binary → the text itself.
 * - dateTime → the text, trimmed, with a "+HH" offset completed to "+HH:00"
 *   (Central's OData does both, so the XML reading must too).
 * - int → a safe integer for an integer literal, else the text unchanged.
 * - decimal → a number for a finite decimal literal, else the text.
 *   Write-back normalises the spelling: "21.50" is read as 21.5 and written "21.5".
 * - boolean → true/false for "true"/"1"/"false"/"0", else the text; written "true"/"false".
 * - date → whole days since 1970-01-01 for a valid "YYYY-MM-DD", else the text.
 * - select_multiple → the whitespace-separated choices as an array of strings.
 * - geopoint, geotrace, geoshape → number arrays (see geo-value.ts), else the text.
 *
 * Whenever the text does not fit its type, the whole text is kept as a string:
 * no answer is ever lost. Canonical values round-trip exactly:
 * `valueFromText(t, valueToText(t, v))` deep-equals `v`.
 *
 * Central's OData is lossier than its XML (it runs `parseInt`/`parseFloat` on
 * int and decimal text, yielding null for "abc"), so for answers that do not
 * fit their type the XML is the only exact source.
 */
import type { CborValue } from "../engine/cbor.js";
import type { FieldType } from "./form-schema.js";
import { geoFromGeoJson, geoFromWkt, numberFromLiteral, plainNumber, pointFromText, pointToText, traceFromText, traceToText } from "./geo-value.js";

/**
 * A value of a shape no reader produces (a map or bytes at a field, a scalar
 * where a repeat's array of maps belongs): the caller mixed up values.
 */
export class FieldValueError extends Error {
  constructor(
    readonly type: FieldType | "repeat",
    readonly shape: string,
  ) {
    super(`a ${shape} is not an answer of type ${type}`);
    this.name = "FieldValueError";
  }
}

const INT_LITERAL = /^[+-]?\d+$/;
const DATE_LITERAL = /^\d{4}-\d{2}-\d{2}$/;
const SHORT_OFFSET = /[+-]\d\d$/;
const MS_PER_DAY = 86_400_000;
/** Days are written as four-digit years, so only 0000-01-01 … 9999-12-31 have a text form. */
const FIRST_DAY = dayOf(0, 1, 1);
const LAST_DAY = dayOf(9999, 12, 31);

function dayOf(year: number, month: number, day: number): number {
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  return new Date(0).setUTCFullYear(year, month - 1, day) / MS_PER_DAY;
}

/** Whether `n` is a day number with a "YYYY-MM-DD" text form. */
export function isDayNumber(n: number): boolean {
  return Number.isInteger(n) && n >= FIRST_DAY && n <= LAST_DAY;
}

/** "YYYY-MM-DD" of a day number; the caller checks isDayNumber first. */
function dateText(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

function dayFromText(text: string): number | undefined {
  if (!DATE_LITERAL.test(text)) return undefined;
  const day = dayOf(Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10)));
  // Out-of-range months and days roll over ("2023-02-30" → March 2): reject those.
  return dateText(day) === text ? day : undefined;
}

function intFromText(text: string): CborValue {
  if (!INT_LITERAL.test(text)) return text;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n + 0 : text;
}

function booleanFromText(text: string): CborValue {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  return text;
}

function dateTimeFromText(text: string): CborValue {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  return SHORT_OFFSET.test(trimmed) ? `${trimmed}:00` : trimmed;
}

function choicesFromText(text: string): CborValue {
  const choices = text.split(/\s+/).filter((c) => c !== "");
  return choices.length > 0 ? choices : null;
}

/** The canonical value of an answer's text (XML element text, or a Kobo JSON string). Total. */
export function valueFromText(type: FieldType, text: string): CborValue {
  if (text === "") return null;
  switch (type) {
    case "int":
      return intFromText(text);
    case "decimal":
      return numberFromLiteral(text) ?? text;
    case "boolean":
      return booleanFromText(text);
    case "date":
      return dayFromText(text) ?? text;
    case "dateTime":
      return dateTimeFromText(text);
    case "select_multiple":
      return choicesFromText(text);
    case "geopoint":
      return pointFromText(text) ?? text;
    case "geotrace":
    case "geoshape":
      return traceFromText(text) ?? text;
    default:
      return text;
  }
}

function arrayToText(type: FieldType, items: readonly CborValue[]): string {
  if (items.every((x): x is string => typeof x === "string")) return items.join(" ");
  if (items.every((x): x is number => typeof x === "number")) return pointToText(items);
  if (items.every((x): x is number[] => Array.isArray(x) && x.every((n) => typeof n === "number"))) return traceToText(items);
  throw new FieldValueError(type, "mixed array");
}

/**
 * The XML text of a value. The inverse of valueFromText on canonical values;
 * null gives "" (an empty element).
 * @throws FieldValueError for maps, bytes and arrays no reader produces (programmer misuse).
 */
export function valueToText(type: FieldType, value: CborValue): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new FieldValueError(type, "non-finite number");
    return type === "date" && isDayNumber(value) ? dateText(value) : plainNumber(value);
  }
  if (Array.isArray(value)) return arrayToText(type, value);
  throw new FieldValueError(type, value instanceof Uint8Array ? "byte string" : "map");
}

const isGeoType = (t: FieldType): boolean => t === "geopoint" || t === "geotrace" || t === "geoshape";

function geoFromOData(type: FieldType, v: unknown): CborValue | undefined {
  const geo = typeof v === "string" ? geoFromWkt(v) : geoFromGeoJson(v);
  if (geo === undefined || geo.length === 0) return undefined;
  const isPoint = typeof geo[0] === "number";
  // A Point where a trace is expected (or the reverse) is a form change, not an answer to reshape.
  return isPoint === (type === "geopoint") ? geo : undefined;
}

/**
 * The canonical value of a value in ODK Central's OData JSON (lib/data/odata.js
 * `submissionToOData`): numbers for int and decimal, GeoJSON objects (or WKT
 * text) for geo types, text for everything else, null for empty. Agrees with
 * valueFromText on the XML text Central read it from. Total: a shape Central
 * does not produce is kept as its JSON text rather than dropped.
 */
export function valueFromOData(type: FieldType, v: unknown): CborValue {
  if (v === null || v === undefined) return null;
  if (isGeoType(type) && typeof v !== "number" && typeof v !== "boolean") {
    const geo = geoFromOData(type, v);
    if (geo !== undefined) return geo;
  }
  if (typeof v === "string") return valueFromText(type, v);
  if (typeof v === "number") return Number.isFinite(v) ? valueFromText(type, plainNumber(v)) : null;
  if (typeof v === "boolean") return valueFromText(type, String(v));
  return JSON.stringify(v);
}
