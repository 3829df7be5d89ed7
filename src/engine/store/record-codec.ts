/**
 * The store's local, compact form of a record's state (the `records.state`
 * blob). Not canonical and never leaves this store: a stamp's author is the
 * store's small author row number (authors.ix), not the 32-byte key, and a
 * stamp shared by several fields (every field of one upsert) is stored once.
 * The canonical form (record-state.ts, recordStateToCbor) is what views are
 * compared and hashed by; this one only has to read back to the same
 * RecordState. A 20-answer survey takes ~0.45 KB here, ~1.5 KB canonically.
 *
 *   [FORMAT, stamps, lastWrite, lastLive, lastDelete, fields, attachments]
 *   stamps:      byte string of unsigned LEB128 varints, 4 per stamp:
 *                wall, counter, authorIx, seq
 *   lastWrite:   a stamp's number (its position in stamps); lastLive and
 *                lastDelete: one, or null
 *   fields:      [[name, value, stamp number], ...]
 *   attachments: [[name, hash, size, mime, stamp number], ...]
 *
 * Fields and attachments are arrays of entries, as the canonical form has one
 * map entry each: a record holds as many here as there (MAX_CBOR_ITEMS), and
 * values nest no deeper. The record id and type live in their own columns and
 * are not repeated here. Fields and attachments keep their insertion order (a
 * record never loses one), so a position in them is stable for the record's
 * lifetime: the write log stores the keys a write touched as a bitmap of
 * positions (encodeKeys).
 */
import { CborWriter, decodeStrict, type CborValue } from "../cbor.js";
import type { AuthorId, RecordId, RecordType } from "../ids.js";
import type { AttachmentState, FieldState, RecordState } from "../record-state.js";
import type { Stamp } from "../stamp.js";
import { StoreCorruptError } from "./store-corrupt-error.js";

const FORMAT = 1;

/** Maps between authors and the store's author row numbers. Both throw on an unknown one. */
export interface AuthorIndex {
  ixOf(author: AuthorId): number;
  authorOf(ix: number): AuthorId;
}

export function encodeLocalState(s: RecordState, authors: AuthorIndex): Buffer {
  const stamps: Stamp[] = [];
  const seen = new Map<Stamp, number>();
  const ref = (st: Stamp): number => {
    let i = seen.get(st);
    if (i === undefined) {
      i = stamps.length;
      seen.set(st, i);
      stamps.push(st);
    }
    return i;
  };
  const lastWrite = ref(s.lastWrite);
  const lastLive = s.lastLive === null ? null : ref(s.lastLive);
  const lastDelete = s.lastDelete === null ? null : ref(s.lastDelete);
  for (const f of s.fields.values()) ref(f.stamp);
  for (const a of s.attachments.values()) ref(a.stamp);

  const w = new CborWriter();
  w.head(4, 7);
  w.head(0, FORMAT);
  const packed = Buffer.allocUnsafe(stamps.length * 4 * MAX_VARINT_BYTES);
  let n = 0;
  for (const st of stamps) {
    n = writeVarint(packed, n, st.wall);
    n = writeVarint(packed, n, st.counter);
    n = writeVarint(packed, n, authors.ixOf(st.author));
    n = writeVarint(packed, n, st.seq);
  }
  w.head(2, n);
  w.raw(packed.subarray(0, n));
  w.head(0, lastWrite);
  writeIndex(w, lastLive);
  writeIndex(w, lastDelete);
  w.head(4, s.fields.size);
  for (const [name, f] of s.fields) {
    w.head(4, 3);
    w.text(name);
    w.value(f.value);
    w.head(0, seen.get(f.stamp) as number);
  }
  w.head(4, s.attachments.size);
  for (const [name, a] of s.attachments) {
    w.head(4, 5);
    w.text(name);
    w.value(a.hash);
    w.value(a.size);
    w.text(a.mime);
    w.head(0, seen.get(a.stamp) as number);
  }
  return w.result();
}

/** Reads a stored state back. Stored bytes were written by us: corruption throws. */
export function decodeLocalState(record: RecordId, type: RecordType, bytes: Uint8Array, authors: AuthorIndex): RecordState {
  const r = decodeStrict(bytes);
  if (!r.ok || !Array.isArray(r.value) || r.value.length !== 7 || r.value[0] !== FORMAT) corrupt("record state");
  const [, packed, lastWrite, lastLive, lastDelete, fieldsV, attV] = r.value;
  if (!(packed instanceof Uint8Array) || !Array.isArray(fieldsV) || !Array.isArray(attV)) corrupt("record state");
  const stamps: Stamp[] = [];
  const at = { pos: 0 };
  while (at.pos < packed.length) {
    const wall = readVarint(packed, at);
    const counter = readVarint(packed, at);
    const ix = readVarint(packed, at);
    const seq = readVarint(packed, at);
    stamps.push({ wall, counter, author: authors.authorOf(ix), seq });
  }
  const stamp = (v: CborValue | undefined): Stamp => {
    const st = typeof v === "number" ? stamps[v] : undefined;
    if (!st) corrupt("stamp reference");
    return st;
  };
  const fields = new Map<string, FieldState>();
  for (const f of fieldsV) {
    if (!Array.isArray(f) || f.length !== 3 || typeof f[0] !== "string") corrupt("field state");
    fields.set(f[0], { value: f[1] as CborValue, stamp: stamp(f[2]) });
  }
  const attachments = new Map<string, AttachmentState>();
  for (const a of attV) {
    if (!Array.isArray(a) || a.length !== 5) corrupt("attachment state");
    const [name, hash, size, mime, st] = a;
    if (typeof name !== "string" || !(hash instanceof Uint8Array) || typeof size !== "number" || typeof mime !== "string") corrupt("attachment state");
    attachments.set(name, { hash, size, mime, stamp: stamp(st) });
  }
  return {
    record,
    type,
    lastWrite: stamp(lastWrite),
    lastLive: lastLive === null ? null : stamp(lastLive),
    lastDelete: lastDelete === null ? null : stamp(lastDelete),
    fields,
    attachments,
  };
}

// ---------------------------------------------------------------- varints

/** A safe integer takes at most 8 LEB128 bytes (7 bits each). */
const MAX_VARINT_BYTES = 8;

function writeVarint(b: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    b[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  b[pos++] = n;
  return pos;
}

function readVarint(b: Uint8Array, at: { pos: number }): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = b[at.pos++];
    if (byte === undefined) corrupt("stamp");
    n += (byte & 0x7f) * scale;
    if (byte < 0x80) return n;
    scale *= 0x80;
  }
  return corrupt("stamp");
}

// ---------------------------------------------------------------- written keys

/**
 * The keys a write touched (field names for an upsert, `@field` for an
 * attachment, none for a delete) as a bitmap of positions in the record's
 * fields (upsert) or attachments (attachment), after the write was applied.
 */
export function encodeKeys(kind: "upsert" | "delete" | "attachment", keys: readonly string[], s: RecordState): Buffer {
  if (kind === "delete" || keys.length === 0) return EMPTY;
  const total = kind === "upsert" ? s.fields.size : s.attachments.size;
  if (keys.length === total) return allPositions(total); // every key the record has: a new record's first upsert
  const wanted = new Set(kind === "upsert" ? keys : keys.map((k) => k.slice(1)));
  const names = kind === "upsert" ? s.fields.keys() : s.attachments.keys();
  const positions: number[] = [];
  let pos = 0;
  for (const name of names) {
    if (wanted.has(name)) positions.push(pos);
    pos++;
  }
  if (positions.length !== wanted.size) throw new StoreCorruptError("a written key is missing from its record's state");
  const bits = Buffer.alloc(((positions[positions.length - 1] as number) >> 3) + 1);
  for (const p of positions) bits[p >> 3] = (bits[p >> 3] as number) | (1 << (p & 7));
  return bits;
}

function allPositions(n: number): Buffer {
  const bits = Buffer.alloc(((n - 1) >> 3) + 1, 0xff);
  if (n % 8 !== 0) bits[bits.length - 1] = (1 << (n % 8)) - 1;
  return bits;
}

/** Names of the keys in `bits`, sorted like writeRefOf's. `names` are the record's field (or attachment) names in order. */
export function decodeKeys(kind: "upsert" | "delete" | "attachment", bits: Uint8Array, names: readonly string[]): string[] {
  if (kind === "delete") return [];
  const out: string[] = [];
  for (let i = 0; i < bits.length; i++) {
    const byte = bits[i] as number;
    if (byte === 0) continue;
    for (let b = 0; b < 8; b++) {
      if ((byte & (1 << b)) === 0) continue;
      const name = names[i * 8 + b];
      if (name === undefined) corrupt("written-keys bitmap");
      out.push(kind === "upsert" ? name : `@${name}`);
    }
  }
  return out.sort();
}

const EMPTY = Buffer.alloc(0);

function corrupt(what: string): never {
  throw new StoreCorruptError(`a stored ${what} is unreadable`);
}

/** A stamp index, or null for "none". */
function writeIndex(w: CborWriter, i: number | null): void {
  if (i === null) w.value(null);
  else w.head(0, i);
}
