/**
 * Reading the materialized view: a record, every record, the records changed
 * since a point of the view's change sequence (what the bridge's writer and
 * the attachment index follow), the conflict log, and the canonical bytes of
 * the whole view.
 */
import type Database from "better-sqlite3";
import { decodeStrict } from "../cbor.js";
import type { RecordId, RecordType } from "../ids.js";
import type { RecordState } from "../record-state.js";
import { encodeView, type ConflictEntry } from "../view.js";
import { decodeLocalState } from "./record-codec.js";
import type { StoreCore } from "./store-core.js";

/**
 * A record whose state changed after the point a reader asked from, with the
 * point of its newest change. `state` is null when the record left the view:
 * no write of it remains (a removed member's voided events were all that
 * wrote it), so it is gone — not deleted, which a state says — and a reader
 * that copied it somewhere takes it away there.
 */
export interface ChangedRecord {
  readonly change: number;
  readonly record: RecordId;
  /** The record's type, or the type it had when it left the view. */
  readonly type: string;
  readonly state: RecordState | null;
}

export interface RecordReads {
  getRecord(id: RecordId): RecordState | undefined;
  records(): IterableIterator<RecordState>;
  changedRecords(after: number, limit: number, types?: readonly string[]): ChangedRecord[];
  recordCount(): number;
  conflicts(record?: RecordId): ConflictEntry[];
  newestConflicts(limit: number): ConflictEntry[];
  viewBytes(): Buffer;
}

interface ChangeQueries {
  readonly present: Database.Statement<unknown[], ChangeRow>;
  readonly gone: Database.Statement<unknown[], GoneRow>;
}

interface ConflictRow {
  record_id: string;
  key: string;
  author_ix: number;
  seq: number;
  wall: number;
  counter: number;
  value: Buffer;
}

type ChangeRow = { record_id: string; type: string; state: Buffer; seq: number };
type GoneRow = { record_id: string; type: string; seq: number };

export function createRecordReads(core: StoreCore): RecordReads {
  const { db, authorIndex } = core;
  const stmt = {
    record: db.prepare<[string], { type: string; state: Buffer }>("SELECT type, state FROM records WHERE record_id = ?"),
    allRecords: db.prepare<[], { record_id: string; type: string; state: Buffer }>("SELECT record_id, type, state FROM records"),
    count: db.prepare<[], { n: number }>("SELECT coalesce(sum(alive + deleted), 0) AS n FROM view_counts"),
    allConflicts: db.prepare<[], ConflictRow>("SELECT * FROM conflicts"),
    conflictsOf: db.prepare<[string], ConflictRow>("SELECT * FROM conflicts WHERE record_id = ?"),
    newestConflicts: db.prepare<[number], ConflictRow>("SELECT * FROM conflicts ORDER BY wall DESC, counter DESC LIMIT ?"),
  };
  /** The change queries per number of types filtered on (-1: no filter), prepared once each. */
  const changeQueries = new Map<number, ChangeQueries>();

  function changeQuery(types: readonly string[] | undefined): ChangeQueries {
    const n = types ? types.length : -1;
    let q = changeQueries.get(n);
    if (!q) {
      const typeFilter = (col: string) => (types ? ` AND ${col} IN (${types.map(() => "?").join(",")})` : "");
      q = {
        // A log row is current while the record's own number still equals it; older ones were superseded.
        present: db.prepare<unknown[], ChangeRow>(
          `SELECT r.record_id, r.type, r.state, c.seq FROM view_changes c JOIN records r ON r.rix = c.rix
           WHERE c.seq > ? AND r.changed = c.seq${typeFilter("r.type")} ORDER BY c.seq LIMIT ?`,
        ),
        // A record that left the view and came back is present, not gone.
        gone: db.prepare<unknown[], GoneRow>(
          `SELECT g.record_id, g.type, g.seq FROM view_gone g
           WHERE g.seq > ?${typeFilter("g.type")} AND NOT EXISTS (SELECT 1 FROM records r WHERE r.record_id = g.record_id) ORDER BY g.seq LIMIT ?`,
        ),
      };
      changeQueries.set(n, q);
    }
    return q;
  }

  /** Present and gone records changed after `after`, merged in change order, at most `limit`. */
  function changedRecords(after: number, limit: number, types?: readonly string[]): ChangedRecord[] {
    const q = changeQuery(types);
    const args = [after, ...(types ?? []), limit];
    const present = q.present.all(...args).map((r): ChangedRecord => {
      const record = r.record_id as RecordId;
      return { change: r.seq, record, type: r.type, state: decodeLocalState(record, r.type as RecordType, r.state, authorIndex) };
    });
    const gone = q.gone.all(...args);
    if (gone.length === 0) return present;
    const all = [...present, ...gone.map((g): ChangedRecord => ({ change: g.seq, record: g.record_id as RecordId, type: g.type, state: null }))];
    return all.sort((a, b) => a.change - b.change).slice(0, limit);
  }

  function conflictEntries(rows: readonly ConflictRow[]): ConflictEntry[] {
    return rows.map((r) => {
      const v = decodeStrict(r.value);
      return {
        record: r.record_id as RecordId, key: r.key, author: authorIndex.authorOf(r.author_ix), seq: r.seq,
        wall: r.wall, counter: r.counter, value: v.ok ? v.value : null,
      };
    });
  }

  function* records(): IterableIterator<RecordState> {
    for (const row of stmt.allRecords.iterate()) {
      yield decodeLocalState(row.record_id as RecordId, row.type as RecordType, row.state, authorIndex);
    }
  }

  const conflicts = (record?: RecordId): ConflictEntry[] =>
    conflictEntries(record === undefined ? stmt.allConflicts.all() : stmt.conflictsOf.all(record));

  return {
    getRecord(id) {
      const row = stmt.record.get(id);
      return row ? decodeLocalState(id, row.type as RecordType, row.state, authorIndex) : undefined;
    },
    records,
    changedRecords,
    recordCount: () => stmt.count.get()!.n,
    conflicts,
    newestConflicts: (limit) => conflictEntries(stmt.newestConflicts.all(limit)),
    viewBytes: () => encodeView(records(), conflicts()),
  };
}
