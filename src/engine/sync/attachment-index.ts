/**
 * The attachments of the store's view that may travel: the current
 * attachment of every field of every live record, by blob hash. Follows the
 * view's change sequence (a full scan once, then only what changed), so it
 * costs one indexed query when nothing did.
 */
import type { RecordId } from "../ids.js";
import { isAlive, type RecordState } from "../record-state.js";

/** What an attachment event says of one attachment: which record's field, and which blob. */
export interface AttachmentMeta {
  readonly record: RecordId;
  readonly type: string;
  readonly field: string;
  /** SHA-256 of the file. */
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
}

/** What the index reads from the store (the SQLite store has both). */
export interface ViewChanges {
  /**
   * Records changed after point `after` of the view's change sequence, oldest first, at most `limit`.
   * A null state: the record left the view (no write of it remains), so it names no attachment.
   */
  changedRecords(after: number, limit: number): { change: number; record: RecordId; state: RecordState | null }[];
  /** The newest point of the change sequence. */
  viewChangeSeq(): number;
}

/** Records read per query while catching up. */
const SCAN_BATCH = 500;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export class AttachmentIndex {
  private cursor = 0;
  /** Hashes each live record's attachments name (to take them out when it changes), and its type with them. */
  private readonly byRecord = new Map<RecordId, { readonly type: string; readonly hashes: string[] }>();
  /** Every attachment naming a hash, by the hash in hex. */
  private readonly byHash = new Map<string, AttachmentMeta[]>();

  constructor(private readonly view: ViewChanges) {}

  /** Catches up with the view; true when the attachments it holds changed (most record changes touch none). */
  refresh(): boolean {
    if (this.view.viewChangeSeq() <= this.cursor) return false;
    let changed = false;
    for (;;) {
      const rows = this.view.changedRecords(this.cursor, SCAN_BATCH);
      for (const r of rows) changed = (r.state ? this.update(r.state) : this.forget(r.record)) || changed;
      if (rows.length > 0) this.cursor = (rows.at(-1) as { change: number }).change;
      if (rows.length < SCAN_BATCH) break;
    }
    this.cursor = Math.max(this.cursor, this.view.viewChangeSeq());
    return changed;
  }

  /** Each hash named by a live record's current attachment, with every attachment that names it. */
  entries(): IterableIterator<[string, readonly AttachmentMeta[]]> {
    return this.byHash.entries();
  }

  get size(): number {
    return this.byHash.size;
  }

  /** Takes in a record's new state; true when its type or the hashes it names changed. */
  private update(s: RecordState): boolean {
    const before = this.byRecord.get(s.record);
    const after = isAlive(s) ? [...s.attachments.values()].map((a) => hex(a.hash)) : [];
    if (before ? before.type === s.type && before.hashes.join() === after.join() : after.length === 0) return false;
    this.forget(s.record);
    if (after.length === 0) return true;
    for (const [field, a] of s.attachments) {
      const meta: AttachmentMeta = { record: s.record, type: s.type, field, hash: a.hash, size: a.size, mime: a.mime };
      const h = hex(a.hash);
      const metas = this.byHash.get(h);
      if (metas) metas.push(meta);
      else this.byHash.set(h, [meta]);
    }
    this.byRecord.set(s.record, { type: s.type, hashes: after });
    return true;
  }

  /** Takes out the attachments `record` named; true when it named any. */
  private forget(record: RecordId): boolean {
    const before = this.byRecord.get(record);
    if (!before) return false;
    for (const h of before.hashes) {
      const left = (this.byHash.get(h) ?? []).filter((m) => m.record !== record);
      if (left.length > 0) this.byHash.set(h, left);
      else this.byHash.delete(h);
    }
    this.byRecord.delete(record);
    return true;
  }
}
