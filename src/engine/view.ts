/**
 * The materialized view as one canonical byte string, and the full re-fold
 * that defines it. The store maintains the same view incrementally; tests
 * compare the two byte for byte.
 */
import { encodeCanonical, type CborValue } from "./cbor.js";
import { isRecordBody, type EventFacts } from "./event.js";
import { hexToBytes, type AuthorId, type RecordId } from "./ids.js";
import {
  applyEvent,
  racesWith,
  recordStateToCbor,
  writeRefOf,
  type RecordState,
  type WriteRef,
} from "./record-state.js";

/** One logged lost race: which write (author, seq, HLC) lost on which key, and the value it had. */
export interface ConflictEntry {
  readonly record: RecordId;
  readonly key: string;
  readonly author: AuthorId;
  readonly seq: number;
  readonly wall: number;
  readonly counter: number;
  /** The losing value for a field key; null for record-level and attachment races. */
  readonly value: CborValue;
}

export function conflictKey(c: Pick<ConflictEntry, "record" | "key" | "author" | "seq">): string {
  return `${c.record}\u0000${c.key}\u0000${c.author}\u0000${String(c.seq).padStart(16, "0")}`;
}

export function conflictToCbor(c: ConflictEntry): CborValue {
  return [c.record, c.key, hexToBytes(c.author), c.seq, c.wall, c.counter, c.value];
}

/** Canonical bytes of a whole view: records sorted by id, then conflicts sorted by key. */
export function encodeView(records: Iterable<RecordState>, conflicts: Iterable<ConflictEntry>): Buffer {
  const rs = [...records].sort((a, b) => (a.record < b.record ? -1 : a.record > b.record ? 1 : 0));
  const cs = [...conflicts].sort((a, b) => {
    const ka = conflictKey(a);
    const kb = conflictKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return encodeCanonical([rs.map(recordStateToCbor), cs.map(conflictToCbor)]);
}

export interface FoldResult {
  readonly records: Map<RecordId, RecordState>;
  readonly conflicts: Map<string, ConflictEntry>;
}

/** The reference semantics: folds a set of events from scratch. Order of `events` does not matter. */
export function foldEvents(events: Iterable<EventFacts>): FoldResult {
  const records = new Map<RecordId, RecordState>();
  const writes = new Map<RecordId, { ref: WriteRef; ev: EventFacts }[]>();
  for (const ev of events) {
    const ref = writeRefOf(ev);
    if (!ref || !isRecordBody(ev.body)) continue;
    const rid = ev.body.record;
    const next = applyEvent(records.get(rid), ev);
    if (next) records.set(rid, next);
    let list = writes.get(rid);
    if (!list) writes.set(rid, (list = []));
    list.push({ ref, ev });
  }
  const conflicts = new Map<string, ConflictEntry>();
  for (const [rid, list] of writes) {
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      const earlier = list.slice(0, i);
      for (const lost of racesWith(a.ref, earlier.map((w) => w.ref))) {
        const loserEv = lost.loser === a.ref ? a.ev : earlier.find((w) => w.ref === lost.loser)!.ev;
        const entry = conflictEntryFor(rid, lost.key, loserEv);
        conflicts.set(conflictKey(entry), entry);
      }
    }
  }
  return { records, conflicts };
}

/** The log entry for `ev` having lost on `key`. */
export function conflictEntryFor(record: RecordId, key: string, ev: EventFacts): ConflictEntry {
  const value = ev.body.kind === "upsert" ? (ev.body.fields[key] ?? null) : null;
  return { record, key, author: ev.author, seq: ev.seq, wall: ev.hlc.wall, counter: ev.hlc.counter, value };
}
