/**
 * Events that arrived before their predecessor wait here (persisted), until
 * the gap fills. Bounded overall, per author and per slot, so hostile or
 * runaway traffic cannot grow it: what does not fit is re-requested later.
 */
import type Database from "better-sqlite3";
import { decodeStrict, type CborValue } from "../cbor.js";
import { MAX_GAP_BUFFER_EVENTS, MAX_GAP_BUFFER_PER_AUTHOR, MAX_GAP_CANDIDATES_PER_SLOT } from "../constants.js";
import { sha256 } from "../crypto.js";
import type { IngestOutcome } from "./ingest-types.js";

export type Waiting = { form: "wire"; item: CborValue } | { form: "full"; bytes: Buffer };

export interface GapBuffer {
  /** form 0: an encoded wire item; form 1: an encoded full signed event. */
  put(authorIx: number, seq: number, form: 0 | 1, bytes: Buffer, now: number): IngestOutcome;
  /** Removes and returns what waits for this slot. */
  take(authorIx: number, seq: number): Waiting[];
  /** Drops what waits at or below the feed's head (filled by other copies). */
  prune(authorIx: number, headSeq: number): void;
  size(): number;
  /** Re-reads counts after a rolled-back transaction. */
  reload(): void;
}

export function createGapBuffer(db: Database.Database): GapBuffer {
  const perAuthor = new Map<number, number>();
  let total = 0;
  const insert = db.prepare(
    "INSERT OR IGNORE INTO gap_buffer (author_ix, seq, digest, form, item, received_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const slotCount = db.prepare<[number, number], { n: number }>("SELECT count(*) AS n FROM gap_buffer WHERE author_ix = ? AND seq = ?");
  const select = db.prepare<[number, number], { form: number; item: Buffer }>(
    "SELECT form, item FROM gap_buffer WHERE author_ix = ? AND seq = ?",
  );
  const remove = db.prepare("DELETE FROM gap_buffer WHERE author_ix = ? AND seq = ?");
  const pruneStmt = db.prepare("DELETE FROM gap_buffer WHERE author_ix = ? AND seq <= ?");

  function reload(): void {
    perAuthor.clear();
    total = 0;
    const rows = db.prepare("SELECT author_ix, count(*) AS n FROM gap_buffer GROUP BY author_ix").all() as { author_ix: number; n: number }[];
    for (const r of rows) {
      perAuthor.set(r.author_ix, r.n);
      total += r.n;
    }
  }
  reload();

  function adjust(ix: number, delta: number): void {
    if (delta === 0) return;
    perAuthor.set(ix, (perAuthor.get(ix) ?? 0) + delta);
    total += delta;
  }

  return {
    put(ix, seq, form, bytes, now) {
      if (total >= MAX_GAP_BUFFER_EVENTS || (perAuthor.get(ix) ?? 0) >= MAX_GAP_BUFFER_PER_AUTHOR) {
        return { status: "refused", reason: "gap-buffer-full" };
      }
      if ((slotCount.get(ix, seq)?.n ?? 0) >= MAX_GAP_CANDIDATES_PER_SLOT) return { status: "refused", reason: "gap-buffer-full" };
      const changes = insert.run(ix, seq, sha256(bytes), form, bytes, now).changes;
      adjust(ix, changes);
      return changes === 0 ? { status: "duplicate" } : { status: "buffered" };
    },
    take(ix, seq) {
      const rows = select.all(ix, seq);
      if (rows.length === 0) return [];
      adjust(ix, -remove.run(ix, seq).changes);
      return rows.flatMap((r): Waiting[] => {
        if (r.form === 1) return [{ form: "full", bytes: r.item }];
        const d = decodeStrict(r.item);
        return d.ok ? [{ form: "wire", item: d.value }] : [];
      });
    },
    prune(ix, headSeq) {
      if ((perAuthor.get(ix) ?? 0) === 0) return;
      adjust(ix, -pruneStmt.run(ix, headSeq).changes);
    },
    size: () => total,
    reload,
  };
}
