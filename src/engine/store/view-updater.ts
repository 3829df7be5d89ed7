/**
 * Keeps the materialized records and the conflict log up to date, one event
 * at a time, inside the ingest transaction. Uses the same pure functions as
 * the full re-fold (record-state.ts), so the two agree byte for byte; only the
 * stored form of a state differs (record-codec.ts).
 */
import type Database from "better-sqlite3";
import { decodeStrict, encodeCanonical } from "../cbor.js";
import { isRecordBody, parseBody, type EventFacts } from "../event.js";
import type { RecordId, RecordType } from "../ids.js";
import { applyEvent, isAlive, racesWith, writeRefOf, type RecordState, type WriteRef } from "../record-state.js";
import { conflictEntryFor } from "../view.js";
import { decodeKeys, decodeLocalState, encodeKeys, encodeLocalState, type AuthorIndex } from "./record-codec.js";
import { StoreCorruptError } from "./store-corrupt-error.js";

const KIND_NAMES = ["", "upsert", "delete", "attachment"] as const;

interface WriteRow {
  author_ix: number;
  seq: number;
  wall: number;
  counter: number;
  base_wall: number | null;
  base_counter: number | null;
  kind: number;
  keys: Buffer;
}

export interface ViewUpdater {
  /** Folds an applied event into the view; returns the record's new state (undefined: the event changes no record). `authorIx` is the event author's row in `authors`. */
  apply(ev: EventFacts, authorIx: number): RecordState | undefined;
}

/**
 * `nextChange` hands out the view's change sequence (see the records table):
 * each state change of a record stores the next number with it.
 */
export function createViewUpdater(db: Database.Database, authors: AuthorIndex, nextChange: () => number): ViewUpdater {
  const getState = db.prepare<[string], { rix: number; type: string; state: Buffer }>(
    "SELECT rix, type, state FROM records WHERE record_id = ?",
  );
  const insertState = db.prepare<[string, string, number, Buffer, number]>(
    "INSERT INTO records (record_id, type, alive, state, changed) VALUES (?, ?, ?, ?, ?)",
  );
  // The type is set only when it changes: assigning an indexed column rewrites its records_by_type entry.
  const updateState = db.prepare<[number, Buffer, number, number]>("UPDATE records SET alive = ?, state = ?, changed = ? WHERE rix = ?");
  const updateTypedState = db.prepare<[string, number, Buffer, number, number]>(
    "UPDATE records SET type = ?, alive = ?, state = ?, changed = ? WHERE rix = ?",
  );
  const logChange = db.prepare<[number, number]>("INSERT INTO view_changes (seq, rix) VALUES (?, ?)");
  const getWrites = db.prepare<[number], WriteRow>(
    "SELECT author_ix, seq, wall, counter, base_wall, base_counter, kind, keys FROM record_writes WHERE rix = ?",
  );
  const putWrite = db.prepare(
    "INSERT OR IGNORE INTO record_writes (rix, author_ix, seq, wall, counter, base_wall, base_counter, kind, keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const putConflict = db.prepare(
    "INSERT OR IGNORE INTO conflicts (record_id, key, author_ix, seq, wall, counter, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const getEvent = db.prepare<[number, number], { kind: number; body: Buffer }>(
    "SELECT kind, body FROM events WHERE author_ix = ? AND seq = ?",
  );

  /** A stored write as the race check sees it; `names` gives the record's field and attachment names in order. */
  function rowToRef(r: WriteRow, names: (attachments: boolean) => readonly string[]): WriteRef {
    const kind = KIND_NAMES[r.kind] as WriteRef["kind"];
    return {
      stamp: { wall: r.wall, counter: r.counter, author: authors.authorOf(r.author_ix), seq: r.seq },
      base: r.base_wall === null ? null : { wall: r.base_wall, counter: r.base_counter ?? 0 },
      kind,
      keys: decodeKeys(kind, r.keys, kind === "delete" ? [] : names(kind === "attachment")),
    };
  }

  /** The stored event behind a write (only needed when it lost a race: rare). */
  function loadLoser(ref: WriteRef, ix: number): EventFacts {
    const row = getEvent.get(ix, ref.stamp.seq);
    const decoded = row ? decodeStrict(row.body) : undefined;
    const body = row && decoded?.ok ? parseBody(row.kind, decoded.value) : undefined;
    if (!body || typeof body === "string") throw new StoreCorruptError(`the body of event ${ref.stamp.author}#${ref.stamp.seq} is missing`);
    const { wall, counter, author, seq } = ref.stamp;
    return { author, seq, hlc: { wall, counter }, body };
  }

  return {
    apply(ev, authorIx) {
      const ref = writeRefOf(ev);
      if (!ref || !isRecordBody(ev.body)) return undefined;
      const rid: RecordId = ev.body.record;
      const stored = getState.get(rid);
      const state = applyEvent(stored ? decodeLocalState(rid, stored.type as RecordType, stored.state, authors) : undefined, ev);
      if (!state) return undefined;
      const bytes = encodeLocalState(state, authors);
      let rix: number;
      if (stored) {
        rix = stored.rix;
        const change = nextChange();
        if (state.type === stored.type) updateState.run(isAlive(state) ? 1 : 0, bytes, change, rix);
        else updateTypedState.run(state.type, isAlive(state) ? 1 : 0, bytes, change, rix);
        logChange.run(change, rix);
        const rows = getWrites.all(rix);
        let fieldNames: string[] | undefined;
        let attachmentNames: string[] | undefined;
        const names = (attachments: boolean) =>
          attachments ? (attachmentNames ??= [...state.attachments.keys()]) : (fieldNames ??= [...state.fields.keys()]);
        const refs = rows.map((r) => rowToRef(r, names));
        for (const lost of racesWith(ref, refs)) {
          const loserIx = lost.loser === ref ? authorIx : rows[refs.indexOf(lost.loser)]!.author_ix;
          const loserEv = lost.loser === ref ? ev : loadLoser(lost.loser, loserIx);
          const entry = conflictEntryFor(rid, lost.key, loserEv);
          putConflict.run(rid, entry.key, loserIx, entry.seq, entry.wall, entry.counter, encodeCanonical(entry.value));
        }
      } else {
        const change = nextChange();
        rix = Number(insertState.run(rid, state.type, isAlive(state) ? 1 : 0, bytes, change).lastInsertRowid);
        logChange.run(change, rix);
      }
      putWrite.run(
        rix,
        authorIx,
        ev.seq,
        ev.hlc.wall,
        ev.hlc.counter,
        ref.base?.wall ?? null,
        ref.base?.counter ?? null,
        KIND_NAMES.indexOf(ref.kind),
        encodeKeys(ref.kind, ref.keys, state),
      );
      return state;
    },
  };
}
