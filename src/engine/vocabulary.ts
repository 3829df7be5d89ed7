/**
 * Vocabularies: how a 40-question submission fits in one LoRa frame.
 *
 * An upsert's fields are a map keyed by field names, and its select answers
 * are choice names: most of a plain wire item is text every station already
 * knows. A site therefore publishes, as an ordinary signed event in its own
 * feed, the vocabulary of each record type it writes: the field names in form
 * order, and for select fields their choice names. On the air an upsert may
 * then name a vocabulary of the SAME feed at an EARLIER seq, and send
 *
 *   [presence bitmap, [value, value, …], {extra fields}?]
 *
 * instead of its map: one bit per vocabulary field, the values of the present
 * ones in vocabulary order, choice names as their index. Any station that can
 * parse item N of a feed holds items 1..N-1 (the chain is ingested in order),
 * so the vocabulary is always there to decode with, and relays re-encode from
 * their own copies. The signed canonical body never changes: only its wire form.
 */
import { isCborMap, type CborMap, type CborValue } from "./cbor.js";
import { MAX_NAME_BYTES } from "./constants.js";
import type { RecordType } from "./ids.js";

/** One field of a vocabulary: its shared name, and the choice names of a select field. */
export interface VocabularyField {
  readonly name: string;
  /** Choice names in form order; absent for fields that are not selects. */
  readonly choices?: readonly string[];
}

/** Most fields a vocabulary lists: far beyond real forms (a 200-question assessment), small enough to bound memory. */
export const MAX_VOCABULARY_FIELDS = 1024;

/** Most choices of one field (long pick lists: villages, health facilities). */
export const MAX_VOCABULARY_CHOICES = 1024;

/** Key of the one-entry map that carries a choice field's value literally when it could be mistaken for indices. */
const LITERAL = "=";

/** The canonical body value of a vocabulary event: [type, [name | [name, [choice…]], …]]. */
export function vocabularyToCbor(type: RecordType, fields: readonly VocabularyField[]): CborValue {
  return [type, fields.map((f) => (f.choices ? [f.name, [...f.choices]] : f.name))];
}

const isName = (v: CborValue | undefined): v is string =>
  typeof v === "string" && v.length > 0 && Buffer.byteLength(v) <= MAX_NAME_BYTES;

/** Parses a vocabulary body value; undefined when malformed. Names must be unique, choices unique per field. */
export function parseVocabulary(v: CborValue): { type: RecordType; fields: VocabularyField[] } | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [type, list] = v;
  if (!isName(type) || !Array.isArray(list) || list.length > MAX_VOCABULARY_FIELDS) return undefined;
  const fields: VocabularyField[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    const f = parseField(entry);
    if (!f || seen.has(f.name)) return undefined;
    seen.add(f.name);
    fields.push(f);
  }
  return { type: type as RecordType, fields };
}

function parseField(entry: CborValue): VocabularyField | undefined {
  if (isName(entry)) return { name: entry };
  if (!Array.isArray(entry) || entry.length !== 2) return undefined;
  const [name, choices] = entry;
  if (!isName(name) || !Array.isArray(choices) || choices.length > MAX_VOCABULARY_CHOICES) return undefined;
  if (!choices.every(isName) || new Set(choices).size !== choices.length) return undefined;
  return { name, choices: choices as string[] };
}

/** A vocabulary ready for packing and unpacking (indexes built once). */
export interface Lexicon {
  readonly type: RecordType;
  readonly fields: readonly VocabularyField[];
  readonly position: ReadonlyMap<string, number>;
  readonly choiceIndex: readonly (ReadonlyMap<string, number> | undefined)[];
}

export function createLexicon(type: RecordType, fields: readonly VocabularyField[]): Lexicon {
  return {
    type,
    fields,
    position: new Map(fields.map((f, i) => [f.name, i])),
    choiceIndex: fields.map((f) => (f.choices ? new Map(f.choices.map((c, i) => [c, i])) : undefined)),
  };
}

const isIndex = (v: CborValue | undefined): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isIndexList = (v: CborValue): v is number[] => Array.isArray(v) && v.length > 0 && v.every(isIndex);

/** A choice field's value on the wire: a choice as its index, a list of choices as indices, anything ambiguous wrapped. */
function packChoiceValue(v: CborValue, index: ReadonlyMap<string, number>): CborValue {
  if (typeof v === "string") {
    const i = index.get(v);
    if (i !== undefined) return i;
  } else if (Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === "string" && index.has(c))) {
    return v.map((c) => index.get(c as string) as number);
  }
  const ambiguous = isIndex(v) || isIndexList(v) || (isCborMap(v) && Object.keys(v).length === 1 && LITERAL in v);
  return ambiguous ? { [LITERAL]: v } : v;
}

function unpackChoiceValue(v: CborValue, choices: readonly string[]): CborValue | undefined {
  if (isIndex(v)) return choices[v];
  if (isIndexList(v)) {
    const out = v.map((i) => choices[i]);
    return out.every((c) => c !== undefined) ? (out as string[]) : undefined;
  }
  if (isCborMap(v) && Object.keys(v).length === 1 && LITERAL in v) return v[LITERAL];
  return v;
}

/** The wire form of an upsert's fields under `lex`. */
export function packFields(fields: CborMap, lex: Lexicon): CborValue {
  const bitmap = new Uint8Array(Math.ceil(lex.fields.length / 8));
  const present: [number, CborValue][] = [];
  const extra: CborMap = {};
  let extras = 0;
  for (const [name, value] of Object.entries(fields)) {
    const i = lex.position.get(name);
    if (i === undefined) {
      extra[name] = value;
      extras++;
      continue;
    }
    bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    const index = lex.choiceIndex[i];
    present.push([i, index ? packChoiceValue(value, index) : value]);
  }
  present.sort((a, b) => a[0] - b[0]);
  let used = bitmap.length;
  while (used > 0 && bitmap[used - 1] === 0) used--;
  const packed: CborValue[] = [bitmap.subarray(0, used), present.map(([, v]) => v)];
  if (extras > 0) packed.push(extra);
  return packed;
}

/** Rebuilds an upsert's fields from their wire form under `lex`; undefined when malformed. */
export function unpackFields(packed: CborValue, lex: Lexicon): CborMap | undefined {
  if (!Array.isArray(packed) || packed.length < 2 || packed.length > 3) return undefined;
  const [bitmap, values, extra] = packed;
  if (!(bitmap instanceof Uint8Array) || bitmap.length > Math.ceil(lex.fields.length / 8) || !Array.isArray(values)) return undefined;
  if (packed.length === 3 && (!isCborMap(extra) || Object.keys(extra).length === 0)) return undefined;
  const out: CborMap = {};
  let next = 0;
  for (let i = 0; i < bitmap.length * 8; i++) {
    if (((bitmap[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const field = lex.fields[i];
    const wire = values[next++];
    if (!field || wire === undefined) return undefined;
    const value = field.choices ? unpackChoiceValue(wire, field.choices) : wire;
    if (value === undefined) return undefined;
    out[field.name] = value;
  }
  if (next !== values.length) return undefined;
  if (isCborMap(extra)) {
    for (const [name, value] of Object.entries(extra)) {
      if (lex.position.has(name) || Object.hasOwn(out, name)) return undefined; // one way to say each field
      out[name] = value;
    }
  }
  return out;
}
