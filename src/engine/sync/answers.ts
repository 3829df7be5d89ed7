/**
 * What this station owes others: per feed, the ranges still to send and when
 * they are due, and the feeds a neighbour follows through us (it asked
 * open-ended, so what we receive later is forwarded without another round).
 *
 * Each requester's demand is kept apart, so what it shows it holds (in a
 * later request, its frontier, events it sends) is struck from what we owe
 * it: a relay busy with other feeds does not send what was recovered meanwhile.
 *
 * One message goes per feed per turn. Fresh events go before backfill, then
 * the mapping's record-type priority (attachments last); fresh events newest
 * first, backfill round-robin over the feeds, so a relay feeds every stream
 * behind it at once instead of draining one feed while the others wait.
 * Any part of an answer to a request that named nobody, overheard from
 * another station, is struck from it.
 */
import type { CborValue } from "../cbor.js";
import { FRESH_WINDOW_MS } from "../constants.js";
import { shortTag } from "../frontier.js";
import type { AuthorId } from "../ids.js";
import type { EventsMessage } from "./messages.js";
import { rangeSetAdd, rangeSetRemove, rangeSetSize, type RangeSet } from "./range-set.js";
import type { SyncStore, WireBatch } from "./sync-options.js";

/** Bytes of an events message around its items: version, type, 5-byte short tag, start seq, array header. */
export const EVENTS_HEADER_BYTES = 12;

/** Priority of an answer made only of attachment metadata: below every record type's (0..9). */
const ATTACHMENT_PRIORITY = -1;

export interface AnswersOptions {
  readonly store: SyncStore;
  readonly now: () => number;
  /** How long a range just sent is not sent again on request (a request that crossed it on the way). */
  readonly crossMs: number;
  readonly mtu: number;
  readonly wallNow: () => number;
  readonly priorityOf: (type: string) => number;
  /** Gap between successive messages of one answer, so others can overhear and suppress. */
  readonly frameGapMs: number;
}

/** Who asked: a requester's station id (hex), "" when the link does not tell. */
export type Requester = string;

interface Demand {
  ranges: RangeSet;
  /** Asked of us by name: only we answer it, so an answer overheard from another station does not cover it. */
  readonly designated: boolean;
}

interface Answer {
  /** What each requester still lacks of the feed, as far as we know. */
  demands: Map<Requester, Demand>;
  due: number;
  /** When a message of this feed last went out (round-robin among backfill). */
  servedAt: number;
}

interface Follower {
  readonly until: number;
  readonly designated: boolean;
}

interface Sent {
  readonly start: number;
  readonly end: number;
  readonly at: number;
}

interface Candidate {
  readonly author: AuthorId;
  readonly a: Answer;
  readonly items: CborValue[];
  readonly start: number;
  readonly end: number;
  readonly newest: number;
  readonly priority: number;
}

export class Answers {
  private readonly answers = new Map<AuthorId, Answer>();
  /** Feeds followed through us: by whom, and until when. */
  private readonly followers = new Map<AuthorId, Map<Requester, Follower>>();
  /** Ranges sent lately, per feed, oldest first (see recentlySent). */
  private readonly recent = new Map<AuthorId, Sent[]>();
  /** How far each requester is known to hold each feed (bounded by the members heard: a few entries each). */
  private readonly known = new Map<Requester, Map<AuthorId, number>>();

  constructor(private readonly o: AnswersOptions) {}

  /** `requester` asked for [from, to] of `author` (of us by name, or of anyone), due at `due` (an earlier due wins). */
  offer(author: AuthorId, from: number, to: number, due: number, requester: Requester = "", designated = true): void {
    let ranges: RangeSet = to < from ? [] : [[from, to]];
    for (const r of this.recentlySent(author)) ranges = rangeSetRemove(ranges, r.start, r.end);
    if (ranges.length === 0) return;
    let a = this.answers.get(author);
    if (!a) {
      a = { demands: new Map(), due, servedAt: 0 };
      this.answers.set(author, a);
    }
    const d = a.demands.get(requester);
    let merged = d?.ranges ?? [];
    for (const [x, y] of ranges) merged = rangeSetAdd(merged, x, y);
    a.demands.set(requester, { ranges: merged, designated: designated || (d?.designated ?? false) });
    a.due = Math.min(a.due, due);
  }

  /**
   * What went out of `author`'s feed within the last crossMs: a request for
   * it crossed our answer on the way (or waited in its sender's queue), and
   * is not answered again; if the answer was really lost, the next request
   * comes after that.
   */
  private recentlySent(author: AuthorId): readonly Sent[] {
    const list = this.recent.get(author);
    if (!list) return [];
    const after = this.o.now() - this.o.crossMs;
    while (list.length > 0 && (list[0] as Sent).at <= after) list.shift();
    if (list.length === 0) this.recent.delete(author);
    return list;
  }

  /**
   * `requester` follows `author` through us until `until`; `designated`: it
   * asked us by name. Otherwise what we forward waits `delayMs`, and is
   * dropped if another station is heard forwarding it first.
   */
  follow(author: AuthorId, requester: Requester, until: number, designated: boolean): void {
    const f = this.followers.get(author) ?? new Map<Requester, Follower>();
    const old = f.get(requester);
    f.set(requester, { until: Math.max(until, old?.until ?? 0), designated: designated || (old?.designated ?? false) });
    this.followers.set(author, f);
  }

  /** Whether `requester` is known to hold all of [.., end] of `author` already. */
  knownToHold(author: AuthorId, requester: Requester, end: number): boolean {
    return (this.known.get(requester)?.get(author) ?? 0) >= end;
  }

  /** Whether we owe `requester` some of `author`'s feed already. */
  serves(author: AuthorId, requester: Requester): boolean {
    return this.answers.get(author)?.demands.has(requester) ?? false;
  }

  /** Whether a neighbour follows `author` through us. */
  followed(author: AuthorId): boolean {
    return this.followers.has(author);
  }

  /** We received [from, to] of `author`: owed to whoever follows it through us (at once if it named us). */
  ingested(author: AuthorId, from: number, to: number, now: number, delayMs: number): void {
    const f = this.followers.get(author);
    if (!f) return;
    for (const [requester, follower] of f) {
      if (follower.until <= now) f.delete(requester);
      else if (follower.designated) this.offer(author, from, to, now, requester);
      else this.offer(author, from, to, now + delayMs, requester, false);
    }
    if (f.size === 0) this.followers.delete(author);
  }

  /** `requester` holds `author`'s feed up to `seq` (its request, frontier or events showed it): it needs none of that. */
  holds(author: AuthorId, requester: Requester, seq: number): void {
    if (requester !== "" && seq > 0) {
      const known = this.known.get(requester) ?? new Map<AuthorId, number>();
      known.set(author, Math.max(seq, known.get(author) ?? 0));
      this.known.set(requester, known);
    }
    if (seq > 0) this.strike(author, requester, 1, seq);
  }

  /** `requester` is getting [start, end] of `author` another way (it is recovering a message that carries them). */
  coming(author: AuthorId, requester: Requester, start: number, end: number): void {
    this.strike(author, requester, start, end);
  }

  /**
   * [start, end] of `author` was heard from another station: no need to send
   * it ourselves to those who asked anyone. Returns how many events that spared.
   */
  overheard(author: AuthorId, start: number, end: number): number {
    const a = this.answers.get(author);
    if (!a) return 0;
    const before = rangeSetSize(this.owed(a));
    for (const [requester, d] of a.demands) {
      if (d.designated) continue;
      d.ranges = rangeSetRemove(d.ranges, start, end);
      if (d.ranges.length === 0) a.demands.delete(requester);
    }
    if (a.demands.size === 0) this.answers.delete(author);
    return before - rangeSetSize(this.owed(a));
  }

  /** At most `budget` events messages due now, most urgent first; the rest stays owed. */
  next(now: number, budget: number): EventsMessage[] {
    const due = this.candidates(now);
    const freshAfter = this.o.wallNow() - FRESH_WINDOW_MS;
    const fresh = (d: Candidate) => d.newest >= freshAfter;
    due.sort((x, y) =>
      Number(fresh(y)) - Number(fresh(x)) || y.priority - x.priority ||
      (fresh(x) ? y.newest - x.newest : x.a.servedAt - y.a.servedAt));
    const out: EventsMessage[] = [];
    for (const d of due) {
      if (out.length >= budget) break;
      out.push({ type: "events", short: shortTag(d.author), start: d.start, items: d.items });
      d.a.servedAt = now;
      this.sent(d.author, d.a, d.start, d.end);
      this.recent.set(d.author, [...this.recentlySent(d.author), { start: d.start, end: d.end, at: now }]);
      if (this.answers.has(d.author)) d.a.due = now + this.o.frameGapMs;
    }
    return out;
  }

  nextWake(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const a of this.answers.values()) t = Math.min(t, a.due);
    return t;
  }

  get size(): number {
    return this.answers.size;
  }

  /** The first message of every due answer; ranges the store no longer has are dropped. */
  private candidates(now: number): Candidate[] {
    const out: Candidate[] = [];
    for (const [author, a] of this.answers) {
      if (now < a.due) continue;
      const [from, to] = this.owed(a)[0] as [number, number];
      const batch = this.o.store.wireItems(author, from, to, this.o.mtu - EVENTS_HEADER_BYTES);
      if (batch.items.length === 0) {
        this.sent(author, a, from, to);
        continue;
      }
      const end = from + batch.items.length - 1;
      out.push({ author, a, items: batch.items, start: from, end, newest: batch.newestWall, priority: this.priority(batch) });
    }
    return out;
  }

  /** What we owe of a feed: every requester's demand together. */
  private owed(a: Answer): RangeSet {
    let all: RangeSet = [];
    for (const d of a.demands.values()) for (const [x, y] of d.ranges) all = rangeSetAdd(all, x, y);
    return all;
  }

  /** Strikes [start, end] of `author` from what `requester` is owed. */
  private strike(author: AuthorId, requester: Requester, start: number, end: number): void {
    const a = this.answers.get(author);
    const d = a?.demands.get(requester);
    if (!a || !d) return;
    d.ranges = rangeSetRemove(d.ranges, start, end);
    if (d.ranges.length === 0) a.demands.delete(requester);
    if (a.demands.size === 0) this.answers.delete(author);
  }

  /** [start, end] went out (or is gone from the store): nobody is owed it any more. */
  private sent(author: AuthorId, a: Answer, start: number, end: number): void {
    for (const [requester, d] of a.demands) {
      d.ranges = rangeSetRemove(d.ranges, start, end);
      if (d.ranges.length === 0) a.demands.delete(requester);
    }
    if (a.demands.size === 0) this.answers.delete(author);
  }

  private priority(batch: WireBatch): number {
    if (batch.attachmentsOnly) return ATTACHMENT_PRIORITY;
    return Math.max(0, ...(batch.types ?? []).map((t) => this.o.priorityOf(t)));
  }
}
