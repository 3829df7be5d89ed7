/**
 * Converged records: how events fold into a record, and which writes lost a
 * concurrent race. Pure functions shared by the full re-fold and the store's
 * incremental view, so the two cannot disagree.
 *
 * Rules (README, "Convergence"):
 * - Each field is a last-writer-wins register ordered by stamp (HLC, author).
 * - Delete vs. edit: the record is alive iff its newest upsert/attachment is
 *   newer than its newest delete. A delete hides the record and all fields; an
 *   edit stamped after the delete brings the record back with its full field
 *   state. The type is that of the newest write.
 * - A write W lost a concurrent race iff some write V by another author on
 *   the same field (or on the record, for deletes) has a newer stamp and V's
 *   base is older than W: V's author had not seen W. Such W are logged.
 */
import { encodeCanonical, type CborValue } from "./cbor.js";
import { isRecordBody, type EventFacts } from "./event.js";
import { compareHlc, type Hlc } from "./hlc.js";
import type { RecordId, RecordType } from "./ids.js";
import { compareStamp, maxStamp, stampToCbor, type Stamp } from "./stamp.js";

export interface FieldState {
  readonly value: CborValue;
  readonly stamp: Stamp;
}

export interface AttachmentState {
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
  readonly stamp: Stamp;
}

/** One record of the materialized view. */
export interface RecordState {
  readonly record: RecordId;
  type: RecordType;
  /** Newest write of any kind; its type is the record's type. */
  lastWrite: Stamp;
  /** Newest upsert or attachment (null if only deleted so far). */
  lastLive: Stamp | null;
  lastDelete: Stamp | null;
  readonly fields: Map<string, FieldState>;
  readonly attachments: Map<string, AttachmentState>;
}

export function isAlive(s: RecordState): boolean {
  return s.lastLive !== null && (s.lastDelete === null || compareStamp(s.lastLive, s.lastDelete) > 0);
}

export function stampOf(ev: EventFacts): Stamp {
  return { wall: ev.hlc.wall, counter: ev.hlc.counter, author: ev.author, seq: ev.seq };
}

/** Folds one event into a record's state (mutating `state` when given). Unknown kinds return undefined. */
export function applyEvent(state: RecordState | undefined, ev: EventFacts): RecordState | undefined {
  const body = ev.body;
  if (!isRecordBody(body)) return state;
  const stamp = stampOf(ev);
  const s: RecordState = state ?? {
    record: body.record,
    type: body.type,
    lastWrite: stamp,
    lastLive: null,
    lastDelete: null,
    fields: new Map(),
    attachments: new Map(),
  };
  if (compareStamp(stamp, s.lastWrite) >= 0) {
    s.lastWrite = stamp;
    s.type = body.type;
  }
  if (body.kind === "delete") {
    s.lastDelete = maxStamp(s.lastDelete, stamp);
    return s;
  }
  s.lastLive = maxStamp(s.lastLive, stamp);
  if (body.kind === "upsert") {
    for (const [name, value] of Object.entries(body.fields)) {
      const cur = s.fields.get(name);
      if (!cur || compareStamp(stamp, cur.stamp) > 0) s.fields.set(name, { value, stamp });
    }
  } else {
    const cur = s.attachments.get(body.field);
    if (!cur || compareStamp(stamp, cur.stamp) > 0) {
      s.attachments.set(body.field, { hash: body.hash, size: body.size, mime: body.mime, stamp });
    }
  }
  return s;
}

// ---------------------------------------------------------------- races

/** What the race check needs to know about one write of a record. */
export interface WriteRef {
  readonly stamp: Stamp;
  readonly base: Hlc | null;
  readonly kind: "upsert" | "delete" | "attachment";
  /** Keys written: field names for upserts, `@field` for attachments, none for deletes. */
  readonly keys: readonly string[];
}

/** Record-level key used when a delete races an edit. */
export const RECORD_KEY = "*";

export function writeRefOf(ev: EventFacts): WriteRef | undefined {
  const b = ev.body;
  switch (b.kind) {
    case "upsert":
      return { stamp: stampOf(ev), base: b.base, kind: "upsert", keys: Object.keys(b.fields).sort() };
    case "delete":
      return { stamp: stampOf(ev), base: b.base, kind: "delete", keys: [] };
    case "attachment":
      return { stamp: stampOf(ev), base: null, kind: "attachment", keys: [`@${b.field}`] };
    case "vocabulary":
    case "removal":
    case "unknown":
      return undefined;
  }
}

/** A write that lost a concurrent race: `key` is a field, `@field`, or RECORD_KEY. */
export interface LostWrite {
  readonly loser: WriteRef;
  readonly key: string;
}

/** The keys on which `winner` overrode `loser` without having seen it; empty if none. */
export function racedKeys(winner: WriteRef, loser: WriteRef): string[] {
  if (winner.stamp.author === loser.stamp.author) return []; // a feed is sequential
  if (compareStamp(winner.stamp, loser.stamp) <= 0) return [];
  if (winner.base !== null && compareHlc(winner.base, loser.stamp) >= 0) return []; // winner had seen it
  if (winner.kind === "delete" || loser.kind === "delete") {
    return winner.kind === loser.kind ? [] : [RECORD_KEY];
  }
  const theirs = new Set(winner.keys);
  return loser.keys.filter((k) => theirs.has(k));
}

/** Races a new write creates against the writes already known for the same record, in both directions. */
export function racesWith(incoming: WriteRef, existing: readonly WriteRef[]): LostWrite[] {
  const out: LostWrite[] = [];
  for (const w of existing) {
    for (const key of racedKeys(incoming, w)) out.push({ loser: w, key });
    for (const key of racedKeys(w, incoming)) out.push({ loser: incoming, key });
  }
  return out;
}

// ---------------------------------------------------------------- canonical state

/** The canonical CBOR of a record's state: byte-identical on every store holding the same events. */
export function recordStateToCbor(s: RecordState): CborValue {
  const fields: Record<string, CborValue> = {};
  for (const [name, f] of s.fields) fields[name] = [f.value, stampToCbor(f.stamp)];
  const attachments: Record<string, CborValue> = {};
  for (const [name, a] of s.attachments) attachments[name] = [a.hash, a.size, a.mime, stampToCbor(a.stamp)];
  return [s.record, s.type, stampToCbor(s.lastWrite), stampToCbor(s.lastLive), stampToCbor(s.lastDelete), fields, attachments];
}

export function encodeRecordState(s: RecordState): Buffer {
  return encodeCanonical(recordStateToCbor(s));
}
