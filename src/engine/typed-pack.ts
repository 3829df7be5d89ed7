/**
 * Typed packing: an upsert's fields under a vocabulary with formats
 * (vocabulary.ts), as a bit stream with each answer in its format's code:
 *
 *   packed = bits | [bits, [literal, …]] | [bits, [literal, …], {extra fields}]
 *
 * bits is a record: 1 if every vocabulary field is present, else 0 and one
 * presence bit per vocabulary field; then the code of each present field's
 * answer in vocabulary order; the whole zero-padded to a byte.
 * Every code can say "escape": the answer did not fit its format (a hashed
 * value, a select answer that is no choice, a date typed as text) and is the
 * next entry of the literal list, exactly as it is. A field without format is
 * always a literal. Fields the vocabulary does not list are extra fields.
 *
 *   text             text-pack.ts
 *   int              bit-pack.ts writeInt
 *   decimal          number-pack.ts
 *   date, datetime   time-pack.ts (relative to the event's HLC wall)
 *   boolean          0 = false, 10 = true, 11 = escape
 *   select_one       the choice's index in just enough bits for 0..n; n = escape
 *   select_multiple  0 + a bit per choice (choices in form order, at least one);
 *                    10 + count k + k indices of just enough bits for 0..n-1 (any
 *                    other list of choices); 11 = escape
 *   geopoint, geotrace   number-pack.ts
 *   repeat           count of instances (or escape), then each instance as a
 *                    record under the repeat's fields; an instance with a field
 *                    the vocabulary does not list makes the whole answer escape
 *
 * Packing is total and exact: unpackTyped(packTyped(f)) deep-equals f for any
 * fields. Unpacking checks everything, and bounds what a hostile stream can
 * make it build by MAX_CBOR_ITEMS.
 */
import { BitReader, BitWriter, readCount, readInt, widthFor, writeCount, writeEscape, writeInt } from "./bit-pack.js";
import { isCborMap, type CborMap, type CborValue } from "./cbor.js";
import { MAX_CBOR_ITEMS } from "./constants.js";
import { readDecimal, readGeopoint, readGeotrace, writeDecimal, writeGeopoint, writeGeotrace } from "./number-pack.js";
import { readText, writeText } from "./text-pack.js";
import { dayOfWall, readDate, readDateTime, writeDate, writeDateTime, type TimeReference } from "./time-pack.js";
import type { Lexicon } from "./vocabulary.js";

/** What answers are packed relative to: the HLC wall of the event they belong to. */
export interface PackContext {
  readonly wall: number;
}

interface Packing {
  readonly w: BitWriter;
  readonly literals: CborValue[];
  readonly time: TimeReference;
  readonly wallDay: number;
}

function writeBoolean(w: BitWriter, v: CborValue): boolean {
  if (v === false) w.bits(0b0, 1);
  else w.bits(v === true ? 0b10 : 0b11, 2);
  return typeof v === "boolean";
}

function writeChoice(w: BitWriter, v: CborValue, index: ReadonlyMap<string, number>): boolean {
  const i = typeof v === "string" ? index.get(v) : undefined;
  w.bits(i ?? index.size, widthFor(index.size));
  return i !== undefined;
}

function writeChoices(w: BitWriter, v: CborValue, index: ReadonlyMap<string, number>): boolean {
  const indices = Array.isArray(v) ? v.map((c) => (typeof c === "string" ? index.get(c) : undefined)) : undefined;
  if (!indices || !indices.every((i) => i !== undefined)) {
    w.bits(0b11, 2);
    return false;
  }
  const n = index.size;
  const increasing = indices.length > 0 && indices.every((i, k) => k === 0 || i > (indices[k - 1] as number));
  const width = widthFor(Math.max(n - 1, 0));
  // A set of choices in form order as bits, unless its indices alone would be shorter (long pick lists).
  if (increasing && n <= 2 + indices.length * width) {
    w.bit(false);
    const chosen = new Set(indices);
    for (let i = 0; i < n; i++) w.bit(chosen.has(i));
  } else {
    w.bits(0b10, 2);
    writeCount(w, indices.length);
    for (const i of indices) w.bits(i, width);
  }
  return true;
}

function writeInteger(w: BitWriter, v: CborValue): boolean {
  const fits = typeof v === "number" && Number.isSafeInteger(v) && !Object.is(v, -0);
  if (fits) writeInt(w, v);
  else writeEscape(w);
  return fits;
}

/** Writes a repeat answer: its instances as records under `lex`, or the escape code if one has a field `lex` does not list. */
function writeInstances(p: Packing, v: CborValue, lex: Lexicon | undefined): boolean {
  const fits = lex !== undefined && Array.isArray(v) && v.every((x) => isCborMap(x) && Object.keys(x).every((k) => lex.position.has(k)));
  if (!fits) {
    writeEscape(p.w);
    return false;
  }
  writeCount(p.w, (v as CborMap[]).length);
  for (const x of v as CborMap[]) writeRecord(p, x, lex);
  return true;
}

/** Writes the answer of field i of `lex` (its code, or the escape code and a literal). */
function writeAnswer(p: Packing, lex: Lexicon, i: number, v: CborValue): void {
  const w = p.w;
  const index = lex.choiceIndex[i] ?? new Map<string, number>();
  let packed: boolean;
  switch (lex.fields[i]?.format) {
    case "text": packed = writeText(w, v); break;
    case "int": packed = writeInteger(w, v); break;
    case "decimal": packed = writeDecimal(w, v); break;
    case "date": packed = writeDate(w, v, p.wallDay); break;
    case "datetime": packed = writeDateTime(w, v, p.time); break;
    case "boolean": packed = writeBoolean(w, v); break;
    case "select_one": packed = writeChoice(w, v, index); break;
    case "select_multiple": packed = writeChoices(w, v, index); break;
    case "geopoint": packed = writeGeopoint(w, v); break;
    case "geotrace": packed = writeGeotrace(w, v); break;
    case "repeat": packed = writeInstances(p, v, lex.instances[i]); break;
    default: packed = false;
  }
  if (!packed) p.literals.push(v);
}

/** Writes a record whose every key `lex` lists. Repeat instances often answer every field: then one bit says so. */
function writeRecord(p: Packing, record: CborMap, lex: Lexicon): void {
  const present = lex.fields.map((f) => Object.hasOwn(record, f.name));
  const all = present.every(Boolean);
  p.w.bit(all);
  if (!all) for (const b of present) p.w.bit(b);
  lex.fields.forEach((f, i) => {
    if (present[i]) writeAnswer(p, lex, i, record[f.name] as CborValue);
  });
}

/** The typed wire form of an upsert's fields under `lex` (which has formats). */
export function packTyped(fields: CborMap, lex: Lexicon, ctx: PackContext): CborValue {
  const known: CborMap = {};
  const extra: CborMap = {};
  let extras = 0;
  for (const [name, value] of Object.entries(fields)) {
    if (lex.position.has(name)) known[name] = value;
    else {
      extra[name] = value;
      extras++;
    }
  }
  const p: Packing = { w: new BitWriter(), literals: [], time: { instant: ctx.wall, zone: "Z" }, wallDay: dayOfWall(ctx.wall) };
  writeRecord(p, known, lex);
  const bits = p.w.bytes();
  if (extras > 0) return [bits, p.literals, extra];
  return p.literals.length > 0 ? [bits, p.literals] : bits;
}

// ---------------------------------------------------------------- unpacking

interface Unpacking {
  readonly r: BitReader;
  readonly literals: readonly CborValue[];
  next: number;
  readonly time: TimeReference;
  readonly wallDay: number;
  /** Values it may still build: a bound on what a hostile stream of few bits can ask for. */
  items: number;
}

/** An answer read: its value, "escape" (take a literal), or undefined when malformed. */
type Read = CborValue | "escape" | undefined;

function readBoolean(r: BitReader): Read {
  if (!r.bit()) return false;
  return r.bit() ? "escape" : true;
}

function readChoice(r: BitReader, choices: readonly string[]): Read {
  const i = r.bits(widthFor(choices.length));
  return i === choices.length ? "escape" : choices[i];
}

function readChoices(u: Unpacking, choices: readonly string[]): Read {
  const r = u.r;
  const n = choices.length;
  if (!r.bit()) {
    if (n > r.left()) return undefined;
    const out = choices.filter(() => r.bit());
    u.items -= out.length;
    return out.length > 0 ? out : undefined;
  }
  if (r.bit()) return "escape";
  const k = readCount(r);
  const width = widthFor(Math.max(n - 1, 0));
  if (typeof k !== "number" || k > u.items || k * width > r.left()) return undefined;
  u.items -= k;
  const out: string[] = [];
  for (let j = 0; j < k; j++) {
    const c = choices[r.bits(width)];
    if (c === undefined) return undefined;
    out.push(c);
  }
  return out;
}

function readInstances(u: Unpacking, lex: Lexicon): Read {
  const k = readCount(u.r);
  if (typeof k !== "number") return k === "escape" ? k : undefined;
  if (k > u.items || k > u.r.left()) return undefined; // an instance takes a bit at least
  u.items -= k;
  const out: CborMap[] = [];
  for (let j = 0; j < k; j++) {
    const x = readRecord(u, lex);
    if (!x) return undefined;
    out.push(x);
  }
  return out;
}

function readCode(u: Unpacking, lex: Lexicon, i: number): Read {
  const r = u.r;
  const choices = lex.fields[i]?.choices ?? [];
  switch (lex.fields[i]?.format) {
    case "text": return readText(r);
    case "int": {
      const v = readInt(r);
      return v === "malformed" ? undefined : v;
    }
    case "decimal": return readDecimal(r);
    case "date": return readDate(r, u.wallDay);
    case "datetime": return readDateTime(r, u.time);
    case "boolean": return readBoolean(r);
    case "select_one": return readChoice(r, choices);
    case "select_multiple": return readChoices(u, choices);
    case "geopoint": return readGeopoint(r);
    case "geotrace": {
      const v = readGeotrace(r, u.items);
      if (Array.isArray(v)) u.items -= v.length;
      return v;
    }
    case "repeat": return readInstances(u, lex.instances[i] as Lexicon);
    default: return "escape";
  }
}

function readAnswer(u: Unpacking, lex: Lexicon, i: number): CborValue | undefined {
  if (--u.items < 0) return undefined;
  const v = readCode(u, lex, i);
  if (v !== "escape") return v;
  return u.next < u.literals.length ? u.literals[u.next++] : undefined;
}

function readRecord(u: Unpacking, lex: Lexicon): CborMap | undefined {
  const n = lex.fields.length;
  const all = u.r.bit();
  if (!all && n > u.r.left()) return undefined;
  const present = lex.fields.map(() => all || u.r.bit());
  const out: CborMap = {};
  for (let i = 0; i < n; i++) {
    if (!present[i]) continue;
    const v = readAnswer(u, lex, i);
    if (v === undefined || !u.r.ok) return undefined;
    out[(lex.fields[i] as { name: string }).name] = v;
  }
  return out;
}

function splitPacked(packed: CborValue): { bits: Uint8Array; literals: CborValue[]; extra?: CborMap } | undefined {
  if (packed instanceof Uint8Array) return { bits: packed, literals: [] };
  if (!Array.isArray(packed) || packed.length < 2 || packed.length > 3) return undefined;
  const [bits, literals, extra] = packed;
  if (!(bits instanceof Uint8Array) || !Array.isArray(literals)) return undefined;
  if (packed.length === 2) return literals.length > 0 ? { bits, literals } : undefined;
  return isCborMap(extra) && Object.keys(extra).length > 0 ? { bits, literals, extra } : undefined;
}

/** Rebuilds an upsert's fields from their typed wire form under `lex`; undefined when malformed. */
export function unpackTyped(packed: CborValue, lex: Lexicon, ctx: PackContext): CborMap | undefined {
  const parts = splitPacked(packed);
  if (!parts) return undefined;
  const u: Unpacking = {
    r: new BitReader(parts.bits), literals: parts.literals, next: 0,
    time: { instant: ctx.wall, zone: "Z" }, wallDay: dayOfWall(ctx.wall), items: MAX_CBOR_ITEMS,
  };
  const out = readRecord(u, lex);
  if (!out || !u.r.atPaddedEnd() || u.next !== parts.literals.length) return undefined;
  for (const [name, value] of Object.entries(parts.extra ?? {})) {
    if (lex.position.has(name)) return undefined; // one way to say each field
    out[name] = value;
  }
  return out;
}
