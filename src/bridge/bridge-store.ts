/**
 * The bridge's own tables, in the site's store file so that a poll's events
 * and the cursor and local copies they came from commit in one transaction
 * (SqliteStore.atomically), and a write's outcome with the outbox entry.
 *
 * - bridge_cursors: where each poller and writer is (JSON per key).
 * - bridge_local: what the local server holds for each record, as last polled
 *   or written: the base for "only the fields that changed" and for telling
 *   our own writes (echoes) from a person's edits.
 * - bridge_outbox: converged records to write to the local server, with the
 *   exact planned request so a retry after a crash is byte-identical;
 *   bridge_outbox_counts: its entries per state, kept by triggers.
 */
import type Database from "better-sqlite3";
import type { CborValue } from "../engine/cbor.js";
import { StoreCorruptError } from "../engine/store/store-corrupt-error.js";
import type { RecordId } from "../engine/ids.js";

const DDL = `
CREATE TABLE IF NOT EXISTS bridge_cursors (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS bridge_local (
  source      TEXT NOT NULL,
  record_id   TEXT NOT NULL,
  local_key   TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  answers     TEXT NOT NULL,
  deleted     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bridge_local_by_key ON bridge_local (source, local_key);

CREATE TABLE IF NOT EXISTS bridge_outbox (
  source        TEXT NOT NULL,
  record_id     TEXT NOT NULL,
  state         TEXT NOT NULL,
  action        TEXT,
  instance_id   TEXT,
  deprecated_id TEXT,
  local_key     TEXT,
  body          TEXT,
  answers       TEXT,
  plan_change   INTEGER,
  files         TEXT,
  attempts      INTEGER NOT NULL DEFAULT 0,
  next_at       INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT,
  updated_at    INTEGER NOT NULL,
  written_at    INTEGER,
  PRIMARY KEY (source, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bridge_outbox_due ON bridge_outbox (state, next_at);

-- Outbox entries per source and state, kept by triggers with the entries (in
-- their transaction), so the status reads a few rows instead of counting an
-- entry for every record ever written back.
CREATE TABLE IF NOT EXISTS bridge_outbox_counts (
  source TEXT NOT NULL,
  state  TEXT NOT NULL,
  n      INTEGER NOT NULL,
  PRIMARY KEY (source, state)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS bridge_outbox_counts_insert AFTER INSERT ON bridge_outbox BEGIN
  INSERT INTO bridge_outbox_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
    ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS bridge_outbox_counts_update AFTER UPDATE OF state ON bridge_outbox
  WHEN OLD.state IS NOT NEW.state BEGIN
  UPDATE bridge_outbox_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
  INSERT INTO bridge_outbox_counts (source, state, n) VALUES (NEW.source, NEW.state, 1)
    ON CONFLICT (source, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS bridge_outbox_counts_delete AFTER DELETE ON bridge_outbox BEGIN
  UPDATE bridge_outbox_counts SET n = n - 1 WHERE source = OLD.source AND state = OLD.state;
END;
`;

/** Creates the tables; a file from before the outbox counts gets them counted once, in the same transaction. */
function createTables(db: Database.Database): void {
  const counted = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bridge_outbox_counts'").get() !== undefined;
  db.transaction(() => {
    db.exec(DDL);
    if (!counted) db.exec("INSERT INTO bridge_outbox_counts (source, state, n) SELECT source, state, count(*) FROM bridge_outbox GROUP BY source, state");
    // A file from before attachments were written back: its plans carry no files.
    const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('bridge_outbox')").all();
    if (!columns.some((c) => c.name === "files")) db.exec("ALTER TABLE bridge_outbox ADD COLUMN files TEXT");
  })();
}

/** Answers by local path, in canonical value form (field-codec.ts). */
export type Answers = Map<string, CborValue>;

/** What the local server holds for one record. */
export interface LocalCopy {
  readonly record: RecordId;
  /** Kobo `_id` (as text) or Central's logical instanceId (`__id`). */
  readonly localKey: string;
  /** The current version's instanceID on the local server. */
  readonly instanceId: string;
  readonly answers: Answers;
  readonly deleted: boolean;
}

/** create/edit/delete a submission; attach: only put files on the current version (servers that take files apart). */
export type WriteAction = "create" | "edit" | "delete" | "attach";

/** A file a write puts on the server; its bytes are read from the blob store by hash when sent. */
export interface PlannedFile {
  /** The file name the submission's answer gives. */
  readonly name: string;
  /** SHA-256, hex. */
  readonly hash: string;
  readonly size: number;
  readonly mime: string;
}

/** A write decided and persisted before it is sent, so a retry sends the same bytes. */
export interface WritePlan {
  readonly action: WriteAction;
  /** The instanceID the submission will have after the write (null for a delete). */
  readonly instanceId: string | null;
  readonly deprecatedId: string | null;
  readonly localKey: string | null;
  /** The XML to send (null for a delete). */
  readonly body: string | null;
  /** What the local copy becomes once the write lands. */
  readonly answers: Answers;
  /** The view change of the record this plan was made from. */
  readonly change: number;
  /** Files to put on the server with (Kobo) or after (Central) the XML. */
  readonly files: readonly PlannedFile[];
}

export type OutboxState = "pending" | "written" | "failed";

export interface OutboxEntry {
  readonly source: string;
  readonly record: RecordId;
  readonly state: OutboxState;
  readonly plan: WritePlan | null;
  readonly attempts: number;
  readonly nextAt: number;
  readonly lastError: string | null;
  readonly updatedAt: number;
  readonly writtenAt: number | null;
}

/**
 * Answers are stored as JSON text: they are local bookkeeping, never signed
 * or sent, and answer values (text, numbers, arrays, maps; never bytes) have
 * an exact JSON form that V8 reads and writes faster than CBOR.
 */
export function encodeAnswers(a: ReadonlyMap<string, CborValue>): string {
  return JSON.stringify(Object.fromEntries(a));
}

export function decodeAnswers(text: string): Answers {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new StoreCorruptError("a stored bridge answer set is unreadable");
  return new Map(Object.entries(v as Record<string, CborValue>));
}

interface OutboxRow {
  source: string; record_id: string; state: string; action: string | null; instance_id: string | null; deprecated_id: string | null;
  local_key: string | null; body: string | null; answers: string | null; plan_change: number | null; files: string | null; attempts: number;
  next_at: number; last_error: string | null; updated_at: number; written_at: number | null;
}

function rowToEntry(r: OutboxRow): OutboxEntry {
  const plan: WritePlan | null = r.action
    ? {
        action: r.action as WriteAction, instanceId: r.instance_id, deprecatedId: r.deprecated_id, localKey: r.local_key,
        body: r.body, answers: r.answers ? decodeAnswers(r.answers) : new Map(), change: r.plan_change ?? 0,
        files: r.files ? (JSON.parse(r.files) as PlannedFile[]) : [],
      }
    : null;
  return {
    source: r.source, record: r.record_id as RecordId, state: r.state as OutboxState, plan, attempts: r.attempts, nextAt: r.next_at,
    lastError: r.last_error, updatedAt: r.updated_at, writtenAt: r.written_at,
  };
}

export type BridgeStore = ReturnType<typeof createBridgeStore>;

/** Creates the bridge tables if needed and returns their accessors (call inside SqliteStore.atomically to combine writes). */
export function createBridgeStore(db: Database.Database) {
  createTables(db);
  const s = {
    getCursor: db.prepare<[string], { value: string }>("SELECT value FROM bridge_cursors WHERE key = ?"),
    setCursor: db.prepare("INSERT INTO bridge_cursors (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    local: db.prepare<[string, string], { local_key: string; instance_id: string; answers: string; deleted: number }>(
      "SELECT local_key, instance_id, answers, deleted FROM bridge_local WHERE source = ? AND record_id = ?",
    ),
    unkeyed: db.prepare<[string], { record_id: string }>(
      "SELECT record_id FROM bridge_local WHERE source = ? AND local_key = '' AND deleted = 0",
    ),
    localKeys: db.prepare<[string], { record_id: string; local_key: string; instance_id: string }>(
      "SELECT record_id, local_key, instance_id FROM bridge_local WHERE source = ? AND deleted = 0",
    ),
    putLocal: db.prepare(
      `INSERT INTO bridge_local (source, record_id, local_key, instance_id, answers, deleted) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, record_id) DO UPDATE SET local_key = excluded.local_key, instance_id = excluded.instance_id,
       answers = excluded.answers, deleted = excluded.deleted`,
    ),
    outbox: db.prepare<[string, string], OutboxRow>("SELECT * FROM bridge_outbox WHERE source = ? AND record_id = ?"),
    due: db.prepare<[string, number, number], OutboxRow>(
      "SELECT * FROM bridge_outbox WHERE source = ? AND state != 'written' AND next_at <= ? ORDER BY next_at LIMIT ?",
    ),
    markDirty: db.prepare(
      `INSERT INTO bridge_outbox (source, record_id, state, updated_at) VALUES (?, ?, 'pending', ?)
       ON CONFLICT (source, record_id) DO UPDATE SET state = CASE WHEN state = 'written' THEN 'pending' ELSE state END,
       next_at = CASE WHEN state = 'written' THEN 0 ELSE next_at END, attempts = CASE WHEN state = 'written' THEN 0 ELSE attempts END,
       updated_at = excluded.updated_at`,
    ),
    setPlan: db.prepare(
      `UPDATE bridge_outbox SET action = ?, instance_id = ?, deprecated_id = ?, local_key = ?, body = ?, answers = ?, plan_change = ?,
       files = ?, updated_at = ? WHERE source = ? AND record_id = ?`,
    ),
    clearPlan: db.prepare(
      `UPDATE bridge_outbox SET action = NULL, instance_id = NULL, deprecated_id = NULL, local_key = NULL, body = NULL, answers = NULL,
       plan_change = NULL, files = NULL, updated_at = ? WHERE source = ? AND record_id = ?`,
    ),
    setState: db.prepare(
      "UPDATE bridge_outbox SET state = ?, attempts = ?, next_at = ?, last_error = ?, updated_at = ? WHERE source = ? AND record_id = ?",
    ),
    written: db.prepare(
      `UPDATE bridge_outbox SET state = 'written', action = NULL, instance_id = NULL, deprecated_id = NULL, local_key = NULL, body = NULL,
       answers = NULL, plan_change = NULL, files = NULL, attempts = 0, next_at = 0, last_error = NULL, updated_at = ?, written_at = ?
       WHERE source = ? AND record_id = ?`,
    ),
    counts: db.prepare<[], { source: string; state: string; n: number }>("SELECT source, state, n FROM bridge_outbox_counts WHERE n > 0"),
    list: db.prepare<[string, number], OutboxRow>("SELECT * FROM bridge_outbox WHERE state = ? ORDER BY updated_at DESC LIMIT ?"),
  };

  return {
    cursor<T>(key: string): T | undefined {
      const row = s.getCursor.get(key);
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    setCursor(key: string, value: unknown): void {
      s.setCursor.run(key, JSON.stringify(value));
    },
    local(source: string, record: RecordId): LocalCopy | undefined {
      const r = s.local.get(source, record);
      return r
        ? { record, localKey: r.local_key, instanceId: r.instance_id, answers: decodeAnswers(r.answers), deleted: r.deleted === 1 }
        : undefined;
    },
    /** Live local copies of a source: local key → record and current instanceID. */
    liveLocalKeys(source: string): Map<string, { record: RecordId; instanceId: string }> {
      const out = new Map<string, { record: RecordId; instanceId: string }>();
      for (const r of s.localKeys.iterate(source)) out.set(r.local_key, { record: r.record_id as RecordId, instanceId: r.instance_id });
      return out;
    },
    /** Live copies whose local key is not known yet (see PollPass.unkeyed). */
    unkeyedRecords(source: string): RecordId[] {
      return s.unkeyed.all(source).map((r) => r.record_id as RecordId);
    },
    putLocal(source: string, c: LocalCopy): void {
      s.putLocal.run(source, c.record, c.localKey, c.instanceId, encodeAnswers(c.answers), c.deleted ? 1 : 0);
    },
    outbox(source: string, record: RecordId): OutboxEntry | undefined {
      const r = s.outbox.get(source, record);
      return r ? rowToEntry(r) : undefined;
    },
    /** Entries not yet written whose retry time has come. */
    due(source: string, now: number, limit: number): OutboxEntry[] {
      return s.due.all(source, now, limit).map(rowToEntry);
    },
    /** Marks a record as needing a write (a written entry becomes pending again; a failing one keeps its back-off). */
    markDirty(source: string, record: RecordId, now: number): void {
      s.markDirty.run(source, record, now);
    },
    setPlan(source: string, record: RecordId, p: WritePlan, now: number): void {
      const files = p.files.length > 0 ? JSON.stringify(p.files) : null;
      s.setPlan.run(p.action, p.instanceId, p.deprecatedId, p.localKey, p.body, encodeAnswers(p.answers), p.change, files, now, source, record);
    },
    clearPlan(source: string, record: RecordId, now: number): void {
      s.clearPlan.run(now, source, record);
    },
    setState(source: string, record: RecordId, state: OutboxState, attempts: number, nextAt: number, error: string | null, now: number): void {
      s.setState.run(state, attempts, nextAt, error, now, source, record);
    },
    markWritten(source: string, record: RecordId, now: number): void {
      s.written.run(now, now, source, record);
    },
    /** Entry counts by source and state, for status. */
    counts(): { source: string; state: OutboxState; n: number }[] {
      return s.counts.all().map((r) => ({ source: r.source, state: r.state as OutboxState, n: r.n }));
    },
    list(state: OutboxState, limit: number): OutboxEntry[] {
      return s.list.all(state, limit).map(rowToEntry);
    },
  };
}
