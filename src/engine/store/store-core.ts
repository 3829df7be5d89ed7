/**
 * What every part of the store shares: the SQLite file (WAL, schema
 * migrated), the author registry and the caches kept beside it (gap buffer,
 * vocabularies, removals), counters and meta keys, the view's change
 * sequence, the cached frontier digest, and the one transaction wrapper that
 * reloads the caches when a transaction rolls back.
 */
import Database from "better-sqlite3";
import type { Signer } from "../crypto.js";
import type { AuthorId } from "../ids.js";
import { AuthorRegistry } from "./author-registry.js";
import { createBlobStore, type BlobStore } from "./blob-store.js";
import { createGapBuffer, type GapBuffer } from "./gap-buffer.js";
import type { AuthorIndex } from "./record-codec.js";
import { createRemovalIndex, type RemovalIndex } from "./removal-index.js";
import { migrate } from "./schema.js";
import { StoreCorruptError } from "./store-corrupt-error.js";
import type { VerifyPool } from "./verify-pool.js";
import { createVocabularyIndex, type VocabularyIndex } from "./vocabulary-index.js";

/** SQLite page cache, in KiB (negative: a size, not a page count): bounded memory at a million events. */
const PAGE_CACHE_KIB = 16_000;

export interface StoreOptions {
  /** SQLite file path, or ":memory:" for tests. */
  readonly path: string;
  /** This site's identity; required to author local events. */
  readonly signer?: Signer;
  /** Physical clock in ms; injected for tests and simulations. */
  readonly now?: () => number;
  /** "full" (default) survives power loss; "normal" survives process crashes only. */
  readonly durability?: "full" | "normal";
  /** See HlcClockOptions.maxForwardSkewMs; none (Infinity) unless given. A site passes its config's (DEFAULT_MAX_FORWARD_SKEW_MS by default). */
  readonly maxForwardSkewMs?: number;
  /** Where batches' signatures are checked in parallel; null checks every one inline. Defaults to the shared pool. */
  readonly verifyPool?: VerifyPool | null;
}

/**
 * The shared parts. Invariant: the caches (authors, gap, vocabularies,
 * removals) match the file outside a transaction; every write goes through
 * `transaction`, which restores them if it rolls back.
 */
export interface StoreCore {
  readonly db: Database.Database;
  readonly now: () => number;
  readonly signer: Signer | undefined;
  readonly authors: AuthorRegistry;
  /** Author rows by number and back, for the stored (local) form of record states. */
  readonly authorIndex: AuthorIndex;
  readonly gap: GapBuffer;
  readonly vocabularies: VocabularyIndex;
  /** Removal events held and the cuts they make (removal-rule.ts). */
  readonly removals: RemovalIndex;
  /** Attachment bytes by hash (they travel apart from the events). */
  readonly blobs: BlobStore;
  /** True for this site's own author, whose feed is never cut and whose stamps the clock issued. */
  isSelf(author: AuthorId): boolean;
  /** Adds `n` to a persisted counter (nothing for 0). */
  bump(name: string, n: number): void;
  /** Every persisted counter by name. */
  counterValues(): Record<string, number>;
  /** Sets a row of the meta table. */
  setMeta(key: string, value: Buffer | string): void;
  /** A row of the meta table, if set. */
  meta(key: string): Buffer | string | undefined;
  /** Hands out the next number of the view's change sequence (records.changed). */
  nextChange(): number;
  /** The newest number of the change sequence handed out. */
  lastChange(): number;
  /** The frontier digest, from `compute` unless cached since the last frontierChanged(). */
  digest(compute: () => Buffer): Buffer;
  /** Forgets the cached digest: a head, a member or a cut changed. */
  frontierChanged(): void;
  /** Runs `fn` in one transaction (nested ones join it); on failure the caches are reloaded from the rolled-back file. */
  transaction<T>(fn: () => T): T;
}

/** Opens the file, migrates it and loads the caches. */
export function openStoreCore(options: StoreOptions): StoreCore {
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.durability === "normal" ? "NORMAL" : "FULL"}`);
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  migrate(db);
  const now = options.now ?? Date.now;
  const stmt = {
    counter: db.prepare("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"),
    counters: db.prepare<[], { name: string; value: number }>("SELECT name, value FROM counters"),
    setMeta: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    meta: db.prepare<[string], { value: Buffer | string }>("SELECT value FROM meta WHERE key = ?"),
  };
  const authors = new AuthorRegistry(db);
  const authorIndex: AuthorIndex = {
    ixOf: (author) => {
      const a = authors.get(author);
      if (!a) throw new StoreCorruptError(`a record state refers to unknown author ${author}`);
      return a.ix;
    },
    authorOf: (ix) => authors.byRow(ix).author,
  };
  const vocabularies = createVocabularyIndex(db);
  const gap = createGapBuffer(db);
  const blobs = createBlobStore(db, now);
  let lastChange = (db.prepare("SELECT max(seq) AS m FROM view_changes").get() as { m: number | null }).m ?? 0;
  const removals = createRemovalIndex(db);
  let digest: Buffer | null = null;
  const self = options.signer?.author;
  return {
    db, now, signer: options.signer, authors, authorIndex, gap, vocabularies, removals, blobs,
    isSelf: (author) => author === self,
    bump: (name, n) => void (n !== 0 && stmt.counter.run(name, n)),
    counterValues: () => Object.fromEntries(stmt.counters.all().map((r) => [r.name, r.value])),
    setMeta: (key, value) => void stmt.setMeta.run(key, value),
    meta: (key) => stmt.meta.get(key)?.value,
    nextChange: () => ++lastChange,
    lastChange: () => lastChange,
    digest: (compute) => (digest ??= compute()),
    frontierChanged: () => void (digest = null),
    transaction<T>(fn: () => T): T {
      try {
        return db.transaction(fn)();
      } catch (err) {
        authors.reload();
        gap.reload();
        vocabularies.reload();
        removals.reload();
        digest = null;
        throw err;
      }
    },
  };
}
