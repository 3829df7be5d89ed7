/**
 * The sync protocol for a broadcast, lossy channel: bytes in, bytes out, with
 * the clock and random source injected, so it is deterministic under test and
 * knows nothing of radios.
 *
 * - Beacons carry the frontier digest on a Trickle timer (RFC 6206): fast
 *   after a change, backing off while all agree, suppressed by k beacons
 *   that said the same. A station that hears a different digest broadcasts
 *   its frontier after a random back-off, unless it first hears a frontier
 *   with its own digest; during an exchange, at most every `frontierHoldMs`
 *   (announcer.ts).
 * - From a frontier, a station learns what it lacks and requests it from the
 *   station that showed it (wants.ts): that station answers at once, others
 *   stay quiet; a request nobody answered goes to anyone. Only gaps are asked
 *   for: events received beyond a gap, or on their way, are not. A feed whose
 *   origin it does not hear is asked open-ended, and the relay forwards what
 *   it receives later (pipelining: no frontier round per hop).
 * - From a frontier it also learns what the sender lacks, and offers it after
 *   a back-off (a lost request then costs no round on a lossy link).
 * - Answers to requests that name nobody wait a random back-off; any part of
 *   them overheard from another station is dropped, so one transmission
 *   serves everyone. What a requester shows it holds is struck from what it
 *   is owed (answers.ts).
 * - Every station serves every member's feed: store-and-forward.
 * - Fresh events go before backfill, then the mapping's type priorities.
 * - Attachment bytes go last (blob-transfer.ts): a blob message only when
 *   this station neither lacks nor owes events, has no frontier to send and
 *   heard or sent no event traffic for `blobQuietMs`; at most one per
 *   `blobGapMs`, and only when the radio's budget keeps its reserve.
 */
import { shortTag, frontierTotal } from "../frontier.js";
import type { AuthorId } from "../ids.js";
import { Announcer } from "./announcer.js";
import { Answers, EVENTS_HEADER_BYTES } from "./answers.js";
import { BlobTransfer, type BlobStatus } from "./blob-transfer.js";
import {
  decodeMessage, encodeMessage, frontierPages, peekEventsRange, requestMessages,
  type EventsMessage, type FrontierMessage, type RequestMessage, type SyncMessage,
} from "./messages.js";
import { resolveSyncOptions, type ResolvedSyncOptions, type SyncNodeOptions, type SyncStats } from "./sync-options.js";
import { Wants } from "./wants.js";
import { agreesOnMembers, KindredDigests } from "./kindred-digests.js";

export { EVENTS_HEADER_BYTES };
export { SYNC_DEFAULTS, type SyncNodeOptions, type SyncStats, type SyncStore, type WireBatch } from "./sync-options.js";

/** Unanswered requests to the station that showed the events before a request names nobody. */
const DESIGNATED_TRIES = 2;
/** Give up on a range after this many unanswered requests to a silent station; the next frontier heard brings it back. */
const MAX_REQUEST_TRIES = 6;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export class SyncNode {
  private readonly o: ResolvedSyncOptions;
  private readonly announcer: Announcer;
  /** Control messages made and not yet sent (a poll may take fewer than are due). */
  private readonly control: SyncMessage[] = [];
  private readonly wants: Wants;
  private readonly answers: Answers;
  /** Digests that differ from ours only in feeds we do not take (kindred-digests.ts). */
  private readonly kindred = new KindredDigests();
  /** When each station was last heard (directly): a feed whose origin we hear needs no relay to forward it. */
  private readonly lastHeard = new Map<string, number>();
  /** When each station was last heard sending events. */
  private readonly sending = new Map<string, number>();
  private readonly blobs: BlobTransfer | undefined;
  /** When event traffic was last heard or sent (blob traffic waits for quiet). */
  private eventTrafficAt = Number.NEGATIVE_INFINITY;
  private blobSentAt = Number.NEGATIVE_INFINITY;
  readonly stats: SyncStats = {
    framesSent: { beacon: 0, frontier: 0, request: 0, events: 0, "blob-want": 0, "blob-chunk": 0 },
    bytesSent: 0,
    framesReceived: 0,
    dropped: {},
    suppressedEvents: 0,
    duplicateEvents: 0,
  };

  constructor(options: SyncNodeOptions) {
    const o = resolveSyncOptions(options);
    this.o = o;
    this.announcer = new Announcer(o, o.now());
    this.wants = new Wants({
      random: o.random, requestDelayMs: o.requestDelayMs, retryMs: o.requestRetryMs, holeDelayMs: o.holeDelayMs,
      busyWaitMs: o.busyWaitMs, designatedTries: DESIGNATED_TRIES, maxTries: MAX_REQUEST_TRIES,
      busy: (station) => station !== undefined && (this.sending.get(hex(station)) ?? -Infinity) > o.now() - o.busyWaitMs,
      heardSince: (station, since) => (this.lastHeard.get(hex(station)) ?? -Infinity) > since,
    });
    this.answers = new Answers(o);
    this.blobs = o.blobStore
      ? new BlobTransfer({
        store: o.blobStore, ...(o.wantsBlob ? { wantsBlob: o.wantsBlob } : {}), random: o.random, now: o.now(), retryMs: o.requestRetryMs, blobGapMs: o.blobGapMs,
        answerDelayMs: o.answerDelayMs, crossMs: o.crossMs, mtu: o.mtu,
      })
      : undefined;
  }

  /** Call after this site appended events: neighbours should hear of it soon. */
  localChange(): void {
    this.eventTrafficAt = this.o.now();
    this.announcer.announce(this.o.now());
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
        this.kindred.learn(m.digest, this.o.store.digest(), m.pages === 1 && this.agreesOnMembers(m));
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
      case "blob-want":
      case "blob-chunk":
        this.blobs?.receive(m, now);
        break;
    }
    if (m.type === "request" || m.type === "events") this.eventTrafficAt = now;
    this.announcer.settle(this.busy(), now);
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
    if (author === undefined || r.start > this.limitOf(author) || this.wants.holds(author, r.start, r.end, this.o.store.headSeq(author))) return false;
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
    const same = this.kindred.same(digest, this.o.store.digest());
    if (!same) this.eventTrafficAt = now;
    this.announcer.heard(same, this.busy(), now);
  }

  /** The last seq of `author`'s feed the store takes (a removed member's cut). */
  private limitOf(author: AuthorId): number {
    return this.o.store.acceptsUpTo?.(author) ?? Number.POSITIVE_INFINITY;
  }

  /** Whether a frontier agrees with ours on every feed we take (then its digest counts as ours). */
  private agreesOnMembers(m: FrontierMessage): boolean {
    const entries = m.entries.map((e) => ({ author: this.o.store.authorByShort(e.short), seq: e.seq }));
    return agreesOnMembers(entries, this.o.store.frontier(), (a) => this.limitOf(a as AuthorId));
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
      const seq = Math.min(e.seq, this.limitOf(author)); // beyond a removed member's cut there is nothing to ask for
      this.wants.learn(author, seq, this.o.store.headSeq(author), from, this.needsRelay(author), now);
      this.answers.holds(author, requester, e.seq);
      offer(author, e.seq);
    }
    if (m.pages === 1) for (const author of this.o.store.frontier().keys()) if (!listed.has(author)) offer(author, 0);
  }

  /** A feed whose origin we have never heard comes through a relay: ask it open-ended. */
  private needsRelay(author: AuthorId): boolean {
    // A link that never says who sent what (lastHeard empty) gives no ground for it.
    return this.lastHeard.size > 0 && !this.lastHeard.has(hex(shortTag(author)));
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
        if (r.to === null && (m.responder || head >= r.from)) {
          this.answers.follow(author, requester, now + this.o.followTtlMs, m.responder !== undefined);
        }
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
    if (m.start > this.limitOf(author)) return this.drop("removed-member");
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
    if (after > before) this.answers.ingested(author, before + 1, after, now, this.o.random() * this.o.answerDelayMs);
    if (before === 0 && after > 0) this.announcer.announce(now); // a feed new to us: neighbours may lack it too
    else if (after > before && !this.answers.followed(author) && !this.busy()) this.announcer.changed(now);
  }

  // ------------------------------------------------------------ send

  /** The earliest time at which `poll` may have something to send. */
  nextWake(): number {
    if (this.control.length > 0) return this.o.now();
    return Math.min(this.announcer.nextWake(), this.wants.nextWake(), this.answers.nextWake(), this.blobWake());
  }

  /** When a blob message may go: never while events are lacking, owed or in the air nearby; then at its gap and the radio's reserve. */
  private blobWake(): number {
    if (!this.blobs || this.control.length > 0 || this.busy() || this.announcer.frontierPending()) return Number.POSITIVE_INFINITY;
    const due = this.blobs.nextWake(this.o.now());
    if (due === Number.POSITIVE_INFINITY) return due;
    return Math.max(due, this.eventTrafficAt + this.o.blobQuietMs, this.blobSentAt + this.o.blobGapMs, this.o.blobAirtimeAt?.() ?? 0);
  }

  /** Messages due now, most urgent first (beacon, frontier, requests, events); at most `budget` of them. */
  poll(budget = Number.POSITIVE_INFINITY): Uint8Array[] {
    const now = this.o.now();
    this.announcer.settle(this.busy(), now);
    this.queueControl(now);
    const out = this.control.splice(0, Math.max(0, budget));
    out.push(...this.answers.next(now, budget - out.length));
    if (out.some((m) => m.type !== "beacon")) this.eventTrafficAt = now;
    // Control and events first: a blob message only takes a turn nothing else wanted.
    // The radio's airtime answer is read on a clock that kept running since `now`: compare it with a fresh reading
    // (on a real clock an answer of "free from now" is always a little after `now`, and no blob would ever go).
    const blobDue = out.length === 0 && budget > 0 ? this.blobWake() : Number.POSITIVE_INFINITY;
    const blob = blobDue <= this.o.now() ? this.blobs?.next(now) : undefined;
    if (blob) {
      out.push(blob);
      this.blobSentAt = now;
    }
    return out.map((m) => {
      const bytes = encodeMessage(m);
      this.stats.framesSent[m.type]++;
      this.stats.bytesSent += bytes.length;
      return bytes;
    });
  }

  private queueControl(now: number): void {
    const due = this.announcer.due(now);
    const store = this.o.store;
    if (due.beacon) this.control.push({ type: "beacon", digest: store.digest(), total: frontierTotal(store.frontier()) });
    if (due.frontier) {
      const entries = [...store.frontier()].map(([author, seq]) => ({ short: shortTag(author), seq }));
      this.control.push(...frontierPages(store.digest(), entries, this.o.mtu));
    }
    // A feed held up to its removal cut has nothing more to want (what was wanted beyond it is void now).
    const held = (a: AuthorId) => (store.headSeq(a) >= this.limitOf(a) ? Number.POSITIVE_INFINITY : store.headSeq(a));
    const ranges = this.wants.due(now, held, this.o.awaiting).flatMap((d) =>
      d.ranges
        .filter(([from]) => from <= this.limitOf(d.author))
        .map(([from, to]) => ({ short: shortTag(d.author), from, to, ...(d.responder ? { responder: d.responder } : {}) })));
    this.control.push(...requestMessages(ranges, this.o.mtu));
  }

  /** How many answers and wants are pending (for status and for tests that wait for quiet). */
  pending(): { answers: number; wants: number } {
    return { answers: this.answers.size, wants: this.wants.size };
  }

  /** Blobs held, wanted and part-way received, and the blob traffic counters; undefined without a blob store. */
  blobStatus(): BlobStatus | undefined {
    return this.blobs?.status();
  }

  trickleInterval(): number {
    return this.announcer.interval();
  }
}
