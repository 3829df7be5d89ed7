/**
 * The removal events a store holds (kind 5), copied into the `removals`
 * table as their events are written, and the cuts they make (removal-rule.ts),
 * cached in memory: the ingest path asks for a feed's cut once per event.
 */
import type Database from "better-sqlite3";
import type { SignedEvent } from "../event.js";
import { hexToBytes, toAuthorId, type AuthorId } from "../ids.js";
import { removalCuts, type RemovalFact } from "../removal-rule.js";

/** DDL of the table (schema 6). Authors by key, so a removal of a member this store never met is kept too. */
export const REMOVALS_DDL = `
CREATE TABLE IF NOT EXISTS removals (
  remover BLOB NOT NULL,
  seq     INTEGER NOT NULL,
  wall    INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  member  BLOB NOT NULL,
  after   INTEGER NOT NULL,
  PRIMARY KEY (remover, seq)
) WITHOUT ROWID;
`;

export interface RemovalIndex {
  /** The last valid seq of `author`'s feed; +Infinity when it is not removed. */
  cutOf(author: AuthorId): number;
  /** Every removal event held, for status pages. */
  facts(): readonly RemovalFact[];
  /** Every removed member and its cut. */
  cuts(): ReadonlyMap<AuthorId, number>;
  /** Records a removal event just written to the feed (inside its transaction); recomputes the cuts. */
  add(ev: Pick<SignedEvent, "author" | "seq" | "hlc"> & { body: { member: AuthorId; after: number } }): void;
  /** Forgets `author`'s removal events above `seq` (its feed was cut there); recomputes the cuts. */
  dropAbove(author: AuthorId, seq: number): void;
  /** Re-reads the table (after a rolled-back transaction). */
  reload(): void;
}

interface Row {
  remover: Buffer;
  seq: number;
  wall: number;
  counter: number;
  member: Buffer;
  after: number;
}

export function createRemovalIndex(db: Database.Database): RemovalIndex {
  const stmt = {
    all: db.prepare<[], Row>("SELECT remover, seq, wall, counter, member, after FROM removals"),
    insert: db.prepare("INSERT OR IGNORE INTO removals (remover, seq, wall, counter, member, after) VALUES (?, ?, ?, ?, ?, ?)"),
    dropAbove: db.prepare("DELETE FROM removals WHERE remover = ? AND seq > ?"),
  };
  let facts: RemovalFact[] = [];
  let cuts = new Map<AuthorId, number>();

  function reload(): void {
    facts = stmt.all.all().map((r) => ({
      remover: toAuthorId(r.remover), seq: r.seq, wall: r.wall, counter: r.counter, member: toAuthorId(r.member), after: r.after,
    }));
    cuts = removalCuts(facts);
  }
  reload();

  return {
    cutOf: (author) => cuts.get(author) ?? Number.POSITIVE_INFINITY,
    facts: () => facts,
    cuts: () => cuts,
    add(ev) {
      stmt.insert.run(hexToBytes(ev.author), ev.seq, ev.hlc.wall, ev.hlc.counter, hexToBytes(ev.body.member), ev.body.after);
      reload();
    },
    dropAbove(author, seq) {
      if (stmt.dropAbove.run(hexToBytes(author), seq).changes > 0) reload();
    },
    reload,
  };
}
