/**
 * The sync protocol for a broadcast, lossy channel: bytes in, bytes out, with
 * the clock and random source injected, so it is deterministic under test and
 * knows nothing of radios.
 *
 * - Beacons carry the frontier digest on a Trickle timer (RFC 6206): fast
 *   after a change, backing off while all agree, suppressed by k beacons
 *   that said the same.
 * - A station that hears a digest unlike its own broadcasts its frontier after
 *   a random back-off, unless it first hears a frontier with its own digest.
 *   While an exchange is under way (it lacks or owes events) a different
 *   digest is expected: it answers one at most every `frontierHoldMs`, and
 *   it does not reset Trickle. A station that receives a feed it had none of,
 *   or writes events itself, announces its frontier at once.
 * - From a frontier, a station learns what it lacks and requests it from the
 *   station that showed it (wants.ts): that station answers at once, others
 *   stay quiet; a request nobody answered goes to anyone. It also learns what
 *   the sender lacks, and offers it after a back-off (a lost request then
 *   costs no round on a lossy link). A feed whose origin
 *   it does not hear is requested open-ended, and the relay forwards what it
 *   receives later (pipelining: no frontier round per hop).
 * - Answers without a named responder wait a random back-off; any part of an
 *   answer overheard from another station is dropped from it, so one
 *   transmission serves everyone (answers.ts).
 * - Every station serves every member's feed: store-and-forward.
 * - Fresh events go before backfill, then the mapping's type priorities.
 */
import type { CborValue } from "../cbor.js";
import { shortTag, frontierTotal, type Frontier } from "../frontier.js";
import type { AuthorId } from "../ids.js";
import type { IngestReport } from "../store/ingest-types.js";
import { Answers, EVENTS_HEADER_BYTES } from "./answers.js";
import { decodeMessage, encodeMessage, peekEventsRange, type EventsMessage, type FrontierMessage, type RequestMessage, type SyncMessage } from "./messages.js";
import { createTrickle, type Trickle, type TrickleOptions } from "./trickle.js";
import { Wants } from "./wants.js";

export { EVENTS_HEADER_BYTES };

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

/** Protocol timing defaults, chosen for a LoRa channel where one frame takes 0.1–2 s of airtime. */
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
  /** Wait before asking again for a range nobody answered; doubles per retry. */
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
};

/** Unanswered requests to the station that showed the events before a request names nobody. */
const DESIGNATED_TRIES = 2;
/** Give up on a range after this many unanswered requests; the next frontier heard brings it back. */
const MAX_REQUEST_TRIES = 6;

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

type Optional = "onIngest" | "stationId" | "awaiting";
type ResolvedOptions = Required<Omit<SyncNodeOptions, Optional>> & Pick<SyncNodeOptions, Optional>;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export class SyncNode {
  private readonly o: ResolvedOptions;
  private readonly trickle: Trickle;
  private frontierDue: number | null = null;
  private lastFrontierAt = Number.NEGATIVE_INFINITY;
  /** A different digest was heard while an exchange was under way (and not yet answered as an inconsistency). */
  private mismatchWhileBusy = false;
  /** Control messages made and not yet sent (a poll may take fewer than are due). */
  private readonly control: SyncMessage[] = [];
  private readonly wants: Wants;
  private readonly answers: Answers;
  /** When each station was last heard (directly): a feed whose origin we hear needs no relay to forward it. */
  private readonly lastHeard = new Map<string, number>();
  /** When each station was last heard sending events. */
  private readonly sending = new Map<string, number>();
  readonly stats: SyncStats = {
    framesSent: { beacon: 0, frontier: 0, request: 0, events: 0 },
    bytesSent: 0,
    framesReceived: 0,
    dropped: {},
    suppressedEvents: 0,
    duplicateEvents: 0,
  };

  constructor(options: SyncNodeOptions) {
    const d = SYNC_DEFAULTS;
    this.o = {
      mtu: d.mtu, trickle: d.trickle, frontierDelayMs: d.frontierDelayMs, frontierHoldMs: d.frontierHoldMs,
      answerDelayMs: d.answerDelayMs, requestDelayMs: d.requestDelayMs, requestRetryMs: d.requestRetryMs,
      holeDelayMs: d.holeDelayMs, busyWaitMs: d.busyWaitMs, crossMs: d.crossMs, followTtlMs: d.followTtlMs, frameGapMs: d.frameGapMs,
      wallNow: Date.now, priorityOf: () => 0,
      ...options,
    };
    this.trickle = createTrickle(this.o.trickle, this.o.random, this.o.now());
    this.wants = new Wants({
      random: this.o.random, requestDelayMs: this.o.requestDelayMs, retryMs: this.o.requestRetryMs,
      holeDelayMs: this.o.holeDelayMs, busyWaitMs: this.o.busyWaitMs,
      busy: (station) => station !== undefined && (this.sending.get(hex(station)) ?? -Infinity) > this.o.now() - this.o.busyWaitMs,
      heardSince: (station, since) => (this.lastHeard.get(hex(station)) ?? -Infinity) > since,
      designatedTries: DESIGNATED_TRIES, maxTries: MAX_REQUEST_TRIES,
    });
    this.answers = new Answers({
      store: this.o.store, now: this.o.now, crossMs: this.o.crossMs, mtu: this.o.mtu, wallNow: this.o.wallNow, priorityOf: this.o.priorityOf, frameGapMs: this.o.frameGapMs,
    });
  }

  /** Call after this site appended events: neighbours should hear of it soon. */
  localChange(): void {
    this.announce(this.o.now());
  }

  // ------------------------------------------------------------ receive

  /**
   * Handles one received message, from the station `from` when the link
   * tells (its station id). Bad ones are dropped and counted, never thrown; a
   * good one is handed back (the radio station learns from beacons and
   * frontiers how far behind the sender is).
   */
  receive(frame: Uint8Array, from?: Uint8Array): SyncMessage | undefined {
    this.stats.framesReceived++;
    const parsed = decodeMessage(frame);
    if (!parsed.ok) {
      this.drop(parsed.reason);
      return undefined;
    }
    const m = parsed.message;
    const now = this.o.now();
    if (from) this.lastHeard.set(hex(from), now);
    switch (m.type) {
      case "beacon":
        this.onDigest(m.digest, now);
        break;
      case "frontier":
        this.onDigest(m.digest, now);
        this.onFrontier(m, from, now);
        break;
      case "request":
        this.onRequest(m, from, now);
        break;
      case "events":
        if (from) this.sending.set(hex(from), now);
        this.onEvents(m, from, now);
        break;
    }
    this.settle(now);
    return m;
  }

  /**
   * Whether a message that begins with `prefix` (its first fragment) carries
   * anything this station lacks; the air layer does not ask again for the
   * rest of one that does not.
   */
  wantsMessage(prefix: Uint8Array): boolean {
    const r = peekEventsRange(prefix);
    if (!r) return true;
    const author = this.o.store.authorByShort(r.short);
    if (author === undefined || this.wants.holds(author, r.start, r.end, this.o.store.headSeq(author))) return false;
    // The rest is being recovered: do not ask for these events meanwhile.
    this.wants.coming(author, r.start, r.end, this.o.now() + 2 * Math.max(this.o.holeDelayMs, this.o.busyWaitMs));
    return true;
  }

  /**
   * Station `peer` asks for the rest of a message that begins with `prefix`.
   * Returns false when it is known to hold what the message carries (it only
   * overheard it): not worth re-sending. Otherwise what it carries is on its
   * way to that station, and is struck from what we owe it.
   */
  peerRecovering(peer: Uint8Array, prefix: Uint8Array): boolean {
    const r = peekEventsRange(prefix);
    const author = r ? this.o.store.authorByShort(r.short) : undefined;
    if (!r || !author) return true;
    if (this.answers.knownToHold(author, hex(peer), r.end)) return false;
    this.answers.coming(author, hex(peer), r.start, r.end);
    return true;
  }

  private drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  /** An exchange is under way: we lack or owe events. */
  private busy(): boolean {
    return this.wants.size > 0 || this.answers.size > 0;
  }

  private onDigest(digest: Uint8Array, now: number): void {
    if (Buffer.from(digest).equals(Buffer.from(this.o.store.digest()))) {
      this.mismatchWhileBusy = false;
      this.trickle.consistent();
      this.frontierDue = null; // someone already said what we would say
      return;
    }
    if (this.busy()) {
      this.mismatchWhileBusy = true;
      if (now < this.lastFrontierAt + this.o.frontierHoldMs) return;
    } else {
      this.trickle.inconsistent(now);
    }
    this.frontierDue ??= now + this.o.random() * this.o.frontierDelayMs;
  }

  /** An exchange ended while a neighbour was heard to differ: what is left unsettled is an inconsistency now. */
  private settle(now: number): void {
    if (!this.mismatchWhileBusy || this.busy()) return;
    this.mismatchWhileBusy = false;
    this.announce(now);
  }

  /** Our frontier changed in a way neighbours cannot guess: tell them soon. */
  private announce(now: number): void {
    this.trickle.inconsistent(now);
    this.frontierDue ??= now + this.o.random() * this.o.frontierDelayMs;
  }

  /**
   * A frontier shows what we lack (asked for, of its sender) and what its
   * sender lacks: offered after a back-off, unless we serve it that feed
   * already or hear another station send it first.
   */
  private onFrontier(m: FrontierMessage, from: Uint8Array | undefined, now: number): void {
    const listed = new Set<AuthorId>();
    const requester = from ? hex(from) : "";
    const offer = (author: AuthorId, seq: number) => {
      const head = this.o.store.headSeq(author);
      if (seq < head && !this.answers.serves(author, requester)) {
        this.answers.offer(author, seq + 1, head, now + this.o.random() * this.o.answerDelayMs, requester, false);
      }
    };
    for (const e of m.entries) {
      const author = this.o.store.authorByShort(e.short);
      if (!author) {
        this.drop("unknown-author");
        continue;
      }
      listed.add(author);
      this.wants.learn(author, e.seq, this.o.store.headSeq(author), from, this.needsRelay(author), now);
      this.answers.holds(author, requester, e.seq);
      offer(author, e.seq);
    }
    if (m.pages === 1) for (const author of this.o.store.frontier().keys()) if (!listed.has(author)) offer(author, 0);
  }

  /** A feed whose origin we have never heard comes through a relay: ask it open-ended. */
  private needsRelay(author: AuthorId): boolean {
    return !this.lastHeard.has(hex(shortTag(author)));
  }

  private onRequest(m: RequestMessage, from: Uint8Array | undefined, now: number): void {
    const mine = !m.responder || !this.o.stationId || Buffer.compare(m.responder, this.o.stationId) === 0;
    const requester = from ? hex(from) : "";
    const lowest = new Map<AuthorId, number>();
    for (const r of m.ranges) {
      const author = this.o.store.authorByShort(r.short);
      if (!author) {
        this.drop("unknown-author");
        continue;
      }
      lowest.set(author, Math.min(r.from, lowest.get(author) ?? r.from));
      const head = this.o.store.headSeq(author);
      if (mine) {
        const due = m.responder ? now : now + this.o.random() * this.o.answerDelayMs;
        this.answers.offer(author, r.from, Math.min(r.to ?? head, head), due, requester, m.responder !== undefined);
        // Asked by name, or we hold the start of it: forward what comes later through us.
        if (r.to === null && (m.responder || head >= r.from)) this.answers.follow(author, requester, now + this.o.followTtlMs);
      }
      // Someone else asked for what we want: their answer will serve us too.
      this.wants.othersAsked(author, r.from, r.to, head, now);
    }
    // A request lists what its sender lacks from its head on: it holds everything before.
    for (const [author, seq] of lowest) this.answers.holds(author, requester, seq - 1);
  }

  private onEvents(m: EventsMessage, from: Uint8Array | undefined, now: number): void {
    const author = this.o.store.authorByShort(m.short);
    if (!author) return this.drop("unknown-author");
    const start = m.start;
    const end = start + m.items.length - 1;
    this.stats.suppressedEvents += this.answers.overheard(author, start, end); // no need to send them ourselves
    if (from) this.answers.holds(author, hex(from), end); // a station sends from its store: it holds all up to `end`
    const before = this.o.store.headSeq(author);
    if (this.wants.holds(author, start, end, before)) {
      this.stats.duplicateEvents += m.items.length;
      return;
    }
    const report = this.o.store.ingestWire(author, start, m.items);
    this.o.onIngest?.(report, author);
    const after = this.o.store.headSeq(author);
    this.wants.received(author, { start, end, before, after }, from, this.needsRelay(author), now);
    if (after > before) this.answers.ingested(author, before + 1, after, now);
    if (before === 0 && after > 0) this.announce(now); // a feed new to us: neighbours may lack it too
    // Nobody has it forwarded, and no exchange under way will tell: beacon soon.
    else if (after > before && !this.answers.followed(author) && !this.busy()) this.trickle.inconsistent(now);
  }

  // ------------------------------------------------------------ send

  /** The earliest time at which `poll` may have something to send. */
  nextWake(): number {
    if (this.control.length > 0) return this.o.now();
    let t = Math.min(this.trickle.nextWake(), this.wants.nextWake(), this.answers.nextWake());
    if (this.frontierDue !== null) t = Math.min(t, this.frontierDue);
    return t;
  }

  /** Messages due now, most urgent first (beacon, frontier, requests, events); at most `budget` of them. */
  poll(budget = Number.POSITIVE_INFINITY): Uint8Array[] {
    const now = this.o.now();
    this.settle(now);
    this.queueControl(now);
    const out = this.control.splice(0, Math.max(0, budget));
    out.push(...this.answers.next(now, budget - out.length));
    return out.map((m) => {
      const bytes = encodeMessage(m);
      this.stats.framesSent[m.type]++;
      this.stats.bytesSent += bytes.length;
      return bytes;
    });
  }

  private queueControl(now: number): void {
    if (this.trickle.due(now)) {
      this.control.push({ type: "beacon", digest: this.o.store.digest(), total: frontierTotal(this.o.store.frontier()) });
    }
    if (this.frontierDue !== null && now >= this.frontierDue) {
      this.frontierDue = null;
      this.lastFrontierAt = now;
      this.control.push(...this.frontierMessages());
    }
    this.control.push(...this.requestMessages(now));
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

  /** Due requests, those naming one responder together, as many ranges a message as fit. */
  private requestMessages(now: number): SyncMessage[] {
    const byResponder = new Map<string, { responder: Uint8Array | undefined; ranges: RequestMessage["ranges"][number][] }>();
    for (const d of this.wants.due(now, (a) => this.o.store.headSeq(a), this.o.awaiting)) {
      const key = d.responder ? hex(d.responder) : "";
      const group = byResponder.get(key) ?? { responder: d.responder, ranges: [] };
      byResponder.set(key, group);
      for (const [from, to] of d.ranges) group.ranges.push({ short: shortTag(d.author), from, to });
    }
    // header ~10 bytes with a responder; a range is 5 bytes of tag plus up to 10 of seqs.
    const perMsg = Math.max(1, Math.floor((this.o.mtu - 10) / 16));
    const out: SyncMessage[] = [];
    for (const { responder, ranges } of byResponder.values()) {
      for (let i = 0; i < ranges.length; i += perMsg) {
        out.push({ type: "request", ranges: ranges.slice(i, i + perMsg), ...(responder ? { responder } : {}) });
      }
    }
    return out;
  }

  /** How many answers and wants are pending (for status and for tests that wait for quiet). */
  pending(): { answers: number; wants: number } {
    return { answers: this.answers.size, wants: this.wants.size };
  }

  trickleInterval(): number {
    return this.trickle.interval();
  }
}
