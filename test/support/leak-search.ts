/**
 * Looking for a value in captured bytes, in every form it could take there:
 * its UTF-8 and UTF-16 text (any 8-byte stretch of it, so a value cut across
 * two fragments is still found), its decimal text, its canonical CBOR,
 * IEEE-754 doubles and singles either way round, a record id's 16 raw bytes.
 * A needle is a labelled set of such forms; it is found when any form is.
 */
import { encodeCanonical, isCborMap, type CborValue } from "../../src/engine/cbor.js";
import { plainNumber } from "../../src/bridge/geo-value.js";

/** Bytes of a stretch of text long enough that finding it in random bytes is out of the question (2^-64 a place). */
export const WINDOW = 8;

/** Shortest form searched for: four bytes turn up by chance once in 4 GB. */
const MIN_FORM_BYTES = 4;

export interface Needle {
  readonly label: string;
  readonly forms: readonly Uint8Array[];
}

/** Every WINDOW-byte stretch of `b` (or `b` itself when shorter). */
function windows(b: Uint8Array): Uint8Array[] {
  if (b.length <= WINDOW) return [b];
  return Array.from({ length: b.length - WINDOW + 1 }, (_, i) => b.subarray(i, i + WINDOW));
}

export function textForms(s: string): Uint8Array[] {
  const utf8 = Buffer.from(s, "utf8");
  return [...windows(utf8), ...windows(Buffer.from(s, "utf16le")), encodeCanonical(s)].filter((f) => f.length >= MIN_FORM_BYTES);
}

export function numberForms(n: number): Uint8Array[] {
  const f64 = Buffer.alloc(8);
  const f32 = Buffer.alloc(4);
  const out: Uint8Array[] = [encodeCanonical(n), Buffer.from(plainNumber(n), "utf8")];
  f64.writeDoubleBE(n);
  out.push(Buffer.from(f64), Buffer.from(f64).reverse());
  f32.writeFloatBE(n);
  out.push(Buffer.from(f32), Buffer.from(f32).reverse());
  return out.filter((f) => f.length >= MIN_FORM_BYTES);
}

/**
 * Whether a number is worth searching for: small integers (an age, a count)
 * and short floats are everywhere in CBOR; one whose canonical encoding takes
 * five bytes or more (a 7-digit integer, a coordinate) is not.
 */
function distinctive(n: number): boolean {
  return encodeCanonical(n).length >= 5;
}

/** Needles for every string (of 4+ bytes) and distinctive number inside `v` (a form answer: text, number, point, repeat), and for `v` whole. */
export function valueNeedles(label: string, v: CborValue): Needle[] {
  const out: Needle[] = [];
  const walk = (x: CborValue, at: string): void => {
    if (typeof x === "string") out.push({ label: `${at} ${JSON.stringify(x.slice(0, 24))}`, forms: textForms(x) });
    else if (typeof x === "number" && distinctive(x)) out.push({ label: `${at} ${x}`, forms: numberForms(x) });
    else if (Array.isArray(x)) x.forEach((item, i) => walk(item, `${at}[${i}]`));
    else if (isCborMap(x)) for (const [k, item] of Object.entries(x)) walk(item, `${at}.${k}`);
  };
  walk(v, label);
  if (typeof v === "object" && v !== null) out.push({ label: `${label} (whole, CBOR)`, forms: [encodeCanonical(v)] });
  return out.filter((n) => n.forms.length > 0);
}

/** The hex digits of a record id "uuid:…". */
const recordIdHex = (id: string): string => id.replace(/^uuid:/, "").replace(/-/g, "");

/** The 16 bytes the wire form packs a record id "uuid:…" into. */
export function recordIdBytes(id: string): Uint8Array {
  return Buffer.from(recordIdHex(id), "hex");
}

/** A record id "uuid:…": its text, its hex digits, and the 16 bytes the wire form packs it into. */
export function recordIdNeedle(id: string): Needle {
  const hex = recordIdHex(id);
  return { label: `record ${id}`, forms: [...textForms(id.replace(/^uuid:/, "")), recordIdBytes(id), ...windows(Buffer.from(hex, "utf8"))] };
}

/** Where the first of `haystacks` holding `form` is, or -1. */
function scan(haystacks: readonly Buffer[], form: Uint8Array): number {
  return haystacks.findIndex((h) => h.indexOf(form) !== -1);
}

/**
 * The needles found in any of `haystacks`, each with the first haystack
 * (index) it was found in. Every WINDOW-byte stretch of the haystacks is
 * indexed once, so the thousands of stretches of a long text cost a lookup each.
 */
export function findNeedles(haystacks: readonly Uint8Array[], needles: readonly Needle[]): { label: string; at: number }[] {
  const hay = haystacks.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength));
  const index = new Map<string, number>();
  hay.forEach((h, i) => {
    for (let at = 0; at + WINDOW <= h.length; at++) {
      const key = h.toString("latin1", at, at + WINDOW);
      if (!index.has(key)) index.set(key, i);
    }
  });
  const where = (form: Uint8Array): number => {
    if (form.length < WINDOW) return scan(hay, form);
    const first = index.get(Buffer.from(form.buffer, form.byteOffset, WINDOW).toString("latin1"));
    if (first === undefined) return -1;
    return form.length === WINDOW ? first : scan(hay, form);
  };
  const found: { label: string; at: number }[] = [];
  for (const n of needles) {
    const at = n.forms.map(where).filter((i) => i !== -1).sort((x, y) => x - y)[0];
    if (at !== undefined) found.push({ label: n.label, at });
  }
  return found;
}
