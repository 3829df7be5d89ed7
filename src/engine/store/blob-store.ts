/**
 * Attachment bytes, content-addressed by SHA-256, in the site's SQLite file.
 *
 * The record side of an attachment is an event (kind "attachment": record,
 * field, hash, size, mime); the bytes are not part of any event and travel
 * apart (the bridge downloads them from the local server, the radio moves
 * them in chunks within the mapping's policy). A hash names one content, so
 * the bytes need no signature: whoever holds the metadata event can check
 * them. Nothing here is ever stored under a hash it does not match.
 */
import type Database from "better-sqlite3";
import { sha256 } from "../crypto.js";

/** What is held for one hash. */
export interface BlobInfo {
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
  /** Unix ms when the bytes arrived here. */
  readonly storedAt: number;
}

export interface BlobStats {
  readonly count: number;
  readonly bytes: number;
}

/** Why put() refused bytes. */
export class BlobHashMismatchError extends Error {
  constructor(expected: Uint8Array, actual: Uint8Array) {
    super(`attachment bytes do not match their hash: expected ${Buffer.from(expected).toString("hex")}, got ${Buffer.from(actual).toString("hex")}`);
    this.name = "BlobHashMismatchError";
  }
}

export interface BlobStore {
  /** True when the whole content of hash is held. */
  has(hash: Uint8Array): boolean;
  /** The bytes of hash, or null when not held. */
  get(hash: Uint8Array): Buffer | null;
  info(hash: Uint8Array): BlobInfo | null;
  /**
   * Stores bytes under their hash; returns false when already held.
   * Throws BlobHashMismatchError when hash is given and differs.
   */
  put(bytes: Uint8Array, mime: string, hash?: Uint8Array): boolean;
  stats(): BlobStats;
  /** The held blob whose hash starts with `prefix` (the first one in hash order if several do), or null. */
  byPrefix(prefix: Uint8Array): BlobInfo | null;
  /** `length` bytes of hash's content from `offset` (fewer at its end), or null when not held. */
  slice(hash: Uint8Array, offset: number, length: number): Buffer | null;
  /** Blobs being received in chunks (the radio), kept across restarts. */
  readonly partials: PartialBlobs;
}

/** A blob being received in chunks: what it will be, and how much of it is here. */
export interface PartialBlobInfo {
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
  /** Chunks held, and their bytes. */
  readonly chunks: number;
  readonly bytes: number;
}

/**
 * Chunks of blobs not yet whole, by hash and chunk index, in SQLite: a
 * restart resumes a half-received blob. Nothing here is ever returned as a
 * blob: `complete` joins the chunks in index order and stores them only if
 * they hash to the blob's hash; either way the partial is gone afterwards.
 */
export interface PartialBlobs {
  /** Starts (or keeps) a partial for hash; its size and mime are those of the first call. */
  begin(hash: Uint8Array, size: number, mime: string): void;
  /** Stores chunk `index` of a begun partial; false when it was held already or the partial was not begun. */
  addChunk(hash: Uint8Array, index: number, bytes: Uint8Array): boolean;
  /** Indices of the chunks held, ascending. */
  chunkIndices(hash: Uint8Array): number[];
  /** The partial whose hash starts with `prefix` (the first in hash order if several do), or null. */
  byPrefix(prefix: Uint8Array): { hash: Uint8Array; size: number } | null;
  /** The bytes of chunk `index` as received, or null when not held. Not checked: only the whole blob's hash vouches for them. */
  chunk(hash: Uint8Array, index: number): Buffer | null;
  /** Joins the chunks and stores the blob: "stored", or "mismatch" when they do not hash to it (they are discarded). */
  complete(hash: Uint8Array): "stored" | "mismatch" | "absent";
  /** Forgets a partial and its chunks. */
  drop(hash: Uint8Array): void;
  list(): PartialBlobInfo[];
}

/** The table; created by migrate() (schema.ts) through this DDL. */
export const BLOB_DDL = `
-- Attachment bytes by SHA-256 (blob-store.ts). Written whole, after the hash is checked.
CREATE TABLE IF NOT EXISTS blobs (
  hash      BLOB PRIMARY KEY,
  size      INTEGER NOT NULL,
  mime      TEXT NOT NULL,
  bytes     BLOB NOT NULL,
  stored_at INTEGER NOT NULL
);
-- Blobs part-way received by radio, and their chunks (blob-store.ts PartialBlobs).
CREATE TABLE IF NOT EXISTS blob_partials (
  hash       BLOB PRIMARY KEY,
  size       INTEGER NOT NULL,
  mime       TEXT NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_chunks (
  hash  BLOB NOT NULL,
  idx   INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (hash, idx)
) WITHOUT ROWID;
`;

/** The blob store over an open, migrated database. */
export function createBlobStore(db: Database.Database, now: () => number = Date.now): BlobStore {
  const stmt = {
    has: db.prepare<[Buffer], { one: number }>("SELECT 1 AS one FROM blobs WHERE hash = ?"),
    get: db.prepare<[Buffer], { bytes: Buffer }>("SELECT bytes FROM blobs WHERE hash = ?"),
    info: db.prepare<[Buffer], { hash: Buffer; size: number; mime: string; stored_at: number }>(
      "SELECT hash, size, mime, stored_at FROM blobs WHERE hash = ?",
    ),
    put: db.prepare("INSERT OR IGNORE INTO blobs (hash, size, mime, bytes, stored_at) VALUES (?, ?, ?, ?, ?)"),
    stats: db.prepare<[], { count: number; bytes: number | null }>("SELECT count(*) AS count, sum(size) AS bytes FROM blobs"),
    atOrAfter: db.prepare<[Buffer], { hash: Buffer; size: number; mime: string; stored_at: number }>(
      "SELECT hash, size, mime, stored_at FROM blobs WHERE hash >= ? ORDER BY hash LIMIT 1",
    ),
    slice: db.prepare<[number, number, Buffer], { part: Buffer }>("SELECT substr(bytes, ?, ?) AS part FROM blobs WHERE hash = ?"),
  };
  const key = (hash: Uint8Array) => Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);
  return {
    has: (hash) => stmt.has.get(key(hash)) !== undefined,
    get: (hash) => stmt.get.get(key(hash))?.bytes ?? null,
    info(hash) {
      const r = stmt.info.get(key(hash));
      return r ? { hash: r.hash, size: r.size, mime: r.mime, storedAt: r.stored_at } : null;
    },
    put(bytes, mime, hash) {
      const actual = sha256(bytes);
      if (hash && !actual.equals(key(hash))) throw new BlobHashMismatchError(hash, actual);
      return stmt.put.run(actual, bytes.byteLength, mime, key(bytes), now()).changes === 1;
    },
    stats() {
      const r = stmt.stats.get()!;
      return { count: r.count, bytes: r.bytes ?? 0 };
    },
    byPrefix(prefix) {
      const r = stmt.atOrAfter.get(key(prefix));
      if (!r || !r.hash.subarray(0, prefix.length).equals(key(prefix))) return null;
      return { hash: r.hash, size: r.size, mime: r.mime, storedAt: r.stored_at };
    },
    slice(hash, offset, length) {
      // substr counts from 1, and returns a BLOB for a BLOB column.
      const r = stmt.slice.get(offset + 1, length, key(hash));
      return r ? Buffer.from(r.part) : null;
    },
    partials: createPartialBlobs(db, now, (bytes, mime, hash) => {
      const actual = sha256(bytes);
      if (!actual.equals(key(hash))) return false;
      stmt.put.run(actual, bytes.byteLength, mime, key(bytes), now());
      return true;
    }),
  };
}

function createPartialBlobs(db: Database.Database, now: () => number, store: (bytes: Buffer, mime: string, hash: Uint8Array) => boolean): PartialBlobs {
  const stmt = {
    begin: db.prepare("INSERT OR IGNORE INTO blob_partials (hash, size, mime, started_at) VALUES (?, ?, ?, ?)"),
    one: db.prepare<[Buffer], { size: number; mime: string }>("SELECT size, mime FROM blob_partials WHERE hash = ?"),
    add: db.prepare("INSERT OR IGNORE INTO blob_chunks (hash, idx, bytes) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM blob_partials WHERE hash = ?)"),
    indices: db.prepare<[Buffer], { idx: number }>("SELECT idx FROM blob_chunks WHERE hash = ? ORDER BY idx"),
    atOrAfter: db.prepare<[Buffer], { hash: Buffer; size: number }>("SELECT hash, size FROM blob_partials WHERE hash >= ? ORDER BY hash LIMIT 1"),
    chunk: db.prepare<[Buffer, number], { bytes: Buffer }>("SELECT bytes FROM blob_chunks WHERE hash = ? AND idx = ?"),
    chunks: db.prepare<[Buffer], { bytes: Buffer }>("SELECT bytes FROM blob_chunks WHERE hash = ? ORDER BY idx"),
    dropChunks: db.prepare("DELETE FROM blob_chunks WHERE hash = ?"),
    dropPartial: db.prepare("DELETE FROM blob_partials WHERE hash = ?"),
    list: db.prepare<[], { hash: Buffer; size: number; mime: string; chunks: number; bytes: number | null }>(
      `SELECT p.hash, p.size, p.mime, count(c.idx) AS chunks, sum(length(c.bytes)) AS bytes
       FROM blob_partials p LEFT JOIN blob_chunks c ON c.hash = p.hash GROUP BY p.hash ORDER BY p.started_at, p.hash`,
    ),
  };
  const key = (hash: Uint8Array) => Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);
  const drop = db.transaction((hash: Buffer) => {
    stmt.dropChunks.run(hash);
    stmt.dropPartial.run(hash);
  });
  const complete = db.transaction((hash: Buffer): "stored" | "mismatch" | "absent" => {
    const p = stmt.one.get(hash);
    if (!p) return "absent";
    const bytes = Buffer.concat(stmt.chunks.all(hash).map((c) => c.bytes));
    const stored = bytes.length === p.size && store(bytes, p.mime, hash);
    drop(hash);
    return stored ? "stored" : "mismatch";
  });
  return {
    begin: (hash, size, mime) => void stmt.begin.run(key(hash), size, mime, now()),
    addChunk: (hash, index, bytes) => stmt.add.run(key(hash), index, key(bytes), key(hash)).changes === 1,
    chunkIndices: (hash) => stmt.indices.all(key(hash)).map((r) => r.idx),
    byPrefix(prefix) {
      const r = stmt.atOrAfter.get(key(prefix));
      return r && r.hash.subarray(0, prefix.length).equals(key(prefix)) ? { hash: r.hash, size: r.size } : null;
    },
    chunk: (hash, index) => stmt.chunk.get(key(hash), index)?.bytes ?? null,
    complete: (hash) => complete(key(hash)),
    drop: (hash) => drop(key(hash)),
    list: () => stmt.list.all().map((r) => ({ hash: r.hash, size: r.size, mime: r.mime, chunks: r.chunks, bytes: r.bytes ?? 0 })),
  };
}
