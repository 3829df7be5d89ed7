/**
 * Cuts a removed member's feed at its cut (removal-rule.ts): its events
 * beyond it leave the feed, the gap buffer and the vocabulary copies, and
 * every record they wrote is folded again from the writes that remain, with
 * the same pure fold as the reference (view.ts foldEvents), so the view stays
 * equal to a re-fold of the events left (a record no write of which is left
 * leaves the view, and the change sequence says so). Runs inside the ingest transaction;
 * the caller reloads its caches (gap buffer, vocabularies) afterwards.
 */
import type Database from "better-sqlite3";
import { decodeStrict, encodeCanonical } from "../cbor.js";
import { parseBody, type EventFacts } from "../event.js";
import type { RecordId, RecordType } from "../ids.js";
import { isAlive, writeRefOf } from "../record-state.js";
import { foldEvents } from "../view.js";
import type { AuthorRow } from "./author-registry.js";
import { encodeKeys, encodeLocalState, type AuthorIndex } from "./record-codec.js";
import { StoreCorruptError } from "./store-corrupt-error.js";

const KIND_CODES = { upsert: 1, delete: 2, attachment: 3 } as const;

export interface FeedCutter {
  /** Removes `a`'s events above `cut` everywhere and moves its head back; returns how many events left the feed. */
  cut(a: AuthorRow, cut: number): number;
}

export function createFeedCutter(db: Database.Database, authors: AuthorIndex, nextChange: () => number): FeedCutter {
  const stmt = {
    touched: db.prepare<[number, number], { rix: number }>("SELECT DISTINCT rix FROM record_writes WHERE author_ix = ? AND seq > ?"),
    dropWrites: db.prepare("DELETE FROM record_writes WHERE author_ix = ? AND seq > ?"),
    dropEvents: db.prepare("DELETE FROM events WHERE author_ix = ? AND seq > ?"),
    dropVocabularies: db.prepare("DELETE FROM vocabularies WHERE author_ix = ? AND seq > ?"),
    dropWaiting: db.prepare("DELETE FROM gap_buffer WHERE author_ix = ? AND seq > ?"),
    eventAt: db.prepare<[number, number], { id: Buffer; wall: number; counter: number; kind: number; body: Buffer }>(
      "SELECT id, wall, counter, kind, body FROM events WHERE author_ix = ? AND seq = ?",
    ),
    saveHead: db.prepare("UPDATE authors SET head_seq = ?, head_id = ?, head_wall = ?, head_counter = ? WHERE ix = ?"),
    record: db.prepare<[number], { record_id: string; type: string }>("SELECT record_id, type FROM records WHERE rix = ?"),
    writes: db.prepare<[number], { author_ix: number; seq: number }>("SELECT author_ix, seq FROM record_writes WHERE rix = ?"),
    dropRecordWrites: db.prepare("DELETE FROM record_writes WHERE rix = ?"),
    putWrite: db.prepare(
      "INSERT INTO record_writes (rix, author_ix, seq, wall, counter, base_wall, base_counter, kind, keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    dropConflicts: db.prepare("DELETE FROM conflicts WHERE record_id = ?"),
    putConflict: db.prepare("INSERT INTO conflicts (record_id, key, author_ix, seq, wall, counter, value) VALUES (?, ?, ?, ?, ?, ?, ?)"),
    dropRecord: db.prepare("DELETE FROM records WHERE rix = ?"),
    updateRecord: db.prepare("UPDATE records SET type = ?, alive = ?, state = ?, changed = ? WHERE rix = ?"),
    logChange: db.prepare("INSERT INTO view_changes (seq, rix) VALUES (?, ?)"),
    logGone: db.prepare("INSERT OR REPLACE INTO view_gone (seq, record_id, type) VALUES (?, ?, ?)"),
  };

  function facts(ix: number, seq: number): EventFacts {
    const row = stmt.eventAt.get(ix, seq);
    const decoded = row ? decodeStrict(row.body) : undefined;
    const body = row && decoded?.ok ? parseBody(row.kind, decoded.value) : undefined;
    if (!row || !body || typeof body === "string") throw new StoreCorruptError(`event ${authors.authorOf(ix)}#${seq} of the write log is missing`);
    return { author: authors.authorOf(ix), seq, hlc: { wall: row.wall, counter: row.counter }, body };
  }

  /**
   * Folds record `rix` again from its remaining writes and rewrites its state, writes and conflicts.
   * A record no write of which remains leaves the view, as a re-fold would have it; its change names it
   * in view_gone, so readers of the change sequence (the bridge's writer, the attachment index) learn it is gone.
   */
  function refold(rix: number): void {
    const row = stmt.record.get(rix);
    if (row === undefined) return;
    const rid = row.record_id as RecordId;
    const events = stmt.writes.all(rix).map((w) => facts(w.author_ix, w.seq));
    stmt.dropConflicts.run(rid); // first, so the view's running totals count them under the record's old type
    stmt.dropRecordWrites.run(rix);
    const fold = foldEvents(events);
    const state = fold.records.get(rid);
    const change = nextChange();
    stmt.logChange.run(change, rix);
    if (!state) {
      stmt.dropRecord.run(rix);
      stmt.logGone.run(change, rid, row.type);
      return;
    }
    stmt.updateRecord.run(state.type as RecordType, isAlive(state) ? 1 : 0, encodeLocalState(state, authors), change, rix);
    for (const ev of events) {
      const ref = writeRefOf(ev);
      if (!ref) continue;
      stmt.putWrite.run(rix, authors.ixOf(ev.author), ev.seq, ev.hlc.wall, ev.hlc.counter, ref.base?.wall ?? null, ref.base?.counter ?? null,
        KIND_CODES[ref.kind], encodeKeys(ref.kind, ref.keys, state));
    }
    for (const c of fold.conflicts.values()) {
      stmt.putConflict.run(rid, c.key, authors.ixOf(c.author), c.seq, c.wall, c.counter, encodeCanonical(c.value));
    }
  }

  return {
    cut(a, cut) {
      if (a.head.seq <= cut) {
        stmt.dropWaiting.run(a.ix, cut);
        return 0;
      }
      const removed = a.head.seq - cut;
      const touched = stmt.touched.all(a.ix, cut).map((r) => r.rix);
      stmt.dropWrites.run(a.ix, cut);
      stmt.dropEvents.run(a.ix, cut);
      stmt.dropVocabularies.run(a.ix, cut);
      stmt.dropWaiting.run(a.ix, cut);
      const last = cut > 0 ? stmt.eventAt.get(a.ix, cut) : undefined;
      if (cut > 0 && !last) throw new StoreCorruptError(`feed ${a.author} has a hole at ${cut} below its head ${a.head.seq}`);
      a.head = { seq: cut, id: last?.id ?? null, wall: last?.wall ?? 0, counter: last?.counter ?? 0 };
      stmt.saveHead.run(a.head.seq, a.head.id, a.head.wall, a.head.counter, a.ix);
      for (const rix of touched) refold(rix);
      return removed;
    },
  };
}
