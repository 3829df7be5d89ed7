/**
 * The seed prototype's in-memory feed store (`meshlog/feedstore.py`
 * FeedStore, without its jsonl persistence), re-implemented to run its
 * protocol in benchmarks: one contiguous feed per author, a buffer for events
 * that arrive ahead of a gap, idempotent ingest, and the hash chain checked
 * on append. Its quirks are kept on purpose, since they show on the wire: an
 * author first seen through a buffered event enters the frontier at 0, and
 * deltas are whole feed slices sorted by (author, seq).
 */
import { seedEventId, type SeedEvent } from "../src/baseline/seed-encoding.js";

/** author → highest contiguous seq held (the prototype's `Frontier`), in the order authors were first seen. */
export type SeedFrontier = Record<string, number>;

/** Python's str order (code points); authors are hex, where it equals UTF-16 order. */
const byAuthorThenSeq = (a: SeedEvent, b: SeedEvent): number => (a.author < b.author ? -1 : a.author > b.author ? 1 : a.seq - b.seq);

/** Invariant: every feed is contiguous from seq 1 and hash-chained; events ahead of a gap wait in a buffer. */
export class SeedFeedStore {
  private readonly feeds = new Map<string, SeedEvent[]>();
  private readonly ids = new Set<string>();
  private readonly pending = new Map<string, Map<number, SeedEvent>>();

  /** `FeedStore.frontier()`: a fresh object. */
  frontier(): SeedFrontier {
    const out: SeedFrontier = {};
    for (const [author, feed] of this.feeds) out[author] = feed.length;
    return out;
  }

  eventCount(): number {
    return this.ids.size;
  }

  /** `FeedStore.delta_for`: every event above the remote's marks, sorted by (author, seq). */
  deltaFor(remote: Readonly<SeedFrontier>): SeedEvent[] {
    const out: SeedEvent[] = [];
    for (const [author, feed] of this.feeds) {
      const have = Object.hasOwn(remote, author) ? (remote[author] as number) : 0;
      if (feed.length > have) out.push(...feed.slice(have));
    }
    return out.sort(byAuthorThenSeq);
  }

  /** `FeedStore.ingest`: true iff the event advanced this store (buffered events do not, yet). */
  ingest(event: SeedEvent): boolean {
    if (seedEventId(event) !== event.id) return false;
    if (this.ids.has(event.id)) return false;
    const feed = this.feedOf(event.author);
    const expected = feed.length + 1;
    if (event.seq < expected) return false;
    if (event.seq > expected) {
      this.pendingOf(event.author).set(event.seq, event);
      return false;
    }
    if (event.prev !== (feed.at(-1)?.id ?? "")) return false;
    this.append(feed, event);
    this.drain(event.author, feed);
    return true;
  }

  /** `FeedStore.ingest_many`: passes over the batch until one makes no progress; returns events applied. */
  ingestMany(events: readonly SeedEvent[]): number {
    let applied = 0;
    for (let progress = true; progress; ) {
      progress = false;
      for (const e of events) {
        if (!this.ids.has(e.id) && this.ingest(e)) {
          applied++;
          progress = true;
        }
      }
    }
    return applied;
  }

  private feedOf(author: string): SeedEvent[] {
    let feed = this.feeds.get(author);
    if (!feed) this.feeds.set(author, (feed = []));
    return feed;
  }

  private pendingOf(author: string): Map<number, SeedEvent> {
    let buf = this.pending.get(author);
    if (!buf) this.pending.set(author, (buf = new Map()));
    return buf;
  }

  private append(feed: SeedEvent[], event: SeedEvent): void {
    feed.push(event);
    this.ids.add(event.id);
  }

  /** Appends buffered successors that are now contiguous; stops at a broken chain (a fork). */
  private drain(author: string, feed: SeedEvent[]): void {
    const buf = this.pending.get(author);
    if (!buf) return;
    for (let next = buf.get(feed.length + 1); next !== undefined; next = buf.get(feed.length + 1)) {
      buf.delete(next.seq);
      if (next.prev !== (feed.at(-1)?.id ?? "")) break;
      this.append(feed, next);
    }
  }
}
