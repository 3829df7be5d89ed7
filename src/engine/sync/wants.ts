/**
 * What this station lacks, and whom it asks for it. Per feed: the highest seq
 * a neighbour showed it holds, the station to ask (the one that showed it, or
 * that has been sending the feed), the events received beyond a gap (the
 * store holds them aside; they are not asked for again), and two timers:
 *
 * - a gap behind events already received is asked for after `holeDelayMs`
 *   (the air layer may still be recovering a lost fragment of it), alone: the
 *   rest is still coming;
 * - the tail (and every gap) is asked for again only when nothing arrived for
 *   `retryMs`, doubling per request left unanswered.
 *
 * Both waits are at least `busyWaitMs` while the station asked is busy
 * sending events: it serves others' feeds in turn under its budget, so ours
 * may come only after a while, and asking sooner only repeats what it owes
 * already; nor is anyone else asked while it is heard sending.
 *
 * The first requests name the station to ask (others stay quiet, so hidden
 * stations do not answer at once and collide); after `designatedTries`
 * unanswered ones, a request names nobody and whoever holds the events answers.
 * The retry wait doubles only while the station asked stays silent: one
 * heard since is there, and a request or answer was lost on the way.
 * A feed whose origin this station does not hear is asked for open-ended:
 * the relay asked forwards what it receives later without another round.
 */
import type { AuthorId } from "../ids.js";
import { rangeSetAdd, rangeSetRemove, type RangeSet } from "./range-set.js";

export interface WantsOptions {
  readonly random: () => number;
  /** Back-off before the first request, so one request can serve stations that lack the same. */
  readonly requestDelayMs: number;
  /** Ask again after this long without progress; doubles per unanswered request. */
  readonly retryMs: number;
  /** Wait before asking for a gap behind events received. */
  readonly holeDelayMs: number;
  /** The least wait (before doubling) while the station asked is busy. */
  readonly busyWaitMs: number;
  /** Whether `station` is busy sending events (heard doing so lately). */
  readonly busy: (station: Uint8Array | undefined) => boolean;
  /** Whether anything was heard from `station` after `since`. */
  readonly heardSince: (station: Uint8Array, since: number) => boolean;
  /** Unanswered requests to the station that showed the events before asking anyone. */
  readonly designatedTries: number;
  /** Unanswered requests before giving up; the next frontier heard brings the want back. */
  readonly maxTries: number;
}

/** One request to send: the ranges of one feed, and the station asked (if any). */
export interface DueRequest {
  readonly author: AuthorId;
  readonly ranges: readonly (readonly [number, number | null])[];
  readonly responder: Uint8Array | undefined;
}

interface Want {
  /** Highest seq known to exist at a neighbour (0: not known, an open request asks for all). */
  to: number;
  source: Uint8Array | undefined;
  open: boolean;
  /** Events received beyond the head (held aside by the store until the gap fills). */
  got: RangeSet;
  /** Events on their way (a message partly received, the air layer recovering the rest), and until when we wait for them. */
  coming: { from: number; to: number; until: number }[];
  /** When to ask for the tail and every gap (no progress for a while). */
  nextAsk: number;
  /** When to ask for the gaps alone; Infinity when there is none. */
  holeAt: number;
  tries: number;
  holeTries: number;
  /** When we last asked. */
  askedAt: number;
  /** When the feed last advanced, and the usual pause between advances (a busy relay serves feeds in turn). */
  flowedAt: number;
  pause: number;
}

/** A feed that advances is asked for again only after this many of its usual pauses without advancing. */
const PAUSES_BEFORE_ASKING = 2;

/** Doublings of the retry wait: past 2^6 the next frontier heard is as good a trigger. */
const MAX_RETRY_DOUBLINGS = 6;

export class Wants {
  private readonly wants = new Map<AuthorId, Want>();

  constructor(private readonly o: WantsOptions) {}

  /** A neighbour (`source`) holds `author`'s feed up to `seq`; we hold it up to `head`. */
  learn(author: AuthorId, seq: number, head: number, source: Uint8Array | undefined, open: boolean, now: number): void {
    if (seq <= head) return;
    const w = this.wants.get(author) ?? this.create(author, open, now);
    w.open = open;
    if (seq > w.to) {
      w.to = seq;
      w.source = source ?? w.source;
      w.tries = 0; // news: ask the station that showed it
      w.nextAsk = Math.min(w.nextAsk, now + this.o.random() * this.o.requestDelayMs);
    }
  }

  /**
   * Events [start, end] of `author` arrived from `from`; the head moved from
   * `before` to `after`. A gap they reveal becomes a want (open when `open`).
   */
  received(author: AuthorId, got: { start: number; end: number; before: number; after: number }, from: Uint8Array | undefined, open: boolean, now: number): void {
    const { start, end, before, after } = got;
    let w = this.wants.get(author);
    if (!w && start <= after + 1) return;
    w ??= this.create(author, open, now);
    w.source ??= from;
    w.to = Math.max(w.to, end);
    if (start > after + 1) w.got = rangeSetAdd(w.got, start, end);
    w.got = rangeSetRemove(w.got, 1, after);
    if (after > before) {
      // The feed is flowing: ask for the tail only if it stops for longer than it has been pausing.
      if (w.flowedAt > Number.NEGATIVE_INFINITY) w.pause = (3 * w.pause + (now - w.flowedAt)) / 4;
      w.flowedAt = now;
      w.tries = 0;
      w.nextAsk = Math.max(w.nextAsk, now + Math.max(this.retryDelay(w, 0), PAUSES_BEFORE_ASKING * w.pause));
    }
    if (w.got.length === 0) w.holeAt = Number.POSITIVE_INFINITY;
    else if (w.holeAt === Number.POSITIVE_INFINITY || after > before) {
      w.holeTries = 0;
      w.holeAt = now + this.wait(w, this.o.holeDelayMs) * (1 + this.o.random());
    }
    if (after >= w.to && w.got.length === 0) this.wants.delete(author);
  }

  /** Another station asked for [from, to] of `author` (to null: open): its answer will serve us too. */
  othersAsked(author: AuthorId, from: number, to: number | null, head: number, now: number): void {
    const w = this.wants.get(author);
    if (!w || from > head + 1 || (to !== null && to < w.to)) return;
    w.nextAsk = Math.max(w.nextAsk, now + this.retryDelay(w, w.tries));
  }

  /** Whether every event of [start, end] is held already: at or below `head`, or received beyond a gap. */
  holds(author: AuthorId, start: number, end: number, head: number): boolean {
    if (end <= head) return true;
    const got = this.wants.get(author)?.got ?? [];
    return got.some(([a, b]) => a <= Math.max(start, head + 1) && b >= end);
  }

  /** Events [start, end] of `author` are on their way (part of their message arrived): not asked for until `until`. */
  coming(author: AuthorId, start: number, end: number, until: number): void {
    const w = this.wants.get(author);
    if (w) w.coming.push({ from: start, to: end, until });
  }

  /**
   * Requests due now, one per feed; `head` gives what we hold of a feed, and
   * `awaiting` whether a message from a station is partly received (asking
   * it now would repeat what its rest may bring: ask later).
   */
  due(now: number, head: (author: AuthorId) => number, awaiting: (station: Uint8Array) => boolean = () => false): DueRequest[] {
    const out: DueRequest[] = [];
    for (const [author, w] of this.wants) {
      const h = head(author);
      w.got = rangeSetRemove(w.got, 1, h);
      if (h >= w.to && w.got.length === 0) {
        this.wants.delete(author);
        continue;
      }
      const stalled = now >= w.nextAsk;
      if (!stalled && now < w.holeAt) continue;
      const tries = stalled ? w.tries : w.holeTries;
      // Heard since we asked: it is there, and our request or its answer was lost; ask again without backing off.
      const alive = w.source !== undefined && this.o.heardSince(w.source, w.askedAt);
      if (tries >= this.o.maxTries && !alive) {
        this.wants.delete(author);
        continue;
      }
      if (w.source && awaiting(w.source)) {
        this.postpone(w, stalled, now);
        continue;
      }
      const request = this.ask(author, w, h, { stalled, tries, alive }, now);
      if (request) out.push(request);
    }
    return out;
  }

  /** A message from the station asked is partly received: what its rest brings is not asked for yet. */
  private postpone(w: Want, stalled: boolean, now: number): void {
    const later = now + this.wait(w, this.o.holeDelayMs);
    if (stalled) w.nextAsk = later;
    if (w.holeAt < later) w.holeAt = later;
  }

  /** The request for one feed (the gaps, and the tail when `stalled`), and the timers set for the next. */
  private ask(author: AuthorId, w: Want, head: number, s: { stalled: boolean; tries: number; alive: boolean }, now: number): DueRequest | undefined {
    // A station still heard sending events is busy, not gone: do not ask everyone.
    const responder = s.tries < this.o.designatedTries || this.o.busy(w.source) ? w.source : undefined;
    const ranges = this.ranges(w, head, s.stalled, now);
    w.askedAt = now;
    if (s.stalled) {
      w.tries++;
      w.nextAsk = now + this.retryDelay(w, s.alive ? 0 : w.tries);
    }
    w.holeTries++;
    w.holeAt = w.got.length === 0 ? Number.POSITIVE_INFINITY : now + this.retryDelay(w, s.alive ? 0 : w.holeTries);
    return ranges.length > 0 ? { author, ranges, responder } : undefined;
  }

  nextWake(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const w of this.wants.values()) t = Math.min(t, w.nextAsk, w.holeAt);
    return t;
  }

  get size(): number {
    return this.wants.size;
  }

  private create(author: AuthorId, open: boolean, now: number): Want {
    const w: Want = {
      to: 0, source: undefined, open, got: [], coming: [], nextAsk: now + this.o.random() * this.o.requestDelayMs,
      holeAt: Number.POSITIVE_INFINITY, tries: 0, holeTries: 0, askedAt: Number.POSITIVE_INFINITY,
      flowedAt: Number.NEGATIVE_INFINITY, pause: 0,
    };
    this.wants.set(author, w);
    return w;
  }

  /**
   * The gaps behind what was received, and (when `tail`) the rest: open, or
   * up to what a neighbour showed; events on their way are left out.
   */
  private ranges(w: Want, head: number, tail: boolean, now: number): [number, number | null][] {
    const out: [number, number | null][] = [];
    let next = head + 1;
    w.coming = w.coming.filter((c) => c.until > now && c.to > head);
    let held = w.got;
    for (const c of w.coming) held = rangeSetAdd(held, c.from, c.to);
    for (const [a, b] of held) {
      if (a > next) out.push([next, a - 1]);
      next = Math.max(next, b + 1);
    }
    if (tail && w.open) out.push([next, null]);
    else if (tail && next <= w.to) out.push([next, w.to]);
    return out;
  }

  /** `base`, or busyWaitMs when longer and the station asked is busy. */
  private wait(w: Want, base: number): number {
    return this.o.busy(w.source) ? Math.max(base, this.o.busyWaitMs) : base;
  }

  private retryDelay(w: Want, tries: number): number {
    return this.wait(w, this.o.retryMs * 2 ** Math.min(tries, MAX_RETRY_DOUBLINGS)) * (0.75 + 0.5 * this.o.random());
  }
}
