/**
 * The ingest pass's bookkeeping: events from opened chunks go to the store in
 * batches (one transaction each), feed by feed in header order, with a feed
 * skipped when it starts beyond what this site holds; outcomes are tallied
 * and progress reported after every batch and chunk.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { AuthorId } from "../engine/ids.js";
import type { IngestReport, RefusalReason } from "../engine/store/ingest-types.js";
import { feedEventCount, type BundleFeed } from "./bundle-format.js";
import type { ProgressListener } from "./bundle-progress.js";

/**
 * Events per ingest call: one transaction (one sync to disk) each, so large
 * enough to amortize it, small enough that the event loop (radio, HTTP) is
 * not held for long.
 */
export const INGEST_BATCH_EVENTS = 1000;

/** What happened to a bundle's events. `applied` may exceed the events offered: it counts buffered events they completed. */
export interface ImportCounts {
  /** Events in the bundle. */
  readonly events: number;
  /** New events applied. */
  readonly applied: number;
  /** Events this site already had. */
  readonly duplicates: number;
  /** Events held in the gap buffer, waiting for a predecessor. */
  readonly buffered: number;
  /** Events refused by the store, by reason (a non-member author, a bad signature, a fork, ...). */
  readonly refused: Partial<Record<RefusalReason, number>>;
  /** Events of feeds skipped for a gap (see `gaps`). */
  readonly skipped: number;
}

/** A feed the bundle holds from `from`, while this site holds it only up to `have` < from - 1. */
export interface FeedGap extends BundleFeed {
  readonly have: number;
}

/** Builds an empty tally for a bundle of `events`. */
export const noCounts = (events: number): ImportCounts => ({ events, applied: 0, duplicates: 0, buffered: 0, refused: {}, skipped: 0 });

/** What the batcher needs from the store. */
export interface BatchTarget {
  isMember(author: AuthorId): boolean;
  headSeq(author: AuthorId): number;
  ingestEncoded(encoded: readonly Uint8Array[]): IngestReport;
}

export interface IngestBatcher {
  /** Takes the events of one chunk; `bytes` is how far the file has been read. */
  add(events: readonly Buffer[], bytes: number): Promise<void>;
  /** Ingests what is left; `bytes` is the file's size. */
  finish(bytes: number): Promise<void>;
  counts(): ImportCounts;
  readonly gaps: readonly FeedGap[];
}

export function createIngestBatcher(
  store: BatchTarget,
  feeds: readonly BundleFeed[],
  o: { totalBytes: number; batchEvents: number; onProgress?: ProgressListener },
): IngestBatcher {
  const total = feedEventCount(feeds);
  const tally = { ...noCounts(total), refused: {} as Partial<Record<RefusalReason, number>>, done: 0 };
  const cursor = createFeedCursor(feeds, store);
  let batch: Buffer[] = [];
  let bytes = 0;
  const report = () => o.onProgress?.({ phase: "ingest", events: tally.done, totalEvents: total, bytes, totalBytes: o.totalBytes });
  const flush = async () => {
    if (batch.length === 0) return;
    const r = store.ingestEncoded(batch);
    tally.applied += r.applied;
    tally.duplicates += r.duplicates;
    tally.buffered += r.buffered;
    for (const [reason, n] of Object.entries(r.refused) as [RefusalReason, number][]) tally.refused[reason] = (tally.refused[reason] ?? 0) + n;
    tally.done += batch.length;
    batch = [];
    report();
    await yieldToEventLoop(); // let the radio and HTTP run between transactions
  };
  return {
    async add(events, at) {
      bytes = at;
      for (const ev of events) {
        if (cursor.next()) batch.push(ev);
        else {
          tally.skipped++;
          tally.done++;
        }
        if (batch.length >= o.batchEvents) await flush();
      }
      report();
    },
    async finish(at) {
      bytes = at;
      await flush();
      report();
    },
    counts: () => ({ events: total, applied: tally.applied, duplicates: tally.duplicates, buffered: tally.buffered, refused: { ...tally.refused }, skipped: tally.skipped }),
    gaps: cursor.gaps,
  };
}

/**
 * Walks the header's feeds alongside the events (they come feed after feed,
 * in header order) and decides, as each feed starts, whether its events can
 * apply here: a feed is skipped if it starts beyond this site's head + 1.
 * A non-member's feed is not skipped: the store refuses its events, and the
 * counts say so.
 */
function createFeedCursor(feeds: readonly BundleFeed[], store: BatchTarget): { next(): boolean; gaps: FeedGap[] } {
  const gaps: FeedGap[] = [];
  let ix = -1;
  let left = 0;
  let take = true;
  return {
    next() {
      while (left === 0 && ix + 1 < feeds.length) {
        const feed = feeds[++ix] as BundleFeed;
        left = feed.to - feed.from + 1;
        const have = store.headSeq(feed.author);
        take = feed.from <= have + 1 || !store.isMember(feed.author);
        if (!take) gaps.push({ ...feed, have });
      }
      left--;
      return take;
    },
    gaps,
  };
}
