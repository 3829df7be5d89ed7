/**
 * The chunks this station owes: whoever holds a whole blob answers a want for
 * it, its own or not (store-and-forward), after a random back-off; a station
 * fetching the blob answers for the chunks it holds already (a relay need
 * not wait for the whole blob: chunks flow down a line as they come). A
 * partial's chunks are unchecked until the whole blob hashes right, so a
 * forged chunk may be passed on; every fetcher checks the joined blob's
 * SHA-256 before storing it, so the worst a forgery costs is airtime. A chunk
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
  /** Blobs part-way received: their chunks are served too. */
  readonly partials: {
    byPrefix(prefix: Uint8Array): { hash: Uint8Array; size: number } | null;
    chunkIndices(hash: Uint8Array): number[];
    chunk(hash: Uint8Array, index: number): Uint8Array | null;
  };
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
  /** Chunk indices held when owed from a partial (only these are owed); absent for a whole blob. */
  readonly held?: ReadonlySet<number>;
}

export class BlobServe {
  private readonly owed = new Map<string, Owed>();
  /** Chunks sent within crossMs, per blob (by prefix), and when. */
  private readonly recent = new Map<string, Map<number, number>>();
  /** Chunks sent from partials (not yet checked against their blob's hash). */
  sentFromPartials = 0;

  constructor(private readonly o: BlobServeOptions) {}

  /** A want heard: owed if we hold the blob or some of its chunks. Returns whether any of what it asks is owed now. */
  want(m: BlobWantMessage, now: number): boolean {
    const key = Buffer.from(m.prefix).toString("hex");
    const known = this.owed.get(key);
    // A partial is looked at afresh: chunks came since, or it became whole.
    const owed = known && !known.held ? known : known || this.owed.size < MAX_OWED_BLOBS ? this.holding(m.prefix) : undefined;
    if (!owed) return false;
    const last = chunkCount(owed.size) - 1;
    let chunks = known?.chunks ?? [];
    for (const [from, to] of m.ranges) {
      if (from > last) continue;
      const asked: readonly (readonly [number, number])[] = owed.held ? heldWithin(owed.held, from, Math.min(to, last)) : [[from, Math.min(to, last)]];
      for (const [x, y] of asked) chunks = rangeSetAdd(chunks, x, y);
    }
    for (const i of this.sentLately(key, now).keys()) chunks = rangeSetRemove(chunks, i, i);
    if (chunks.length === 0) return false;
    this.owed.set(key, { ...owed, chunks, due: Math.min(known?.due ?? Number.POSITIVE_INFINITY, now + this.o.random() * this.o.answerDelayMs) });
    return true;
  }

  /** What we hold of the blob named by prefix: whole, or the chunks of its partial; nothing owed yet. */
  private holding(prefix: Uint8Array): Owed | undefined {
    const whole = this.o.blobs.byPrefix(prefix);
    if (whole) return { hash: whole.hash, size: whole.size, chunks: [], due: Number.POSITIVE_INFINITY };
    const part = this.o.blobs.partials.byPrefix(prefix);
    if (!part) return undefined;
    const held = new Set(this.o.blobs.partials.chunkIndices(part.hash));
    return held.size > 0 ? { hash: part.hash, size: part.size, chunks: [], due: Number.POSITIVE_INFINITY, held } : undefined;
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
    const bytes = this.chunkBytes(owed.hash, index);
    if (!bytes || bytes.length === 0) {
      this.owed.delete(key); // gone from the store
      return undefined;
    }
    if (owed.held) this.sentFromPartials++;
    for (const k of [...this.recent.keys()]) this.sentLately(k, now);
    this.recent.set(key, this.sentLately(key, now).set(index, now));
    return { type: "blob-chunk", prefix: owed.hash.subarray(0, BLOB_PREFIX_BYTES), index, bytes };
  }

  /** Chunk `index` of hash: from the whole blob, else from its partial (which may have become whole meanwhile, or been dropped). */
  private chunkBytes(hash: Uint8Array, index: number): Uint8Array | null {
    const whole = this.o.blobs.slice(hash, index * BLOB_CHUNK_BYTES, BLOB_CHUNK_BYTES);
    return whole && whole.length > 0 ? whole : this.o.blobs.partials.chunk(hash, index);
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

/** The runs of indices in `held` within [from, to], as ranges. */
function heldWithin(held: ReadonlySet<number>, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (const i of [...held].filter((x) => x >= from && x <= to).sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}
