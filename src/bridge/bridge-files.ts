/**
 * The bridge's attachment bookkeeping, in the site's store file beside the
 * other bridge tables (so it commits with the events it explains):
 *
 * - bridge_files: what the local server holds for each (record, file name),
 *   as last downloaded or uploaded: the content's SHA-256 and the server's
 *   own token for it (Kobo's attachment uid, Central's ETag). A poll compares
 *   against it, so an unchanged or self-uploaded file is neither downloaded
 *   again nor turned into an event (no echo).
 * - bridge_file_checks: records whose files a poll still has to read. Queued
 *   in the same transaction as the version's upsert and the poll cursor, and
 *   removed only once every file is read, so a failed download or a file the
 *   server does not have yet is retried on later polls, never skipped.
 * - bridge_file_waits: files the converged record names whose bytes this site
 *   does not hold yet; each write pass looks for them in the blob store and
 *   schedules the upload when they arrive (by radio, or after a restart).
 */
import type Database from "better-sqlite3";
import type { RecordId } from "../engine/ids.js";
import type { ServerFile } from "./local-form.js";

const DDL = `
CREATE TABLE IF NOT EXISTS bridge_files (
  source      TEXT NOT NULL,
  record_id   TEXT NOT NULL,
  name        TEXT NOT NULL,
  hash        BLOB NOT NULL,
  size        INTEGER NOT NULL,
  mime        TEXT NOT NULL,
  token       TEXT,
  instance_id TEXT NOT NULL,
  PRIMARY KEY (source, record_id, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS bridge_file_checks (
  source     TEXT NOT NULL,
  record_id  TEXT NOT NULL,
  listing    TEXT,
  attempts   INTEGER NOT NULL DEFAULT 0,
  next_at    INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  PRIMARY KEY (source, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bridge_file_checks_due ON bridge_file_checks (source, next_at);

CREATE TABLE IF NOT EXISTS bridge_file_waits (
  source    TEXT NOT NULL,
  record_id TEXT NOT NULL,
  hash      BLOB NOT NULL,
  PRIMARY KEY (source, record_id, hash)
) WITHOUT ROWID;
`;

/** A file as the local server holds it, to our knowledge. */
export interface HeldFile {
  readonly name: string;
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
  /** The server's id for this content (Kobo attachment uid, Central ETag); null when we put it there and were given none. */
  readonly token: string | null;
  /** The submission version it was read from or put on. */
  readonly instanceId: string;
}

/** A record whose files a poll has to read. */
export interface FileCheck {
  readonly record: RecordId;
  /** What the poll row already listed (Kobo); null: ask the server. */
  readonly listing: readonly ServerFile[] | null;
  readonly attempts: number;
  readonly lastError: string | null;
}

export type BridgeFiles = ReturnType<typeof createBridgeFiles>;

const key = (h: Uint8Array): Buffer => Buffer.from(h.buffer, h.byteOffset, h.byteLength);

/** Creates the attachment tables if needed and returns their accessors (combine writes with SqliteStore.atomically). */
export function createBridgeFiles(db: Database.Database) {
  db.exec(DDL);
  const s = {
    held: db.prepare<[string, string], { name: string; hash: Buffer; size: number; mime: string; token: string | null; instance_id: string }>(
      "SELECT name, hash, size, mime, token, instance_id FROM bridge_files WHERE source = ? AND record_id = ?",
    ),
    putHeld: db.prepare(
      `INSERT INTO bridge_files (source, record_id, name, hash, size, mime, token, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, record_id, name) DO UPDATE SET hash = excluded.hash, size = excluded.size, mime = excluded.mime,
       token = excluded.token, instance_id = excluded.instance_id`,
    ),
    queue: db.prepare(
      `INSERT INTO bridge_file_checks (source, record_id, listing, attempts, next_at, last_error) VALUES (?, ?, ?, 0, 0, NULL)
       ON CONFLICT (source, record_id) DO UPDATE SET listing = excluded.listing, attempts = 0, next_at = 0, last_error = NULL`,
    ),
    due: db.prepare<[string, number, number], { record_id: string; listing: string | null; attempts: number; last_error: string | null }>(
      "SELECT record_id, listing, attempts, last_error FROM bridge_file_checks WHERE source = ? AND next_at <= ? ORDER BY next_at LIMIT ?",
    ),
    retry: db.prepare("UPDATE bridge_file_checks SET listing = NULL, attempts = ?, next_at = ?, last_error = ? WHERE source = ? AND record_id = ?"),
    done: db.prepare("DELETE FROM bridge_file_checks WHERE source = ? AND record_id = ?"),
    checkCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM bridge_file_checks WHERE source = ?"),
    wait: db.prepare("INSERT OR IGNORE INTO bridge_file_waits (source, record_id, hash) VALUES (?, ?, ?)"),
    waits: db.prepare<[string], { record_id: string; hash: Buffer }>("SELECT record_id, hash FROM bridge_file_waits WHERE source = ?"),
    unwait: db.prepare("DELETE FROM bridge_file_waits WHERE source = ? AND record_id = ? AND hash = ?"),
    waitCount: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM bridge_file_waits WHERE source = ?"),
  };

  return {
    /** The files the local server holds for a record, by name. */
    held(source: string, record: RecordId): Map<string, HeldFile> {
      const out = new Map<string, HeldFile>();
      for (const r of s.held.iterate(source, record)) {
        out.set(r.name, { name: r.name, hash: r.hash, size: r.size, mime: r.mime, token: r.token, instanceId: r.instance_id });
      }
      return out;
    },
    putHeld(source: string, record: RecordId, f: HeldFile): void {
      s.putHeld.run(source, record, f.name, key(f.hash), f.size, f.mime, f.token, f.instanceId);
    },
    /** Asks the next poll to read the record's files (a newer version replaces an older request, with its attempts). */
    queueCheck(source: string, record: RecordId, listing: readonly ServerFile[] | null): void {
      s.queue.run(source, record, listing ? JSON.stringify(listing) : null);
    },
    dueChecks(source: string, now: number, limit: number): FileCheck[] {
      return s.due.all(source, now, limit).map((r) => ({
        record: r.record_id as RecordId,
        listing: r.listing ? (JSON.parse(r.listing) as ServerFile[]) : null,
        attempts: r.attempts,
        lastError: r.last_error,
      }));
    },
    /** The check stays: try again at `nextAt`, asking the server for the listing then. */
    retryCheck(source: string, record: RecordId, attempts: number, nextAt: number, error: string): void {
      s.retry.run(attempts, nextAt, error, source, record);
    },
    checkDone(source: string, record: RecordId): void {
      s.done.run(source, record);
    },
    /** Records whose files are still to be read. */
    checksOpen(source: string): number {
      return s.checkCount.get(source)!.n;
    },
    /** Remembers that the record needs bytes this site does not hold yet. */
    wait(source: string, record: RecordId, hash: Uint8Array): void {
      s.wait.run(source, record, key(hash));
    },
    /**
     * The waits of a source whose bytes `has` now finds: removed, their records returned (each once). Waits
     * that are `stale` (the record no longer names that content: replaced, deleted) are removed too.
     */
    takeArrived(source: string, has: (hash: Uint8Array) => boolean, stale: (record: RecordId, hash: Uint8Array) => boolean): RecordId[] {
      const out = new Set<RecordId>();
      for (const r of s.waits.all(source)) {
        const arrived = has(r.hash);
        if (!arrived && !stale(r.record_id as RecordId, r.hash)) continue;
        s.unwait.run(source, r.record_id, r.hash);
        if (arrived) out.add(r.record_id as RecordId);
      }
      return [...out];
    },
    waiting(source: string): number {
      return s.waitCount.get(source)!.n;
    },
  };
}
