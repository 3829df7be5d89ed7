/**
 * The authors a store knows, cached from the `authors` table: members (whose
 * events it accepts and relays) and removed members (whose stored events stay).
 * Each row carries its feed's head, which the store advances as it applies.
 */
import type Database from "better-sqlite3";
import { AUTHOR_SHORT_BYTES } from "../constants.js";
import { shortTag } from "../frontier.js";
import { hexToBytes, toAuthorId, type AuthorId } from "../ids.js";
import { StoreCorruptError } from "./store-corrupt-error.js";

/** The newest event of a feed held by the store (seq 0: none). */
export interface Head {
  seq: number;
  id: Buffer | null;
  wall: number;
  counter: number;
}

/** One author as the store sees it. Invariant: `ix` is its row in `authors`; `short` is the first bytes of `key`. */
export interface AuthorRow {
  readonly ix: number;
  readonly author: AuthorId;
  readonly key: Buffer;
  readonly short: Buffer;
  name: string | null;
  member: boolean;
  head: Head;
}

/** A membership change that would make short tags ambiguous. */
export class MembershipError extends Error {
  override readonly name = "MembershipError";
}

interface Row {
  ix: number; key: Buffer; short: Buffer; name: string | null; member: number;
  head_seq: number; head_id: Buffer | null; head_wall: number; head_counter: number;
}

export class AuthorRegistry {
  private readonly byAuthor = new Map<AuthorId, AuthorRow>();
  private readonly byIx = new Map<number, AuthorRow>();
  private readonly byShort = new Map<string, AuthorRow>();
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      all: db.prepare<[], Row>("SELECT * FROM authors"),
      insert: db.prepare("INSERT INTO authors (key, short, name, member) VALUES (?, ?, ?, 1)"),
      setMember: db.prepare("UPDATE authors SET member = ?, name = COALESCE(?, name) WHERE ix = ?"),
    };
    this.reload();
  }

  /** Re-reads every row: after a rolled-back transaction, the cache must match the file again. */
  reload(): void {
    this.byAuthor.clear();
    this.byIx.clear();
    this.byShort.clear();
    for (const r of this.stmt.all.all()) {
      this.index({
        ix: r.ix, author: toAuthorId(r.key), key: r.key, short: r.short, name: r.name, member: r.member === 1,
        head: { seq: r.head_seq, id: r.head_id, wall: r.head_wall, counter: r.head_counter },
      });
    }
  }

  private index(a: AuthorRow): void {
    this.byAuthor.set(a.author, a);
    this.byIx.set(a.ix, a);
    if (a.member) this.byShort.set(a.short.toString("hex"), a);
  }

  get(author: AuthorId): AuthorRow | undefined {
    return this.byAuthor.get(author);
  }

  /** The author at row `ix`; the store only holds rows it wrote, so a miss is corruption. */
  byRow(ix: number): AuthorRow {
    const a = this.byIx.get(ix);
    if (!a) throw new StoreCorruptError(`a row refers to unknown author row ${ix}`);
    return a;
  }

  /** The member whose key starts with `short`, if any. */
  byShortTag(short: Uint8Array): AuthorRow | undefined {
    return this.byShort.get(Buffer.from(short).toString("hex"));
  }

  all(): IterableIterator<AuthorRow> {
    return this.byAuthor.values();
  }

  /** Makes `author` a member. Refuses a key whose short tag collides with another member's. */
  add(author: AuthorId, name?: string): void {
    const existing = this.byAuthor.get(author);
    const short = shortTag(author);
    const clash = this.byShort.get(short.toString("hex"));
    if (clash && clash.author !== author) {
      throw new MembershipError(
        `member ${author} shares its first ${AUTHOR_SHORT_BYTES} bytes with member ${clash.author}; generate a new identity for one of them`,
      );
    }
    if (existing) {
      this.stmt.setMember.run(1, name ?? null, existing.ix);
      existing.member = true;
      if (name !== undefined) existing.name = name;
      this.index(existing);
      return;
    }
    const info = this.stmt.insert.run(hexToBytes(author), short, name ?? null);
    this.index({
      ix: Number(info.lastInsertRowid), author, key: hexToBytes(author), short: Buffer.from(short), name: name ?? null,
      member: true, head: { seq: 0, id: null, wall: 0, counter: 0 },
    });
  }

  /** Ends `author`'s membership; its row and stored events stay. */
  remove(author: AuthorId): void {
    const a = this.byAuthor.get(author);
    if (!a) return;
    this.stmt.setMember.run(0, null, a.ix);
    a.member = false;
    this.byShort.delete(a.short.toString("hex"));
  }
}
