/**
 * Engine values as the API's JSON: byte strings as base64 in `{ "$bytes" }`,
 * HLC walls as ISO times, authors with the member's name.
 */
import { valueToText } from "../bridge/field-codec.js";
import type { FieldType } from "../bridge/form-schema.js";
import type { CborValue } from "../engine/cbor.js";
import type { SignedEvent } from "../engine/event.js";
import type { AuthorId } from "../engine/ids.js";
import { isAlive, type RecordState } from "../engine/record-state.js";
import type { Stamp } from "../engine/stamp.js";
import type { ConflictEntry } from "../engine/view.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type AuthorNames = (author: AuthorId) => string | null;

export function cborToJson(v: CborValue): Json {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(cborToJson);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cborToJson(x)]));
  return v;
}

function stampJson(s: Stamp, names: AuthorNames): Json {
  return { at: new Date(s.wall).toISOString(), counter: s.counter, author: s.author, authorName: names(s.author), seq: s.seq };
}

/** A field's value as people read it: dates (stored as days since 1970) as YYYY-MM-DD. */
function shown(value: CborValue, type: FieldType | undefined): Json {
  if (type === "date" && typeof value === "number") return valueToText(type, value);
  return cborToJson(value);
}

/** `types`: the local form's type of each field, when the record type is mapped here. */
export function recordJson(r: RecordState, names: AuthorNames, types: ReadonlyMap<string, FieldType> = new Map()): Json {
  return {
    id: r.record, type: r.type, alive: isAlive(r), lastWrite: stampJson(r.lastWrite, names),
    fields: Object.fromEntries([...r.fields].map(([k, f]) => [k, shown(f.value, types.get(k))])),
    attachments: Object.fromEntries([...r.attachments].map(([k, a]) => [k, { size: a.size, mime: a.mime, sha256: Buffer.from(a.hash).toString("hex") }])),
  };
}

export function eventJson(e: SignedEvent, names: AuthorNames): Json {
  const b = e.body;
  const body: Json =
    b.kind === "upsert" ? { kind: b.kind, record: b.record, type: b.type, fields: cborToJson(b.fields) }
    : b.kind === "delete" ? { kind: b.kind, record: b.record, type: b.type }
    : b.kind === "attachment" ? { kind: b.kind, record: b.record, type: b.type, field: b.field, size: b.size, mime: b.mime }
    : b.kind === "vocabulary" ? { kind: b.kind, type: b.type, fields: b.fields.map((f) => f.name) }
    : b.kind === "removal" ? { kind: b.kind, member: b.member, memberName: names(b.member), after: b.after }
    : { kind: "unknown", code: b.code };
  return { id: e.id, author: e.author, authorName: names(e.author), seq: e.seq, at: new Date(e.hlc.wall).toISOString(), counter: e.hlc.counter, ...body };
}

export function conflictJson(c: ConflictEntry, names: AuthorNames): Json {
  return { record: c.record, key: c.key, author: c.author, authorName: names(c.author), seq: c.seq, at: new Date(c.wall).toISOString(), lostValue: cborToJson(c.value) };
}
