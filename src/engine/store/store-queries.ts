/**
 * Read-only questions the status API asks of a store, in SQL over the
 * store's own tables: record counts per type, pages of records, a record's
 * history and conflicts, the newest events. Pages are keyed (never OFFSET),
 * so a page costs the same at record 100,000 as at record 1; counts come
 * from running totals, so the status costs the same at any size.
 */
import type { SignedEvent } from "../event.js";
import { toAuthorId, type AuthorId, type RecordId } from "../ids.js";
import type { RecordState } from "../record-state.js";
import type { ConflictEntry } from "../view.js";
import type { SqliteStore } from "./sqlite-store.js";

/** Largest page the API hands out at once. */
export const MAX_PAGE = 500;

export interface TypeCount {
  readonly type: string;
  readonly alive: number;
  readonly deleted: number;
}

/** Records per type, alive and deleted: read from the view's running totals, a row per type. */
export function recordCountsByType(store: SqliteStore): TypeCount[] {
  const rows = store.db
    .prepare("SELECT type, alive, deleted FROM view_counts WHERE alive + deleted > 0 ORDER BY type")
    .all() as { type: string; alive: number; deleted: number }[];
  return rows.map((r) => ({ type: r.type, alive: r.alive, deleted: r.deleted }));
}

export interface RecordPage {
  readonly records: RecordState[];
  /** Pass as `after` for the next page; null when this was the last. */
  readonly next: string | null;
}

/** Records in id order after `after`, optionally of one type. */
export function listRecords(store: SqliteStore, q: { type?: string; after?: string; limit: number }): RecordPage {
  const limit = Math.max(1, Math.min(MAX_PAGE, q.limit));
  const where = ["record_id > ?"];
  const args: (string | number)[] = [q.after ?? ""];
  if (q.type !== undefined) {
    where.push("type = ?");
    args.push(q.type);
  }
  const ids = store.db
    .prepare(`SELECT record_id FROM records WHERE ${where.join(" AND ")} ORDER BY record_id LIMIT ?`)
    .all(...args, limit + 1) as { record_id: string }[];
  const page = ids.slice(0, limit).flatMap((r) => store.getRecord(r.record_id as RecordId) ?? []);
  return { records: page, next: ids.length > limit ? (ids[limit - 1]?.record_id ?? null) : null };
}

/** Every event that wrote the record, oldest stamp first. */
export function recordHistory(store: SqliteStore, record: RecordId): SignedEvent[] {
  const rows = store.db
    .prepare(
      `SELECT a.key AS key, w.seq AS seq FROM record_writes w JOIN records r ON r.rix = w.rix JOIN authors a ON a.ix = w.author_ix
       WHERE r.record_id = ? ORDER BY w.wall, w.counter, a.key`,
    )
    .all(record) as { key: Buffer; seq: number }[];
  return rows.flatMap((r) => store.readEvents(toAuthorId(r.key), r.seq, r.seq));
}

/** The writes that lost a concurrent race on this record. */
export function recordConflicts(store: SqliteStore, record: RecordId): ConflictEntry[] {
  return store.conflicts(record);
}

/** How many writes lost a race, in all (from the view's running totals). */
export function conflictCount(store: SqliteStore): number {
  return (store.db.prepare("SELECT coalesce(sum(conflicts), 0) AS n FROM view_counts").get() as { n: number }).n;
}

/** The newest events of one author (or of every author), newest first. */
export function recentEvents(store: SqliteStore, q: { author?: AuthorId; limit: number }): SignedEvent[] {
  const limit = Math.max(1, Math.min(MAX_PAGE, q.limit));
  const authors = q.author ? [q.author] : [...store.frontier().keys()];
  const out: SignedEvent[] = [];
  for (const author of authors) {
    const head = store.headSeq(author);
    if (head > 0) out.push(...store.readEvents(author, Math.max(1, head - limit + 1), head));
  }
  out.sort((a, b) => b.hlc.wall - a.hlc.wall || b.hlc.counter - a.hlc.counter);
  return out.slice(0, limit);
}
