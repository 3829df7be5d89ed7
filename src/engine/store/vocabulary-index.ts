/**
 * The vocabulary events a store holds, indexed for the wire codec: which
 * vocabulary of a feed an item may be packed with (the newest for its record
 * type before it), and which one a received item names. Rows are written in
 * the same transaction as their event, so a rolled-back batch leaves none;
 * the parsed cache is dropped with the store's other caches on rollback.
 */
import type Database from "better-sqlite3";
import { decodeStrict, encodeCanonical } from "../cbor.js";
import type { VocabularyBody } from "../event.js";
import { createLexicon, parseVocabulary, vocabularyToCbor, type Lexicon } from "../vocabulary.js";
import type { FeedLexicon } from "../wire.js";

/** Parsed vocabularies kept in memory: a network has a few per site and record type. */
const CACHE_LIMIT = 256;

export interface VocabularyIndex {
  /** Records a vocabulary event being applied (inside the store's transaction). */
  add(authorIx: number, seq: number, body: VocabularyBody): void;
  /** The vocabulary at (author, seq), if that event is one. */
  at(authorIx: number, seq: number): Lexicon | undefined;
  /** The newest vocabulary of `type` in the feed strictly before `beforeSeq`. */
  latestBefore(authorIx: number, type: string, beforeSeq: number): FeedLexicon | undefined;
  /** Forgets cached entries (after a rollback). */
  reload(): void;
}

export function createVocabularyIndex(db: Database.Database): VocabularyIndex {
  const insert = db.prepare("INSERT OR REPLACE INTO vocabularies (author_ix, seq, type, body) VALUES (?, ?, ?, ?)");
  const get = db.prepare<[number, number], { body: Buffer }>("SELECT body FROM vocabularies WHERE author_ix = ? AND seq = ?");
  const latest = db.prepare<[number, string, number], { seq: number }>(
    "SELECT seq FROM vocabularies WHERE author_ix = ? AND type = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
  );
  const cache = new Map<string, Lexicon | null>();

  function at(authorIx: number, seq: number): Lexicon | undefined {
    const key = `${authorIx}:${seq}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const row = get.get(authorIx, seq);
    const decoded = row ? decodeStrict(row.body) : undefined;
    const parsed = decoded?.ok ? parseVocabulary(decoded.value) : undefined;
    const lexicon = parsed ? createLexicon(parsed.type, parsed.fields) : undefined;
    if (cache.size >= CACHE_LIMIT) cache.clear();
    if (row) cache.set(key, lexicon ?? null); // absent rows are not cached: the event may arrive later
    return lexicon;
  }

  return {
    add(authorIx, seq, body) {
      insert.run(authorIx, seq, body.type, encodeCanonical(vocabularyToCbor(body.type, body.fields)));
      cache.delete(`${authorIx}:${seq}`);
    },
    at,
    latestBefore(authorIx, type, beforeSeq) {
      const row = latest.get(authorIx, type, beforeSeq);
      if (!row) return undefined;
      const lexicon = at(authorIx, row.seq);
      return lexicon ? { seq: row.seq, lexicon } : undefined;
    },
    reload() {
      cache.clear();
    },
  };
}
