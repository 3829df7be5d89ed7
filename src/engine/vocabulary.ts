/**
 * Vocabularies: how a 40-question submission fits in one LoRa frame.
 *
 * An upsert's fields are a map keyed by field names, and its select answers
 * are choice names: most of a plain wire item is text every station already
 * knows. A site therefore publishes, as an ordinary signed event in its own
 * feed, the vocabulary of each record type it writes: the field names in form
 * order, for select fields their choice names, and (since typed packing) the
 * format of each field's answers, with the sub-fields of a repeat. On the air
 * an upsert may then name a vocabulary of the SAME feed at an EARLIER seq, and
 * send its fields packed instead of its map. Any station that can parse item N
 * of a feed holds items 1..N-1 (the chain is ingested in order), so the
 * vocabulary is always there to decode with, and relays re-encode from their
 * own copies. The signed canonical body never changes: only its wire form.
 *
 * Two packings, chosen by the vocabulary (never by the sender):
 *
 * - a vocabulary without formats (the first version): CBOR
 *   [presence bitmap, [value, value, …], {extra fields}?], one bit per field,
 *   the values of the present ones in vocabulary order, choice names as their
 *   index (this file);
 * - a vocabulary where some field has a format: typed packing, a bit stream
 *   with each answer in its format's code (typed-pack.ts).
 *
 * Vocabulary body: [type, [entry, …]], an entry one of
 *
 *   name                       a field without format
 *   [name, [choice, …]]        a choice field without format (first version)
 *   [name, format]             a field with a format code (FORMAT_CODE)
 *   [name, format, [choice…]]  a select_one or select_multiple field
 *   [name, format, [entry…]]   a repeat and the fields of its instances
 */
import { isCborMap, type CborMap, type CborValue } from "./cbor.js";
import { MAX_NAME_BYTES } from "./constants.js";
import type { RecordType } from "./ids.js";
import { packTyped, unpackTyped, type PackContext } from "./typed-pack.js";

/** Numeric format codes, part of the signed vocabulary bytes: never renumber. */
export const FORMAT_CODE = {
  text: 1, int: 2, decimal: 3, date: 4, datetime: 5, boolean: 6, select_one: 7, select_multiple: 8, geopoint: 9, geotrace: 10, repeat: 11,
} as const;

/** How a field's answers are packed (typed-pack.ts); an answer that does not fit its format is sent as it is. */
export type FieldFormat = keyof typeof FORMAT_CODE;

/** One field of a vocabulary: its shared name, and what the receiver needs to unpack its answers. */
export interface VocabularyField {
  readonly name: string;
  /** The format of its answers; absent for fields sent as they are (and in first-version vocabularies). */
  readonly format?: FieldFormat;
  /** Choice names in form order: required for select formats, and marks a choice field in a vocabulary without formats. */
  readonly choices?: readonly string[];
  /** The fields of each instance: present exactly when format is "repeat". */
  readonly fields?: readonly VocabularyField[];
}

/** Most fields a vocabulary lists: far beyond real forms (a 200-question assessment), small enough to bound memory. */
export const MAX_VOCABULARY_FIELDS = 1024;

/** Most choices of one field (long pick lists: villages, health facilities). */
export const MAX_VOCABULARY_CHOICES = 1024;

/** Key of the one-entry map that carries a choice field's value literally when it could be mistaken for indices. */
const LITERAL = "=";

const FORMAT_OF = new Map(Object.entries(FORMAT_CODE).map(([f, c]) => [c as number, f as FieldFormat]));
const isSelect = (f: FieldFormat | undefined): boolean => f === "select_one" || f === "select_multiple";

function fieldToCbor(f: VocabularyField): CborValue {
  if (f.format === undefined) return f.choices ? [f.name, [...f.choices]] : f.name;
  const code = FORMAT_CODE[f.format];
  if (f.format === "repeat") return [f.name, code, (f.fields ?? []).map(fieldToCbor)];
  return isSelect(f.format) ? [f.name, code, [...(f.choices ?? [])]] : [f.name, code];
}

/** The canonical body value of a vocabulary event: [type, [entry, …]] (see above). */
export function vocabularyToCbor(type: RecordType, fields: readonly VocabularyField[]): CborValue {
  return [type, fields.map(fieldToCbor)];
}

const isName = (v: CborValue | undefined): v is string =>
  typeof v === "string" && v.length > 0 && Buffer.byteLength(v) <= MAX_NAME_BYTES;
// No map of the data model has the key "__proto__", and unpacking must not assign it.
const isFieldName = (v: CborValue | undefined): v is string => isName(v) && v !== "__proto__";

/** Parses a vocabulary body value; undefined when malformed. Names must be unique per level, choices unique per field. */
export function parseVocabulary(v: CborValue): { type: RecordType; fields: VocabularyField[] } | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [type, list] = v;
  const fields = isName(type) ? parseFields(list) : undefined;
  return fields && { type: type as RecordType, fields };
}

function parseFields(list: CborValue | undefined): VocabularyField[] | undefined {
  if (!Array.isArray(list) || list.length > MAX_VOCABULARY_FIELDS) return undefined;
  const fields: VocabularyField[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    const f = parseField(entry);
    if (!f || seen.has(f.name)) return undefined;
    seen.add(f.name);
    fields.push(f);
  }
  return fields;
}

function parseChoices(v: CborValue | undefined): string[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_VOCABULARY_CHOICES || !v.every(isName)) return undefined;
  return new Set(v).size === v.length ? (v as string[]) : undefined;
}

function parseField(entry: CborValue): VocabularyField | undefined {
  if (isFieldName(entry)) return { name: entry };
  if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3 || !isFieldName(entry[0])) return undefined;
  const [name, second, third] = entry;
  if (Array.isArray(second)) {
    const choices = entry.length === 2 ? parseChoices(second) : undefined;
    return choices && { name, choices };
  }
  const format = typeof second === "number" ? FORMAT_OF.get(second) : undefined;
  if (format === undefined || (entry.length === 3) !== (isSelect(format) || format === "repeat")) return undefined;
  if (format === "repeat") {
    const fields = parseFields(third);
    return fields && { name, format, fields };
  }
  if (!isSelect(format)) return { name, format };
  const choices = parseChoices(third);
  return choices && { name, format, choices };
}

/** A vocabulary ready for packing and unpacking (indexes built once). */
export interface Lexicon {
  readonly type: RecordType;
  readonly fields: readonly VocabularyField[];
  readonly position: ReadonlyMap<string, number>;
  readonly choiceIndex: readonly (ReadonlyMap<string, number> | undefined)[];
  /** Whether some field has a format: then upserts are packed by typed-pack.ts. */
  readonly typed: boolean;
  /** For each repeat field, the lexicon of its instances. */
  readonly instances: readonly (Lexicon | undefined)[];
}

export function createLexicon(type: RecordType, fields: readonly VocabularyField[]): Lexicon {
  return {
    type,
    fields,
    position: new Map(fields.map((f, i) => [f.name, i])),
    choiceIndex: fields.map((f) => (f.choices ? new Map(f.choices.map((c, i) => [c, i])) : undefined)),
    typed: fields.some((f) => f.format !== undefined),
    instances: fields.map((f) => (f.format === "repeat" ? createLexicon(type, f.fields ?? []) : undefined)),
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

/**
 * The wire form of an upsert's fields under `lex`; `ctx` holds what typed
 * packing sends answers relative to (the event's HLC wall).
 */
export function packFields(fields: CborMap, lex: Lexicon, ctx: PackContext): CborValue {
  return lex.typed ? packTyped(fields, lex, ctx) : packUntyped(fields, lex);
}

/** Rebuilds an upsert's fields from their wire form under `lex`; undefined when malformed. */
export function unpackFields(packed: CborValue, lex: Lexicon, ctx: PackContext): CborMap | undefined {
  return lex.typed ? unpackTyped(packed, lex, ctx) : unpackUntyped(packed, lex);
}

function packUntyped(fields: CborMap, lex: Lexicon): CborValue {
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

function unpackUntyped(packed: CborValue, lex: Lexicon): CborMap | undefined {
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
