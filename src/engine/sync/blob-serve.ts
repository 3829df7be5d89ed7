/**
 * The chunks this station owes: whoever holds a whole blob answers a want for
 * it, its own or not (store-and-forward), after a random back-off; a chunk
 * overheard from another station meanwhile is struck, so one chunk sent
 * serves every station that wanted it. What is owed is kept per blob as one
 * set of chunk ranges (every asker's together: a chunk is broadcast), sent
 * lowest index first. A chunk sent within `crossMs` is not sent again for a
 * want that crossed it on the way.
 */
import { BLOB_CHUNK_BYTES, BLOB_PREFIX_BYTES, chunkCount, type BlobChunkMessage, type BlobWantMessage } from "./blob-messages.js";
import { rangeSetAdd, rangeSetRemove, rangeSetSize, type RangeSet } from "./range-set.js";

/** Blobs owed at once, at most: a bound on memory whatever wants are heard; a want beyond it is asked again later. */
export const MAX_OWED_BLOBS = 8;

/** What the server reads from the blob store. */
export interface HeldBlobs {
  byPrefix(prefix: Uint8Array): { hash: Uint8Array; size: number } | null;
  slice(hash: Uint8Array, offset: number, length: number): Uint8Array | null;
}

export interface BlobServeOptions {
  readonly blobs: HeldBlobs;
  readonly random: () => number;
  /** Back-off before answering, long enough to overhear another holder's chunks. */
  readonly answerDelayMs: number;
  readonly crossMs: number;
}

interface Owed {
  readonly hash: Uint8Array;
  readonly size: number;
  chunks: RangeSet;
  due: number;
}

export class BlobServe {
  private readonly owed = new Map<string, Owed>();
  /** Chunks sent within crossMs, per blob (by prefix), and when. */
  private readonly recent = new Map<string, Map<number, number>>();

  constructor(private readonly o: BlobServeOptions) {}

  /** A want heard: owed if we hold the blob. Returns whether we do. */
  want(m: BlobWantMessage, now: number): boolean {
    const key = Buffer.from(m.prefix).toString("hex");
    let owed = this.owed.get(key);
    if (!owed) {
      const held = this.owed.size < MAX_OWED_BLOBS ? this.o.blobs.byPrefix(m.prefix) : null;
      if (!held) return false;
      owed = { hash: held.hash, size: held.size, chunks: [], due: Number.POSITIVE_INFINITY };
    }
    const last = chunkCount(owed.size) - 1;
    for (const [from, to] of m.ranges) if (from <= last) owed.chunks = rangeSetAdd(owed.chunks, from, Math.min(to, last));
    for (const i of this.sentLately(key, now).keys()) owed.chunks = rangeSetRemove(owed.chunks, i, i);
    if (owed.chunks.length === 0) return true;
    owed.due = Math.min(owed.due, now + this.o.random() * this.o.answerDelayMs);
    this.owed.set(key, owed);
    return true;
  }

  /** Chunk `index` of the blob was heard from another station: no need to send it. Returns whether it was owed. */
  overheard(prefix: Uint8Array, index: number): boolean {
    const key = Buffer.from(prefix).toString("hex");
    const owed = this.owed.get(key);
    if (!owed) return false;
    const before = rangeSetSize(owed.chunks);
    owed.chunks = rangeSetRemove(owed.chunks, index, index);
    if (owed.chunks.length === 0) this.owed.delete(key);
    return rangeSetSize(owed.chunks) < before;
  }

  /** The chunk due now, if any: of the blob owed longest, its lowest owed index. */
  next(now: number): BlobChunkMessage | undefined {
    let first: [string, Owed] | undefined;
    for (const e of this.owed) if (e[1].due <= now && (!first || e[1].due < first[1].due)) first = e;
    if (!first) return undefined;
    const [key, owed] = first;
    const index = (owed.chunks[0] as readonly [number, number])[0];
    owed.chunks = rangeSetRemove(owed.chunks, index, index);
    if (owed.chunks.length === 0) this.owed.delete(key);
    const bytes = this.o.blobs.slice(owed.hash, index * BLOB_CHUNK_BYTES, BLOB_CHUNK_BYTES);
    if (!bytes || bytes.length === 0) {
      this.owed.delete(key); // gone from the store
      return undefined;
    }
    for (const k of [...this.recent.keys()]) this.sentLately(k, now);
    this.recent.set(key, this.sentLately(key, now).set(index, now));
    return { type: "blob-chunk", prefix: owed.hash.subarray(0, BLOB_PREFIX_BYTES), index, bytes };
  }

  /** The chunks of a blob sent within crossMs (older ones forgotten). */
  private sentLately(key: string, now: number): Map<number, number> {
    const sent = this.recent.get(key) ?? new Map<number, number>();
    for (const [i, at] of sent) if (at <= now - this.o.crossMs) sent.delete(i);
    if (sent.size === 0) this.recent.delete(key);
    return sent;
  }

  nextWake(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const o of this.owed.values()) t = Math.min(t, o.due);
    return t;
  }

  get size(): number {
    return this.owed.size;
  }
}
