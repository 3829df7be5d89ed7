/**
 * The blobs this station fetches, and how: the wanted ones (named by a live
 * record's attachment, let through by the site's policy, not held) are
 * fetched a few at a time. For each, a want lists the chunks still lacking;
 * whoever holds the blob answers. Chunks are kept on disk as they come
 * (overheard ones too: one chunk sent serves every station that wanted it),
 * so a restart resumes; when all are here the blob is joined, checked
 * against its SHA-256 and stored, or discarded and fetched again.
 *
 * A want is repeated only when chunks stop coming for a while (the holder
 * sends one chunk per blob gap at most), doubling while nothing comes; after
 * MAX_WANT_TRIES unanswered ones a blob with nothing received is parked, so
 * a blob nobody holds does not keep a slot or the air busy.
 */
import type { PartialBlobs } from "../store/blob-store.js";
import { BLOB_PREFIX_BYTES, blobWantMessage, chunkCount, chunkLength, type BlobChunkMessage, type BlobWantMessage } from "./blob-messages.js";
import type { RangeSet } from "./range-set.js";

/**
 * Blobs received at once, at most: a partial holds a slot until it is whole,
 * and several holders may each serve a different one.
 */
export const MAX_PARTIAL_BLOBS = 4;

/** Bytes of the partials at once, at most (their declared sizes): twice the largest max_bytes a mapping accepts (16 MiB). */
export const MAX_PARTIAL_BYTES = 32 * 1024 * 1024;

/** Unanswered wants before a blob with nothing received gives up its slot. */
const MAX_WANT_TRIES = 6;

/** How long a parked blob waits before it is wanted again (a holder may come in range meanwhile). */
const PARK_MS = 6 * 3_600_000;

/** A want is repeated after this many of the usual pauses between chunks without one. */
const PAUSES_BEFORE_ASKING = 3;

/** Doublings of the retry wait at most. */
const MAX_RETRY_DOUBLINGS = 6;

/** A blob worth fetching: its hash, size and mime from an attachment event. */
export interface WantedBlob {
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
}

export interface BlobFetchOptions {
  readonly partials: PartialBlobs;
  readonly has: (hash: Uint8Array) => boolean;
  readonly random: () => number;
  /** Wait for a first answer, and the least wait before asking again; doubles per unanswered want. */
  readonly retryMs: number;
  /** The least time between two chunks from one holder (its blob gap). */
  readonly chunkGapMs: number;
  readonly mtu: number;
}

/** What became of a chunk received. */
export type ChunkOutcome = "unwanted" | "bad-chunk" | "duplicate" | "kept" | "stored" | "mismatch";

interface Fetch {
  readonly blob: WantedBlob;
  readonly chunks: number;
  readonly held: Set<number>;
  nextAsk: number;
  tries: number;
  flowedAt: number;
  pause: number;
}

const prefixKey = (hash: Uint8Array): string => Buffer.from(hash.subarray(0, BLOB_PREFIX_BYTES)).toString("hex");

export class BlobFetch {
  /** Wanted blobs by hash prefix (hex), as the index last said. */
  private wanted = new Map<string, WantedBlob>();
  private readonly active = new Map<string, Fetch>();
  private readonly parked = new Map<string, number>();

  constructor(private readonly o: BlobFetchOptions, now: number) {
    // Partials on disk from before a restart: resumed (dropped at the next `want` if no longer wanted).
    for (const p of o.partials.list()) this.activate({ hash: p.hash, size: p.size, mime: p.mime }, now);
  }

  /** The blobs wanted now; partials of others are dropped. */
  want(blobs: readonly WantedBlob[]): void {
    this.wanted = new Map(blobs.map((b) => [prefixKey(b.hash), b]));
    for (const [key, f] of this.active) if (!this.wanted.has(key)) this.forget(key, f);
  }

  /** A chunk heard (asked for by us or another): kept if its blob is wanted and it fits. */
  chunk(m: BlobChunkMessage, now: number): ChunkOutcome {
    const key = Buffer.from(m.prefix).toString("hex");
    const wanted = this.wanted.get(key);
    const f = this.active.get(key) ?? (wanted && !this.o.has(wanted.hash) ? this.activate(wanted, now) : undefined);
    if (!f) return "unwanted";
    if (m.index >= f.chunks || m.bytes.length !== chunkLength(f.blob.size, m.index)) return "bad-chunk";
    if (f.held.has(m.index)) return "duplicate";
    const added = this.o.partials.addChunk(f.blob.hash, m.index, m.bytes);
    f.held.add(m.index); // on disk now, kept by us or by another link of this site
    if (!added) return "duplicate";
    if (f.flowedAt > Number.NEGATIVE_INFINITY) f.pause = (3 * f.pause + (now - f.flowedAt)) / 4;
    f.flowedAt = now;
    f.tries = 0;
    f.nextAsk = now + this.flowWait(f);
    if (f.held.size < f.chunks) return "kept";
    this.active.delete(key);
    const outcome = this.o.partials.complete(f.blob.hash);
    if (outcome === "stored" || (outcome === "absent" && this.o.has(f.blob.hash))) return "stored";
    this.activate(f.blob, now); // the bytes were wrong: all of it again
    return "mismatch";
  }

  /** The want due now, if any (the most overdue blob's); the next is timed. */
  due(now: number): BlobWantMessage | undefined {
    this.fill(now);
    let first: [string, Fetch] | undefined;
    for (const e of this.active) if (e[1].nextAsk <= now && (!first || e[1].nextAsk < first[1].nextAsk)) first = e;
    if (!first) return undefined;
    const [key, f] = first;
    if (this.o.has(f.blob.hash)) return void this.forget(key, f); // stored meanwhile (the bridge, another link)
    if (f.tries >= MAX_WANT_TRIES && f.held.size === 0) {
      this.forget(key, f);
      this.parked.set(key, now + PARK_MS);
      return undefined;
    }
    f.nextAsk = now + this.retryDelay(f.tries);
    f.tries++;
    return blobWantMessage(f.blob.hash.subarray(0, BLOB_PREFIX_BYTES), this.missing(f), this.o.mtu);
  }

  nextWake(now: number): number {
    this.fill(now);
    let t = Number.POSITIVE_INFINITY;
    for (const f of this.active.values()) t = Math.min(t, f.nextAsk);
    return t;
  }

  /** Wanted blobs not held (partials included), and the partials: their count, declared bytes, and bytes received. */
  status(): { wanted: { count: number; bytes: number }; partial: { count: number; bytes: number; received: number } } {
    let bytes = 0;
    for (const b of this.wanted.values()) bytes += b.size;
    let received = 0;
    let partialBytes = 0;
    for (const f of this.active.values()) {
      partialBytes += f.blob.size;
      for (const i of f.held) received += chunkLength(f.blob.size, i);
    }
    return { wanted: { count: this.wanted.size, bytes }, partial: { count: this.active.size, bytes: partialBytes, received } };
  }

  /** Takes wanted blobs into free slots, oldest-wanted first, within the caps. */
  private fill(now: number): void {
    for (const [key, b] of this.wanted) {
      if (this.active.size >= MAX_PARTIAL_BLOBS) return;
      if (this.active.has(key) || (this.parked.get(key) ?? 0) > now) continue;
      this.parked.delete(key);
      if (b.size === 0) {
        // Nothing to fetch: the empty blob is stored if its hash is that of no bytes.
        this.o.partials.begin(b.hash, 0, b.mime);
        this.o.partials.complete(b.hash);
      }
      if (b.size === 0 || this.o.has(b.hash)) this.wanted.delete(key);
      else this.activate(b, now);
    }
  }

  private activate(b: WantedBlob, now: number): Fetch | undefined {
    const key = prefixKey(b.hash);
    let used = 0;
    for (const f of this.active.values()) used += f.blob.size;
    if (this.active.size >= MAX_PARTIAL_BLOBS || used + b.size > MAX_PARTIAL_BYTES) return undefined;
    this.o.partials.begin(b.hash, b.size, b.mime);
    const held = new Set(this.o.partials.chunkIndices(b.hash));
    const f: Fetch = {
      blob: b, chunks: chunkCount(b.size), held, nextAsk: now + this.o.random() * this.o.retryMs, tries: 0,
      flowedAt: Number.NEGATIVE_INFINITY, pause: 0,
    };
    this.active.set(key, f);
    return f;
  }

  private forget(key: string, f: Fetch): void {
    this.active.delete(key);
    this.o.partials.drop(f.blob.hash);
  }

  private missing(f: Fetch): RangeSet {
    const out: [number, number][] = [];
    for (let i = 0; i < f.chunks; i++) {
      if (f.held.has(i)) continue;
      const last = out.at(-1);
      if (last && last[1] === i - 1) last[1] = i;
      else out.push([i, i]);
    }
    return out;
  }

  /** How long to wait for the next chunk before asking again, while chunks come. */
  private flowWait(f: Fetch): number {
    return Math.max(this.retryDelay(0), PAUSES_BEFORE_ASKING * Math.max(f.pause, this.o.chunkGapMs));
  }

  private retryDelay(tries: number): number {
    const base = Math.max(this.o.retryMs, 2 * this.o.chunkGapMs);
    return base * 2 ** Math.min(tries, MAX_RETRY_DOUBLINGS) * (0.75 + 0.5 * this.o.random());
  }
}
