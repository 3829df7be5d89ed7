/**
 * The sync protocol for a broadcast, lossy channel: bytes in, bytes out, with
 * the clock and random source injected, so it is deterministic under test and
 * knows nothing of radios.
 *
 * - Beacons carry the frontier digest on a Trickle timer.
 * - A station that hears a digest unlike its own broadcasts its frontier after
 *   a random back-off, unless it first hears a frontier with its own digest.
 * - From a frontier, a station learns what it lacks (and requests ranges) and
 *   what the sender lacks (and offers them).
 * - Answers wait a random back-off; any part of an answer overheard from
 *   another station is dropped from it, so one transmission serves everyone.
 * - Every station serves every member's feed: store-and-forward.
 * - Fresh events go before backfill.
 */
import type { CborValue } from "../cbor.js";
import { FRESH_WINDOW_MS } from "../constants.js";
import { shortTag, frontierTotal, type Frontier } from "../frontier.js";
import type { AuthorId } from "../ids.js";
import type { IngestReport } from "../store/ingest-types.js";
import { decodeMessage, encodeMessage, type FrontierEntry, type RangeRequest, type SyncMessage } from "./messages.js";
import { createTrickle, type Trickle, type TrickleOptions } from "./trickle.js";
import { rangeSetAdd, rangeSetRemove, rangeSetSize, type RangeSet } from "./range-set.js";

/** What the sync node needs from a store. The SQLite store implements it. */
export interface SyncStore {
  frontier(): Frontier;
  digest(): Uint8Array;
  headSeq(author: AuthorId): number;
  authorByShort(short: Uint8Array): AuthorId | undefined;
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

/** Priority of an answer made only of attachment metadata: below every record type's (0..9). */
const ATTACHMENT_PRIORITY = -1;

/** Protocol timing defaults, chosen for a LoRa channel where one frame takes 0.1–2 s of airtime. */
export const SYNC_DEFAULTS = {
  trickle: { iminMs: 2_000, imaxMs: 10 * 60_000, k: 1 } satisfies TrickleOptions,
  /** Back-off before broadcasting our frontier after hearing a different digest. */
  frontierDelayMs: 1_500,
  /** Back-off before answering a request: long enough to overhear another station's answer. */
  answerDelayMs: 1_500,
  /** Back-off before requesting what a frontier showed us to lack. */
  requestDelayMs: 500,
  /** Wait before asking again for a range nobody answered; doubles per retry. */
  requestRetryMs: 4_000,
  /** Gap between successive frames of one answer, so others can overhear and suppress. */
  frameGapMs: 200,
  /** Bytes per message of events; the radio layer fragments larger single events. */
  mtu: 200,
};

export interface SyncNodeOptions {
  readonly store: SyncStore;
  /** Monotonic time (ms) for timers; never the wall clock, which may be skewed or stepped. */
  readonly now: () => number;
  /** Wall-clock time (ms since the epoch), compared with HLC stamps to tell fresh events from backfill. */
  readonly wallNow?: () => number;
  readonly random: () => number;
  readonly mtu?: number;
  readonly trickle?: TrickleOptions;
  readonly frontierDelayMs?: number;
  readonly answerDelayMs?: number;
  readonly requestDelayMs?: number;
  readonly requestRetryMs?: number;
  readonly frameGapMs?: number;
  /** Called after every ingest of received events. */
  readonly onIngest?: (report: IngestReport, author: AuthorId) => void;
  /** A record type's priority (0..9, higher first) from the mapping; 0 for types it does not name. */
  readonly priorityOf?: (type: string) => number;
}

interface Answer {
  ranges: RangeSet;
  due: number;
}

interface Want {
  to: number;
  askedTo: number;
  nextAsk: number;
  retries: number;
}

/** Counters a status page shows. */
export interface SyncStats {
  framesSent: Record<SyncMessage["type"], number>;
  bytesSent: number;
  framesReceived: number;
  dropped: Record<string, number>;
  /** Events this node was about to send but overheard from another station first. */
  suppressedEvents: number;
}

export class SyncNode {
  private readonly o: Required<Omit<SyncNodeOptions, "onIngest">> & Pick<SyncNodeOptions, "onIngest">;
  private readonly trickle: Trickle;
  private frontierDue: number | null = null;
  private readonly answers = new Map<AuthorId, Answer>();
  private readonly wants = new Map<AuthorId, Want>();
  readonly stats: SyncStats = {
    framesSent: { beacon: 0, frontier: 0, request: 0, events: 0 },
    bytesSent: 0,
    framesReceived: 0,
    dropped: {},
    suppressedEvents: 0,
  };

  constructor(options: SyncNodeOptions) {
    this.o = {
      mtu: SYNC_DEFAULTS.mtu,
      trickle: SYNC_DEFAULTS.trickle,
      frontierDelayMs: SYNC_DEFAULTS.frontierDelayMs,
      answerDelayMs: SYNC_DEFAULTS.answerDelayMs,
      requestDelayMs: SYNC_DEFAULTS.requestDelayMs,
      requestRetryMs: SYNC_DEFAULTS.requestRetryMs,
      frameGapMs: SYNC_DEFAULTS.frameGapMs,
      wallNow: Date.now,
      priorityOf: () => 0,
      ...options,
    };
    this.trickle = createTrickle(this.o.trickle, this.o.random, this.o.now());
  }

  /** Call after this site appended events: neighbours should hear of it soon. */
  localChange(): void {
    this.trickle.inconsistent(this.o.now());
  }

  // ------------------------------------------------------------ receive

  /**
   * Handles one received message. Bad ones are dropped and counted, never
   * thrown; a good one is handed back (the radio station learns from beacons
   * and frontiers how far behind the sender is).
   */
  receive(frame: Uint8Array): SyncMessage | undefined {
    this.stats.framesReceived++;
    const parsed = decodeMessage(frame);
    if (!parsed.ok) {
      this.drop(parsed.reason);
      return undefined;
    }
    const m = parsed.message;
    const now = this.o.now();
    switch (m.type) {
      case "beacon":
        this.onDigest(m.digest, now);
        break;
      case "frontier":
        this.onDigest(m.digest, now);
        this.onFrontier(m.entries, m.pages === 1, now);
        break;
      case "request":
        this.onRequest(m.ranges, now);
        break;
      case "events":
        this.onEvents(m.short, m.start, m.items, now);
        break;
    }
    return m;
  }

  private drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  private onDigest(digest: Uint8Array, now: number): void {
    if (Buffer.from(digest).equals(Buffer.from(this.o.store.digest()))) {
      this.trickle.consistent();
      this.frontierDue = null; // someone already said what we would say
      return;
    }
    this.trickle.inconsistent(now);
    this.frontierDue ??= now + this.o.random() * this.o.frontierDelayMs;
  }

  private onFrontier(entries: readonly FrontierEntry[], complete: boolean, now: number): void {
    const mine = this.o.store.frontier();
    const listed = new Set<AuthorId>();
    for (const e of entries) {
      const author = this.o.store.authorByShort(e.short);
      if (!author) {
        this.drop("unknown-author");
        continue;
      }
      listed.add(author);
      const have = mine.get(author) ?? 0;
      if (e.seq > have) this.want(author, e.seq, now);
      else if (e.seq < have) this.offer(author, e.seq + 1, have, now);
    }
    if (complete) {
      for (const [author, have] of mine) if (!listed.has(author)) this.offer(author, 1, have, now);
    }
  }

  private want(author: AuthorId, to: number, now: number): void {
    const w = this.wants.get(author);
    if (w) {
      w.to = Math.max(w.to, to);
      if (w.to > w.askedTo) w.nextAsk = Math.min(w.nextAsk, now + this.o.random() * this.o.requestDelayMs);
    } else {
      this.wants.set(author, { to, askedTo: 0, nextAsk: now + this.o.random() * this.o.requestDelayMs, retries: 0 });
    }
  }

  private offer(author: AuthorId, from: number, to: number, now: number): void {
    const a = this.answers.get(author);
    if (a) {
      a.ranges = rangeSetAdd(a.ranges, from, to);
    } else {
      this.answers.set(author, { ranges: [[from, to]], due: now + this.o.random() * this.o.answerDelayMs });
    }
  }

  private onRequest(ranges: readonly RangeRequest[], now: number): void {
    for (const r of ranges) {
      const author = this.o.store.authorByShort(r.short);
      if (!author) {
        this.drop("unknown-author");
        continue;
      }
      const head = this.o.store.headSeq(author);
      if (head >= r.from) this.offer(author, r.from, Math.min(r.to, head), now);
      // Someone else asked for what we want: their answer will serve us too.
      const w = this.wants.get(author);
      if (w && r.to >= w.to && r.from <= this.o.store.headSeq(author) + 1) {
        w.askedTo = Math.max(w.askedTo, r.to);
        w.nextAsk = now + this.retryDelay(w);
      }
    }
  }

  private onEvents(short: Uint8Array, start: number, items: readonly CborValue[], now: number): void {
    const author = this.o.store.authorByShort(short);
    if (!author) return this.drop("unknown-author");
    const end = start + items.length - 1;
    const a = this.answers.get(author);
    if (a) {
      const before = rangeSetSize(a.ranges);
      a.ranges = rangeSetRemove(a.ranges, start, end);
      this.stats.suppressedEvents += before - rangeSetSize(a.ranges); // overheard: no need to send them ourselves
      if (a.ranges.length === 0) this.answers.delete(author);
    }
    if (end <= this.o.store.headSeq(author)) return; // all known: nothing to ingest
    const report = this.o.store.ingestWire(author, start, items);
    this.o.onIngest?.(report, author);
    const w = this.wants.get(author);
    const head = this.o.store.headSeq(author);
    if (w && head >= w.to) this.wants.delete(author);
    else if (w) w.retries = 0; // progress: the range is being answered
    if (report.applied > 0) this.trickle.inconsistent(now);
  }

  // ------------------------------------------------------------ send

  /** The earliest time at which `poll` may have something to send. */
  nextWake(): number {
    let t = this.trickle.nextWake();
    if (this.frontierDue !== null) t = Math.min(t, this.frontierDue);
    for (const w of this.wants.values()) t = Math.min(t, w.nextAsk);
    for (const a of this.answers.values()) t = Math.min(t, a.due);
    return t;
  }

  /** Frames due now, most urgent first; at most `budget` of them. */
  poll(budget = Number.POSITIVE_INFINITY): Uint8Array[] {
    const now = this.o.now();
    const out: SyncMessage[] = [];
    if (this.trickle.due(now)) {
      out.push({ type: "beacon", digest: this.o.store.digest(), total: frontierTotal(this.o.store.frontier()) });
    }
    if (this.frontierDue !== null && now >= this.frontierDue) {
      this.frontierDue = null;
      out.push(...this.frontierMessages());
    }
    out.push(...this.requestMessages(now));
    out.push(...this.answerMessages(now, budget - out.length));
    const frames = out.slice(0, Math.max(0, budget)).map((m) => {
      const bytes = encodeMessage(m);
      this.stats.framesSent[m.type]++;
      this.stats.bytesSent += bytes.length;
      return bytes;
    });
    return frames;
  }

  private frontierMessages(): SyncMessage[] {
    const digest = this.o.store.digest();
    const entries = [...this.o.store.frontier()].map(([author, seq]) => ({ short: shortTag(author), seq }));
    // digest 9 + header ~8 bytes; an entry is 5 bytes of tag plus up to 5 of seq.
    const perPage = Math.max(1, Math.floor((this.o.mtu - 20) / 10));
    const pages = Math.max(1, Math.ceil(entries.length / perPage));
    const out: SyncMessage[] = [];
    for (let p = 0; p < pages; p++) {
      out.push({ type: "frontier", digest, page: p, pages, entries: entries.slice(p * perPage, (p + 1) * perPage) });
    }
    return out;
  }

  private requestMessages(now: number): SyncMessage[] {
    const ranges: RangeRequest[] = [];
    for (const [author, w] of this.wants) {
      if (now < w.nextAsk) continue;
      const have = this.o.store.headSeq(author);
      if (have >= w.to) {
        this.wants.delete(author);
        continue;
      }
      if (w.retries >= MAX_REQUEST_RETRIES) {
        this.wants.delete(author); // relearned from the next frontier we hear
        continue;
      }
      ranges.push({ short: shortTag(author), from: have + 1, to: w.to });
      w.askedTo = w.to;
      w.retries++;
      w.nextAsk = now + this.retryDelay(w);
    }
    const perMsg = Math.max(1, Math.floor((this.o.mtu - 6) / 16));
    const out: SyncMessage[] = [];
    for (let i = 0; i < ranges.length; i += perMsg) out.push({ type: "request", ranges: ranges.slice(i, i + perMsg) });
    return out;
  }

  private retryDelay(w: Want): number {
    return this.o.requestRetryMs * 2 ** Math.min(w.retries, 6) * (0.75 + 0.5 * this.o.random());
  }

  /** One frame per due answer, fresh events first; the rest of each answer is rescheduled. */
  private answerMessages(now: number, budget: number): SyncMessage[] {
    const due: { author: AuthorId; a: Answer; items: CborValue[]; start: number; end: number; newest: number; priority: number }[] = [];
    for (const [author, a] of this.answers) {
      if (now < a.due) continue;
      const [from, to] = a.ranges[0] as [number, number];
      const batch = this.o.store.wireItems(author, from, to, this.o.mtu - EVENTS_HEADER_BYTES);
      if (batch.items.length === 0) {
        a.ranges = rangeSetRemove(a.ranges, from, to);
        if (a.ranges.length === 0) this.answers.delete(author);
        continue;
      }
      const end = from + batch.items.length - 1;
      due.push({ author, a, items: batch.items, start: from, end, newest: batch.newestWall, priority: this.batchPriority(batch) });
    }
    const freshAfter = this.o.wallNow() - FRESH_WINDOW_MS;
    const fresh = (d: (typeof due)[number]) => d.newest >= freshAfter;
    // Fresh before backfill, then the mapping's record-type priority (attachments last), then newest first.
    due.sort((x, y) => Number(fresh(y)) - Number(fresh(x)) || y.priority - x.priority || y.newest - x.newest);
    const out: SyncMessage[] = [];
    for (const d of due) {
      if (out.length >= budget) {
        d.a.due = now + this.o.frameGapMs;
        continue;
      }
      out.push({ type: "events", short: shortTag(d.author), start: d.start, items: d.items });
      d.a.ranges = rangeSetRemove(d.a.ranges, d.start, d.end);
      if (d.a.ranges.length === 0) this.answers.delete(d.author);
      else d.a.due = now + this.o.frameGapMs;
    }
    return out;
  }

  private batchPriority(batch: WireBatch): number {
    if (batch.attachmentsOnly) return ATTACHMENT_PRIORITY;
    return Math.max(0, ...(batch.types ?? []).map((t) => this.o.priorityOf(t)));
  }

  /** How many answers and wants are pending (for status and for tests that wait for quiet). */
  pending(): { answers: number; wants: number } {
    return { answers: this.answers.size, wants: this.wants.size };
  }

  trickleInterval(): number {
    return this.trickle.interval();
  }
}

/** Bytes of an events message around its items: version, type, 5-byte short tag, start seq, array header. */
export const EVENTS_HEADER_BYTES = 12;

/** Give up on a range after this many unanswered requests; the next frontier heard brings it back. */
const MAX_REQUEST_RETRIES = 6;
