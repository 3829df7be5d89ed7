/**
 * Attachment bytes over the sync protocol: which blobs this station fetches
 * (blob-fetch.ts), the chunks it owes others (blob-serve.ts), and the
 * attachments of the view that decide both (attachment-index.ts). The sync
 * node decides when blob messages may go (never while events are owed or
 * lacking); this decides which.
 *
 * Rule for who fetches: a station fetches a blob only when a live record's
 * current attachment names it and `wantsBlob` says yes (the site's mapping
 * for the record type has policy "transfer" and the size is within its
 * max_bytes). A station that holds a whole blob answers wants for it,
 * whoever's it is, and one fetching it answers for the chunks it has so far
 * (blob-serve.ts: unchecked chunks cost airtime at worst). A station whose policy does not want a blob neither
 * stores nor relays it: relaying needs the bytes, and holding bytes the
 * site's policy keeps out is what the policy forbids.
 */
import type { BlobStore } from "../store/blob-store.js";
import { AttachmentIndex, type AttachmentMeta, type ViewChanges } from "./attachment-index.js";
import { BlobFetch, type WantedBlob } from "./blob-fetch.js";
import type { BlobMessage } from "./blob-messages.js";
import { BlobServe } from "./blob-serve.js";

/** What blob transfer needs from the store (the SQLite store has it all). */
export interface BlobSyncStore extends ViewChanges {
  readonly blobs: Pick<BlobStore, "has" | "byPrefix" | "slice" | "stats" | "partials">;
}

/** Whether this site fetches the blob of an attachment (its mapping's policy); it is asked only about blobs it lacks. */
export type WantsBlob = (meta: AttachmentMeta) => boolean;

/** Counters of blob traffic. */
export interface BlobCounters {
  wantsSent: number;
  chunksSent: number;
  chunksReceived: number;
  /** Chunks of a blob this station fetches, kept on disk. */
  chunksKept: number;
  duplicateChunks: number;
  /** Chunks of blobs this station does not fetch (relayed by no one here: see the rule above). */
  unwantedChunks: number;
  /** Chunks whose index or length does not fit their blob. */
  badChunks: number;
  blobsStored: number;
  /** Blobs whose joined chunks did not hash to their SHA-256: discarded and fetched again. */
  badAssemblies: number;
  /** Chunks this station owed and overheard from another first. */
  suppressedChunks: number;
  /** Of chunksSent, those sent from a blob still part-way received here (a relay passing chunks on as they come). */
  partialChunksSent: number;
}

/** Blobs held, wanted and part-way received here, for the status API. */
export interface BlobStatus {
  readonly held: { readonly count: number; readonly bytes: number };
  /** Wanted and not held (partials included): declared bytes. */
  readonly wanted: { readonly count: number; readonly bytes: number };
  /** Being received: declared bytes, and bytes received so far. */
  readonly partial: { readonly count: number; readonly bytes: number; readonly received: number };
  readonly counters: Readonly<BlobCounters>;
}

export interface BlobTransferOptions {
  readonly store: BlobSyncStore;
  /** Absent: this station fetches nothing, and need not follow the view (a full scan of it at start). */
  readonly wantsBlob?: WantsBlob;
  readonly random: () => number;
  readonly now: number;
  /** Least wait before asking again for chunks that do not come. */
  readonly retryMs: number;
  /** Least time between blob messages of one station (ours, and the holders'). */
  readonly blobGapMs: number;
  readonly answerDelayMs: number;
  readonly crossMs: number;
  readonly mtu: number;
}

export class BlobTransfer {
  private readonly index: AttachmentIndex | undefined;
  private readonly fetch: BlobFetch;
  private readonly serve: BlobServe;
  readonly counters: BlobCounters = {
    wantsSent: 0, chunksSent: 0, chunksReceived: 0, chunksKept: 0, duplicateChunks: 0, unwantedChunks: 0, badChunks: 0,
    blobsStored: 0, badAssemblies: 0, suppressedChunks: 0, partialChunksSent: 0,
  };

  constructor(private readonly o: BlobTransferOptions) {
    const blobs = o.store.blobs;
    this.index = o.wantsBlob ? new AttachmentIndex(o.store) : undefined;
    this.fetch = new BlobFetch(
      { partials: blobs.partials, has: (h) => blobs.has(h), random: o.random, retryMs: o.retryMs, chunkGapMs: o.blobGapMs, mtu: o.mtu },
      o.now,
    );
    this.serve = new BlobServe({ blobs, random: o.random, answerDelayMs: o.answerDelayMs, crossMs: o.crossMs });
    if (this.index) this.refresh();
    else this.fetch.want([]); // partials left from when the policy fetched are dropped
  }

  receive(m: BlobMessage, now: number): void {
    if (m.type === "blob-want") {
      this.serve.want(m, now);
      return;
    }
    this.counters.chunksReceived++;
    if (this.serve.overheard(m.prefix, m.index)) this.counters.suppressedChunks++;
    this.refresh();
    const outcome = this.fetch.chunk(m, now);
    const c = this.counters;
    if (outcome === "unwanted") c.unwantedChunks++;
    else if (outcome === "bad-chunk") c.badChunks++;
    else if (outcome === "duplicate") c.duplicateChunks++;
    else c.chunksKept++;
    if (outcome === "stored") c.blobsStored++;
    if (outcome === "mismatch") c.badAssemblies++;
  }

  /** The blob message to send now, if any: chunks others wait for first, then our own want. */
  next(now: number): BlobMessage | undefined {
    const chunk = this.serve.next(now);
    if (chunk) {
      this.counters.chunksSent++;
      this.counters.partialChunksSent = this.serve.sentFromPartials;
      return chunk;
    }
    this.refresh();
    const want = this.fetch.due(now);
    if (want) this.counters.wantsSent++;
    return want;
  }

  nextWake(now: number): number {
    this.refresh();
    return Math.min(this.serve.nextWake(), this.fetch.nextWake(now));
  }

  status(): BlobStatus {
    this.refresh();
    return { held: this.o.store.blobs.stats(), ...this.fetch.status(), counters: { ...this.counters } };
  }

  /** Follows the view: the blobs wanted are those of live records' attachments the policy lets through, not held. */
  private refresh(): void {
    const wants = this.o.wantsBlob;
    if (!this.index || !wants || !this.index.refresh()) return;
    const wanted: WantedBlob[] = [];
    for (const [, metas] of this.index.entries()) {
      const m = metas[0] as AttachmentMeta;
      if (metas.some((x) => wants(x)) && !this.o.store.blobs.has(m.hash)) wanted.push({ hash: m.hash, size: m.size, mime: m.mime });
    }
    this.fetch.want(wanted);
  }
}
