/**
 * Keeps the materialized records and the conflict log up to date, one event
 * at a time, inside the ingest transaction. Uses the same pure functions as
 * the full re-fold (record-state.ts), so the two agree byte for byte.
 */
import type Database from "better-sqlite3";
import { decodeStrict, encodeCanonical } from "../cbor.js";
import { parseBody, type SignedEvent } from "../event.js";
import type { AuthorId, RecordId } from "../ids.js";
import {
  applyEvent,
  decodeRecordState,
  encodeRecordState,
  isAlive,
  racesWith,
  writeRefOf,
  type WriteRef,
} from "../record-state.js";
import { conflictEntryFor } from "../view.js";

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
  /** Folds an applied event into the view. `authorIx` is the event author's row in `authors`. */
  apply(ev: SignedEvent, authorIx: number): void;
}

export function createViewUpdater(db: Database.Database, authorOf: (ix: number) => AuthorId): ViewUpdater {
  const getState = db.prepare<[string], { state: Buffer }>("SELECT state FROM records WHERE record_id = ?");
  const putState = db.prepare(
    "INSERT INTO records (record_id, type, alive, state) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT (record_id) DO UPDATE SET type = excluded.type, alive = excluded.alive, state = excluded.state",
  );
  const getWrites = db.prepare<[string], WriteRow>(
    "SELECT author_ix, seq, wall, counter, base_wall, base_counter, kind, keys FROM record_writes WHERE record_id = ?",
  );
  const putWrite = db.prepare(
    "INSERT OR IGNORE INTO record_writes (record_id, author_ix, seq, wall, counter, base_wall, base_counter, kind, keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const putConflict = db.prepare(
    "INSERT OR IGNORE INTO conflicts (record_id, key, author_ix, seq, wall, counter, value) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const getEvent = db.prepare<[number, number], { kind: number; body: Buffer }>(
    "SELECT kind, body FROM events WHERE author_ix = ? AND seq = ?",
  );

  function rowToRef(r: WriteRow): WriteRef {
    const keys = decodeStrict(r.keys);
    return {
      stamp: { wall: r.wall, counter: r.counter, author: authorOf(r.author_ix), seq: r.seq },
      base: r.base_wall === null ? null : { wall: r.base_wall, counter: r.base_counter ?? 0 },
      kind: KIND_NAMES[r.kind] as WriteRef["kind"],
      keys: keys.ok && Array.isArray(keys.value) ? (keys.value as string[]) : [],
    };
  }

  /** The stored event behind a write (only needed when it lost a race: rare). */
  function loadLoser(ref: WriteRef, ix: number): SignedEvent {
    const row = getEvent.get(ix, ref.stamp.seq);
    const decoded = row ? decodeStrict(row.body) : undefined;
    const body = row && decoded?.ok ? parseBody(row.kind, decoded.value) : undefined;
    if (!body || typeof body === "string") throw new Error(`store is missing the body of event ${ref.stamp.author}#${ref.stamp.seq}`);
    const { wall, counter, author, seq } = ref.stamp;
    return { author, seq, prev: null, hlc: { wall, counter }, body, id: "" as never, sig: new Uint8Array() };
  }

  return {
    apply(ev, authorIx) {
      const ref = writeRefOf(ev);
      if (!ref || ev.body.kind === "unknown") return;
      const rid: RecordId = ev.body.record;
      const stored = getState.get(rid);
      const state = applyEvent(stored ? decodeRecordState(stored.state) : undefined, ev);
      if (!state) return;
      putState.run(rid, state.type, isAlive(state) ? 1 : 0, encodeRecordState(state));

      if (stored) {
        const rows = getWrites.all(rid);
        const refs = rows.map(rowToRef);
        for (const lost of racesWith(ref, refs)) {
          const loserIx = lost.loser === ref ? authorIx : rows[refs.indexOf(lost.loser)]!.author_ix;
          const loserEv = lost.loser === ref ? ev : loadLoser(lost.loser, loserIx);
          const entry = conflictEntryFor(rid, lost.key, loserEv);
          putConflict.run(rid, entry.key, loserIx, entry.seq, entry.wall, entry.counter, encodeCanonical(entry.value));
        }
      }
      putWrite.run(
        rid,
        authorIx,
        ev.seq,
        ev.hlc.wall,
        ev.hlc.counter,
        ref.base?.wall ?? null,
        ref.base?.counter ?? null,
        KIND_NAMES.indexOf(ref.kind),
        encodeCanonical([...ref.keys]),
      );
    },
  };
}
