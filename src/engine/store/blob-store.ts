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
  };
}
