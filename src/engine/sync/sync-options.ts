/**
 * What the sync node needs (a store, a clock, a random source) and its
 * timing defaults, in one place.
 */
import type { CborValue } from "../cbor.js";
import type { Frontier } from "../frontier.js";
import type { AuthorId } from "../ids.js";
import type { IngestReport } from "../store/ingest-types.js";
import type { BlobSyncStore, WantsBlob } from "./blob-transfer.js";
import type { SyncMessage } from "./messages.js";
import type { TrickleOptions } from "./trickle.js";

/** What the sync node needs from a store. The SQLite store implements it. */
export interface SyncStore {
  frontier(): Frontier;
  digest(): Uint8Array;
  headSeq(author: AuthorId): number;
  authorByShort(short: Uint8Array): AuthorId | undefined;
  /** The last seq of `author`'s feed it takes (a removed member's cut); all of it when absent or +Infinity. */
  acceptsUpTo?(author: AuthorId): number;
  wireItems(author: AuthorId, from: number, to: number, maxBytes: number): WireBatch;
  ingestWire(author: AuthorId, startSeq: number, items: readonly CborValue[]): IngestReport;
}

/** Consecutive wire items of one feed, as a store hands them out for an answer. */
export interface WireBatch {
  readonly items: CborValue[];
  readonly bytes: number;
  /** HLC wall of the newest item: fresh events go before backfill. */
  readonly newestWall: number;
  /** Record types the items write (for the mapping's priorities). */
  readonly types?: readonly string[];
  /** True when every item is an attachment's metadata: those go last. */
  readonly attachmentsOnly?: boolean;
}

/**
 * Protocol timing defaults, for a channel where one frame takes about 0.1 s
 * and no duty cycle applies; a radio station sets them from its frame
 * airtime and budget (station-timing.ts).
 */
export const SYNC_DEFAULTS = {
  trickle: { iminMs: 2_000, imaxMs: 10 * 60_000, k: 1 } satisfies TrickleOptions,
  /** Back-off before broadcasting our frontier after hearing a different digest. */
  frontierDelayMs: 1_500,
  /** While an exchange is under way, answer a different digest with our frontier at most this often. */
  frontierHoldMs: 60_000,
  /** Back-off before answering a request that names no responder: long enough to overhear another station's answer. */
  answerDelayMs: 1_500,
  /** Back-off before requesting what a frontier showed us to lack. */
  requestDelayMs: 500,
  /** Wait before asking again for a range nobody answered; doubles per retry while the station asked is silent. */
  requestRetryMs: 4_000,
  /** Wait before asking for a gap behind events received (the air layer may still recover it). */
  holeDelayMs: 4_000,
  /** The least wait for an answer from a station busy sending events (it serves others in turn). */
  busyWaitMs: 8_000,
  /** A range just sent is not sent again on a request received this soon after (the request crossed it). */
  crossMs: 4_000,
  /** How long a relay forwards a feed after an open request for it (each request renews it). */
  followTtlMs: 6 * 3_600_000,
  /** Gap between successive frames of one answer, so others can overhear and suppress. */
  frameGapMs: 200,
  /** Bytes per message of events; the radio layer fragments larger single events. */
  mtu: 200,
  /** Least time between two blob messages of a station: blob traffic takes a share of the channel, never all of it. */
  blobGapMs: 1_000,
  /** Blob traffic waits this long after any event traffic heard or sent: events, fresh ones above all, go first. */
  blobQuietMs: 8_000,
};

export interface SyncNodeOptions {
  readonly store: SyncStore;
  /** Monotonic time (ms) for timers; never the wall clock, which may be skewed or stepped. */
  readonly now: () => number;
  /** Wall-clock time (ms since the epoch), compared with HLC stamps to tell fresh events from backfill. */
  readonly wallNow?: () => number;
  readonly random: () => number;
  /**
   * This station's id (its author's short tag), to know the requests that
   * name it. Without it every request is answered as if it named this station.
   */
  readonly stationId?: Uint8Array;
  readonly mtu?: number;
  readonly trickle?: TrickleOptions;
  readonly frontierDelayMs?: number;
  readonly frontierHoldMs?: number;
  readonly answerDelayMs?: number;
  readonly requestDelayMs?: number;
  readonly requestRetryMs?: number;
  readonly holeDelayMs?: number;
  readonly busyWaitMs?: number;
  readonly crossMs?: number;
  readonly followTtlMs?: number;
  readonly frameGapMs?: number;
  /** Called after every ingest of received events. */
  readonly onIngest?: (report: IngestReport, author: AuthorId) => void;
  /** A record type's priority (0..9, higher first) from the mapping; 0 for types it does not name. */
  readonly priorityOf?: (type: string) => number;
  /** Whether the link is part-way through receiving a message from `station` (its rest may still come). */
  readonly awaiting?: (station: Uint8Array) => boolean;
  /** Attachment bytes and the view's attachments; without it no blob traffic (blob messages heard are ignored). */
  readonly blobStore?: BlobSyncStore;
  /** Which blobs this station fetches (the site's attachment policy); absent: none, it only serves blobs it holds (and reads no view). */
  readonly wantsBlob?: WantsBlob;
  readonly blobGapMs?: number;
  readonly blobQuietMs?: number;
  /**
   * The earliest time (ms, on `now`'s clock) a blob message may use airtime:
   * the radio keeps part of its duty-cycle budget for events. Default: always.
   */
  readonly blobAirtimeAt?: () => number;
}

type Optional = "onIngest" | "stationId" | "awaiting" | "blobStore" | "wantsBlob" | "blobAirtimeAt";
export type ResolvedSyncOptions = Required<Omit<SyncNodeOptions, Optional>> & Pick<SyncNodeOptions, Optional>;

/** The options with every default filled in. */
export function resolveSyncOptions(options: SyncNodeOptions): ResolvedSyncOptions {
  return { ...SYNC_DEFAULTS, wallNow: Date.now, priorityOf: () => 0, ...options };
}

/** Counters a status page shows. */
export interface SyncStats {
  framesSent: Record<SyncMessage["type"], number>;
  bytesSent: number;
  framesReceived: number;
  dropped: Record<string, number>;
  /** Events this node was about to send but overheard from another station first. */
  suppressedEvents: number;
  /** Events received that this node already held. */
  duplicateEvents: number;
}
