/**
 * The SQLite schema. One file per site; WAL mode; every ingest batch is one
 * transaction, so a crash loses nothing that a caller saw acknowledged.
 */
import type Database from "better-sqlite3";
import { decodeStrict } from "../cbor.js";
import { KIND, parseBody } from "../event.js";
import { parseVocabulary } from "../vocabulary.js";
import { BLOB_DDL } from "./blob-store.js";
import { REMOVALS_DDL } from "./removal-index.js";

export const SCHEMA_VERSION = 7;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value BLOB
) WITHOUT ROWID;

-- Every author this store knows: members, and removed members whose events stay.
CREATE TABLE IF NOT EXISTS authors (
  ix           INTEGER PRIMARY KEY,
  key          BLOB NOT NULL UNIQUE,
  short        BLOB NOT NULL,
  name         TEXT,
  member       INTEGER NOT NULL DEFAULT 1,
  head_seq     INTEGER NOT NULL DEFAULT 0,
  head_id      BLOB,
  head_wall    INTEGER NOT NULL DEFAULT 0,
  head_counter INTEGER NOT NULL DEFAULT 0
);

-- The feeds: contiguous from seq 1 per author, chain verified at ingest.
-- A rowid table: events (~0.5 KB) append in arrival order, and only the small
-- (author_ix, seq) key index takes an insert per feed. (As WITHOUT ROWID the
-- interior pages held whole rows, ~6 per page: a deep tree, and every feed's
-- appends split pages in the middle of it.)
CREATE TABLE IF NOT EXISTS events (
  author_ix   INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  id          BLOB NOT NULL,
  wall        INTEGER NOT NULL,
  counter     INTEGER NOT NULL,
  kind        INTEGER NOT NULL,
  body        BLOB NOT NULL,
  sig         BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (author_ix, seq)
);

-- Events that arrived before their predecessor. Bounded; wire items wait here raw.
CREATE TABLE IF NOT EXISTS gap_buffer (
  author_ix   INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  digest      BLOB NOT NULL,
  form        INTEGER NOT NULL, -- 0 wire item, 1 full signed event
  item        BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (author_ix, seq, digest)
) WITHOUT ROWID;

-- Evidence of an author signing two different events at one seq.
CREATE TABLE IF NOT EXISTS forks (
  author_ix   INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  other_id    BLOB NOT NULL,
  kept_id     BLOB,
  other_event BLOB NOT NULL,
  detected_at INTEGER NOT NULL,
  PRIMARY KEY (author_ix, seq, other_id)
) WITHOUT ROWID;

-- The materialized view: one state per record, in the store's compact local
-- form (record-codec.ts: stamps name authors by authors.ix; the canonical form
-- is rebuilt on read). A rowid table keyed by a local row number, so a new
-- record appends to the table and to records_by_type (SQLite orders equal
-- types by rowid); only the UNIQUE index on record_id (random uuids) takes
-- random inserts.
-- "changed" is the view's change sequence: every state change of a record
-- gives it the next number (and a row in view_changes), so a reader (the
-- bridge's writer) can follow "records changed since N" across restarts
-- without a hook to miss.
CREATE TABLE IF NOT EXISTS records (
  rix       INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL UNIQUE,
  type      TEXT NOT NULL,
  alive     INTEGER NOT NULL,
  state     BLOB NOT NULL,
  changed   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_by_type ON records (type);

-- The change sequence as an append-only log (an index on records.changed
-- would move an entry per update, a random page touch that cost ingest 11 %).
-- A row is current while records.changed still equals its seq.
CREATE TABLE IF NOT EXISTS view_changes (
  seq INTEGER PRIMARY KEY,
  rix INTEGER NOT NULL
);

-- Records that left the view (schema 7): a removed member's voided events
-- were all that wrote them, so no state remains. Their change (also logged in
-- view_changes, under the rix they had) names them here, so a reader of the
-- change sequence learns they are gone; the newest such change per record.
-- A row is current while no record of that id is in records again.
CREATE TABLE IF NOT EXISTS view_gone (
  seq       INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL UNIQUE,
  type      TEXT NOT NULL
);

-- Every write per record, for the conflict log's race check, keyed by the
-- record's rix so a new record's first write appends. "keys" is a bitmap of
-- the positions of the written fields (or attachments) in the record's state;
-- rows are ~30 bytes, so WITHOUT ROWID (one b-tree, no separate key index).
CREATE TABLE IF NOT EXISTS record_writes (
  rix          INTEGER NOT NULL,
  author_ix    INTEGER NOT NULL,
  seq          INTEGER NOT NULL,
  wall         INTEGER NOT NULL,
  counter      INTEGER NOT NULL,
  base_wall    INTEGER,
  base_counter INTEGER,
  kind         INTEGER NOT NULL,
  keys         BLOB NOT NULL,
  PRIMARY KEY (rix, author_ix, seq)
) WITHOUT ROWID;

-- Values that lost a concurrent race, for the admin.
CREATE TABLE IF NOT EXISTS conflicts (
  record_id TEXT NOT NULL,
  key       TEXT NOT NULL,
  author_ix INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  wall      INTEGER NOT NULL,
  counter   INTEGER NOT NULL,
  value     BLOB NOT NULL,
  PRIMARY KEY (record_id, key, author_ix, seq)
) WITHOUT ROWID;
-- The newest entries first, for the admin page, without reading the whole log.
CREATE INDEX IF NOT EXISTS conflicts_by_wall ON conflicts (wall, counter);

-- The vocabulary events held (kind 4), by feed and record type, for the wire
-- codec (vocabulary.ts): a copy of their bodies, written with the event.
CREATE TABLE IF NOT EXISTS vocabularies (
  author_ix INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  type      TEXT NOT NULL,
  body      BLOB NOT NULL,
  PRIMARY KEY (author_ix, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vocabularies_by_type ON vocabularies (author_ix, type, seq);

-- Running totals of the view per record type: records alive and deleted, and
-- entries in the conflict log. Kept by triggers in the statement that changes
-- what they count (so in its transaction, whatever code path writes), so the
-- status API reads a few rows instead of counting every record and conflict.
CREATE TABLE IF NOT EXISTS view_counts (
  type      TEXT PRIMARY KEY,
  alive     INTEGER NOT NULL DEFAULT 0,
  deleted   INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS view_counts_insert AFTER INSERT ON records BEGIN
  INSERT INTO view_counts (type, alive, deleted) VALUES (NEW.type, NEW.alive, 1 - NEW.alive)
    ON CONFLICT (type) DO UPDATE SET alive = alive + excluded.alive, deleted = deleted + excluded.deleted;
END;
-- Most updates leave type and alive as they were: the WHEN keeps them free.
-- A record that changes type takes its conflict entries with it.
CREATE TRIGGER IF NOT EXISTS view_counts_update AFTER UPDATE OF type, alive ON records
  WHEN OLD.type IS NOT NEW.type OR OLD.alive IS NOT NEW.alive BEGIN
  UPDATE view_counts SET alive = alive - OLD.alive, deleted = deleted - (1 - OLD.alive),
    conflicts = conflicts - CASE WHEN OLD.type IS NEW.type THEN 0 ELSE (SELECT count(*) FROM conflicts WHERE record_id = OLD.record_id) END
    WHERE type = OLD.type;
  INSERT INTO view_counts (type, alive, deleted, conflicts)
    VALUES (NEW.type, NEW.alive, 1 - NEW.alive, CASE WHEN OLD.type IS NEW.type THEN 0 ELSE (SELECT count(*) FROM conflicts WHERE record_id = NEW.record_id) END)
    ON CONFLICT (type) DO UPDATE SET alive = alive + excluded.alive, deleted = deleted + excluded.deleted, conflicts = conflicts + excluded.conflicts;
END;
CREATE TRIGGER IF NOT EXISTS view_counts_delete AFTER DELETE ON records BEGIN
  UPDATE view_counts SET alive = alive - OLD.alive, deleted = deleted - (1 - OLD.alive),
    conflicts = conflicts - (SELECT count(*) FROM conflicts WHERE record_id = OLD.record_id) WHERE type = OLD.type;
END;
CREATE TRIGGER IF NOT EXISTS view_counts_conflict AFTER INSERT ON conflicts BEGIN
  UPDATE view_counts SET conflicts = conflicts + 1 WHERE type = (SELECT type FROM records WHERE record_id = NEW.record_id);
END;
CREATE TRIGGER IF NOT EXISTS view_counts_conflict_gone AFTER DELETE ON conflicts BEGIN
  UPDATE view_counts SET conflicts = conflicts - 1 WHERE type = (SELECT type FROM records WHERE record_id = OLD.record_id);
END;

CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Creates or checks the schema. A store written by a newer meshlogd is refused rather than damaged. */
export function migrate(db: Database.Database): void {
  db.exec(DDL);
  db.exec(BLOB_DDL);
  db.exec(REMOVALS_DDL);
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number } | undefined;
  if (row && row.value > SCHEMA_VERSION) {
    throw new Error(
      `the store was written by a newer meshlogd (schema ${row.value}, this one knows ${SCHEMA_VERSION}); upgrade meshlogd or point it at another data directory`,
    );
  }
  db.transaction(() => {
    if (row && row.value < 2) {
      // Schema 1 had no change sequence: number the existing records in row order.
      db.exec(
        "ALTER TABLE records ADD COLUMN changed INTEGER NOT NULL DEFAULT 0; UPDATE records SET changed = rix;" +
          "INSERT INTO view_changes (seq, rix) SELECT rix, rix FROM records;",
      );
    }
    if (row && row.value < 3) indexVocabularies(db);
    if (row && row.value < 4) countView(db);
    if (row && row.value < 6) indexRemovals(db);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
      SCHEMA_VERSION,
    );
  })();
}

/** Schema 3 had no running totals: count the view once (the one upgrade step that reads every record). */
function countView(db: Database.Database): void {
  db.exec(
    `DELETE FROM view_counts;
     INSERT INTO view_counts (type, alive, deleted) SELECT type, sum(alive), count(*) - sum(alive) FROM records GROUP BY type;
     UPDATE view_counts SET conflicts = (SELECT count(*) FROM conflicts c JOIN records r ON r.record_id = c.record_id WHERE r.type = view_counts.type);`,
  );
}

/** Before schema 6, a removal event (kind 5) was a newer peer's unknown kind: index those held (the store cuts at open). */
function indexRemovals(db: Database.Database): void {
  const insert = db.prepare("INSERT OR IGNORE INTO removals (remover, seq, wall, counter, member, after) SELECT key, ?, ?, ?, ?, ? FROM authors WHERE ix = ?");
  // all(), not iterate(): better-sqlite3 refuses the inserts below while a query is still being read.
  const rows = db.prepare("SELECT author_ix, seq, wall, counter, body FROM events WHERE kind = ?").all(KIND.removal) as Iterable<{
    author_ix: number;
    seq: number;
    wall: number;
    counter: number;
    body: Buffer;
  }>;
  for (const r of rows) {
    const d = decodeStrict(r.body);
    const body = d.ok ? parseBody(KIND.removal, d.value) : undefined;
    if (body && typeof body !== "string" && body.kind === "removal") {
      insert.run(r.seq, r.wall, r.counter, Buffer.from(body.member, "hex"), body.after, r.author_ix);
    }
  }
}

/** Schema 2 stored kind-4 events as an unknown kind (a newer peer's): index those that are vocabularies. */
function indexVocabularies(db: Database.Database): void {
  const insert = db.prepare("INSERT OR IGNORE INTO vocabularies (author_ix, seq, type, body) VALUES (?, ?, ?, ?)");
  // all(), not iterate(): see indexRemovals (a site publishes few vocabularies, so they fit in memory).
  const rows = db.prepare("SELECT author_ix, seq, body FROM events WHERE kind = ?").all(KIND.vocabulary) as Iterable<{
    author_ix: number;
    seq: number;
    body: Buffer;
  }>;
  for (const r of rows) {
    const d = decodeStrict(r.body);
    const v = d.ok ? parseVocabulary(d.value) : undefined;
    if (v) insert.run(r.author_ix, r.seq, v.type, r.body);
  }
}
