/**
 * The store: feeds, gap buffer, fork evidence, membership and the
 * materialized view in one SQLite file (WAL). A batch of events is ingested in
 * one transaction: verify, check the chain, dedupe, buffer gaps, detect forks,
 * and update the view incrementally.
 */
import Database from "better-sqlite3";
import { decodeStrict, encodeCanonical, type CborValue } from "../cbor.js";
import { MAX_EVENT_BODY_BYTES, PARALLEL_VERIFY_MIN_BATCH } from "../constants.js";
import { sha256, verifySignature, type Signer } from "../crypto.js";
import {
  canonicalEventBytes,
  isRecordBody,
  encodeBody,
  kindCode,
  parseBody,
  signEventWithBody,
  signingMessage,
  type EventBody,
  type SignedEvent,
} from "../event.js";
import { decodeSignedEvent, encodeSignedEvent, type EventDecodeResult } from "../event-codec.js";
import { frontierDigest, type Frontier } from "../frontier.js";
import { compareHlc, createHlcClock, HLC_ZERO, type Hlc, type HlcClock } from "../hlc.js";
import { hexToBytes, toEventId, type AuthorId, type EventId, type RecordId, type RecordType } from "../ids.js";
import type { RecordState } from "../record-state.js";
import { encodeView, type ConflictEntry } from "../view.js";
import type { WireBatch } from "../sync/sync-node.js";
import { encodeWireItem, parseWireItem, wireItemPrecheck } from "../wire.js";
import { AuthorRegistry, type AuthorRow } from "./author-registry.js";
import { createGapBuffer, type GapBuffer } from "./gap-buffer.js";
import { migrate } from "./schema.js";
import { decodeLocalState, type AuthorIndex } from "./record-codec.js";
import { createViewUpdater, type ViewUpdater } from "./view-updater.js";
import { sharedVerifyPool, type VerifyPool } from "./verify-pool.js";
import type { IngestOutcome, IngestReport, RefusalReason } from "./ingest-types.js";
import { StoreCorruptError } from "./store-corrupt-error.js";
import { createVocabularyIndex, type VocabularyIndex } from "./vocabulary-index.js";
import { createLexicon, type Lexicon, type VocabularyField } from "../vocabulary.js";

export type { IngestOutcome, IngestReport, RefusalReason } from "./ingest-types.js";
import { createBlobStore, type BlobStore } from "./blob-store.js";
import { createRemovalIndex, type RemovalIndex } from "./removal-index.js";
import { createFeedCutter, type FeedCutter } from "./feed-cut.js";
import type { RemovalFact } from "../removal-rule.js";
export { MembershipError } from "./author-registry.js";

export interface StoreOptions {
  /** SQLite file path, or ":memory:" for tests. */
  readonly path: string;
  /** This site's identity; required to author local events. */
  readonly signer?: Signer;
  /** Physical clock in ms; injected for tests and simulations. */
  readonly now?: () => number;
  /** "full" (default) survives power loss; "normal" survives process crashes only. */
  readonly durability?: "full" | "normal";
  /** See HlcClockOptions.maxForwardSkewMs; none (Infinity) unless given. A site passes its config's (DEFAULT_MAX_FORWARD_SKEW_MS by default). */
  readonly maxForwardSkewMs?: number;
  /** Where batches' signatures are checked in parallel; null checks every one inline. Defaults to the shared pool. */
  readonly verifyPool?: VerifyPool | null;
}

/** A candidate for ingest: a full signed event, or a wire item whose prev is derived here. */
type Candidate =
  | { form: "full"; author: AuthorRow; event: SignedEvent }
  | { form: "wire"; author: AuthorRow; seq: number; item: CborValue };

/** Parts of a candidate once its place in the feed is known. */
interface Resolved {
  seq: number;
  prev: Buffer | null;
  hlc: Hlc;
  kind: number;
  body: EventBody;
  bodyBytes: Buffer;
  sig: Uint8Array;
  id: Buffer;
  /** The prev the event itself claims (full events only). */
  claimedPrev?: Buffer | null;
}

export class SqliteStore {
  readonly db: Database.Database;
  private readonly now: () => number;
  private readonly signer: Signer | undefined;
  private readonly clock: HlcClock;
  private readonly authors: AuthorRegistry;
  /** Per author row: events applied in the running ingest whose stamps the clock would not adopt, and the farthest ahead. */
  private skewRefused = new Map<number, SkewTally>();
  /**
   * The newest stamp held that the clock did not adopt (null: none beyond the clock). While the clock is
   * at or past it, no record holds a stamp above the clock, and a local stamp needs no look at the record.
   */
  private aheadOfClock: Hlc | null = null;
  private readonly maxForwardSkewMs: number;
  private readonly gap: GapBuffer;
  private readonly view: ViewUpdater;
  private digestCache: Buffer | null = null;
  /** The newest number of the view's change sequence handed out (records.changed). */
  private lastChange = 0;
  /** Author rows by number and back, for the stored (local) form of record states. */
  private readonly authorIndex: AuthorIndex = {
    ixOf: (author) => {
      const a = this.authors.get(author);
      if (!a) throw new StoreCorruptError(`a record state refers to unknown author ${author}`);
      return a.ix;
    },
    authorOf: (ix) => this.authors.byRow(ix).author,
  };
  /** The verify pool, or null for inline checks; undefined until a batch first needs it (no worker for small stores). */
  private pool: VerifyPool | null | undefined;
  /** During an optimistic ingest: signatures being checked by the pool (key → job index), and which were relied on. */
  private presumed: Map<string, number> | null = null;
  private presumedUsed: number[] = [];
  /** During the retry of a batch the pool found bad signatures in: the pool's verdicts, so none is checked twice. */
  private known: Map<string, boolean> | null = null;
  /** Wire items rebuilt before the transaction, so `process` does not rebuild them again. */
  private resolvedAhead: Map<number, Resolved> | null = null;
  private readonly stmt;
  private readonly vocabularies: VocabularyIndex;
  /** Attachment bytes by hash (they travel apart from the events). */
  readonly blobs: BlobStore;
  /** Removal events held and the cuts they make (removal-rule.ts). */
  private readonly removals: RemovalIndex;
  private readonly cutter: FeedCutter;

  constructor(options: StoreOptions) {
    this.now = options.now ?? Date.now;
    this.signer = options.signer;
    this.pool = options.verifyPool;
    this.db = new Database(options.path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${options.durability === "normal" ? "NORMAL" : "FULL"}`);
    this.db.pragma("cache_size = -16000"); // 16 MB page cache: bounded memory at a million events
    migrate(this.db);
    this.stmt = {
      insertEvent: this.db.prepare(
        "INSERT INTO events (author_ix, seq, id, wall, counter, kind, body, sig, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      eventAt: this.db.prepare<[number, number], { id: Buffer; wall: number; counter: number }>(
        "SELECT id, wall, counter FROM events WHERE author_ix = ? AND seq = ?",
      ),
      range: this.db.prepare<[number, number, number], EventRow>(
        "SELECT seq, id, wall, counter, kind, body, sig, received_at FROM events WHERE author_ix = ? AND seq BETWEEN ? AND ? ORDER BY seq",
      ),
      saveHead: this.db.prepare(
        "UPDATE authors SET head_seq = ?, head_id = ?, head_wall = ?, head_counter = ? WHERE ix = ?",
      ),
      fork: this.db.prepare(
        "INSERT OR IGNORE INTO forks (author_ix, seq, other_id, kept_id, other_event, detected_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      counter: this.db.prepare(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
      ),
      // Per author: its violations and the last one (meta key hlc.skew-last:<author>), for the status page.
      skewViolations: this.db.prepare<[], { name: string; value: number; last: string | null }>(
        `SELECT c.name, c.value, m.value AS last FROM counters c LEFT JOIN meta m ON m.key = '${SKEW_LAST}' || substr(c.name, ${SKEW_BY_AUTHOR.length + 1})
         WHERE c.name LIKE '${SKEW_BY_AUTHOR}%'`,
      ),
      setMeta: this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      record: this.db.prepare<[string], { type: string; state: Buffer }>("SELECT type, state FROM records WHERE record_id = ?"),
      allRecords: this.db.prepare<[], { record_id: string; type: string; state: Buffer }>("SELECT record_id, type, state FROM records"),
    };
    this.authors = new AuthorRegistry(this.db);
    this.vocabularies = createVocabularyIndex(this.db);
    this.gap = createGapBuffer(this.db);
    this.blobs = createBlobStore(this.db, this.now);
    this.lastChange = (this.db.prepare("SELECT max(seq) AS m FROM view_changes").get() as { m: number | null }).m ?? 0;
    this.view = createViewUpdater(this.db, this.authorIndex, () => ++this.lastChange);
    this.removals = createRemovalIndex(this.db);
    this.cutter = createFeedCutter(this.db, this.authorIndex, () => ++this.lastChange);
    this.maxForwardSkewMs = options.maxForwardSkewMs ?? Number.POSITIVE_INFINITY;
    this.clock = createHlcClock({ now: this.now, last: this.initialHlc(), maxForwardSkewMs: this.maxForwardSkewMs });
    // Every feed's stamps increase, so its head is its newest: the newest of the heads is the newest stamp held.
    const newest = this.db.prepare("SELECT head_wall AS wall, head_counter AS counter FROM authors ORDER BY head_wall DESC, head_counter DESC LIMIT 1").get() as Hlc | undefined;
    if (newest && compareHlc(newest, this.clock.last()) > 0) this.aheadOfClock = newest;
    if (this.signer) this.addMember(this.signer.author, "self");
    if (this.removals.cuts().size > 0) this.transaction(() => this.enforceCuts()); // a store written before it knew of them
  }

  // ------------------------------------------------------------ membership

  /** Accepts events by `author` from now on. Refuses a key whose short tag collides with another member's (MembershipError). */
  addMember(author: AuthorId, name?: string): void {
    this.authors.add(author, name);
    this.digestCache = null;
  }

  /** Refuses `author`'s events from now on; what is stored stays, but is no longer offered to peers. */
  removeMember(author: AuthorId): void {
    this.authors.remove(author);
    this.digestCache = null;
  }

  /**
   * Removes `author` from the whole network: appends a removal event (kind 5)
   * that voids its events after the newest one this store holds, at every
   * site that ingests it (removal-rule.ts). Its earlier events stay and are
   * still relayed. Says why not when it cannot: no identity to sign with,
   * `author` is this site, not a member here, or already removed.
   */
  removeMemberEverywhere(author: AuthorId): RemovalOutcome {
    if (!this.signer) return { ok: false, reason: "no-identity" };
    if (author === this.signer.author) return { ok: false, reason: "self" };
    const a = this.authors.get(author);
    if (!a?.member) return { ok: false, reason: "not-a-member" };
    if (this.removals.cutOf(author) !== Number.POSITIVE_INFINITY) return { ok: false, reason: "already-removed" };
    return { ok: true, event: this.append({ kind: "removal", member: author, after: a.head.seq }) };
  }

  /** A current member: listed (addMember) and not removed by a removal event. */
  isMember(author: AuthorId): boolean {
    return this.authors.get(author)?.member === true && this.removals.cutOf(author) === Number.POSITIVE_INFINITY;
  }

  /** The current members (see isMember), this site included. */
  members(): { author: AuthorId; name: string | null }[] {
    return [...this.authors.all()].filter((a) => this.isMember(a.author)).map((a) => ({ author: a.author, name: a.name }));
  }

  /** The last valid seq of `author`'s feed: +Infinity unless a removal event held here cut it. */
  acceptsUpTo(author: AuthorId): number {
    return this.removals.cutOf(author);
  }

  /** Every removal event held, with the cut each removed member's feed ends up with. */
  removalsHeld(): { events: readonly RemovalFact[]; cuts: ReadonlyMap<AuthorId, number>; names: ReadonlyMap<AuthorId, string | null> } {
    const names = new Map<AuthorId, string | null>([...this.authors.all()].map((a) => [a.author, a.name]));
    return { events: this.removals.facts(), cuts: this.removals.cuts(), names };
  }

  /** The member whose key starts with `short`, if any. */
  authorByShort(short: Uint8Array): AuthorId | undefined {
    return this.authors.byShortTag(short)?.author;
  }

  // ------------------------------------------------------------ clock

  private initialHlc(): Hlc {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'hlc'").get() as { value: Buffer } | undefined;
    let last: Hlc = row ? { wall: row.value.readUIntBE(2, 6), counter: row.value.readUInt32BE(8) } : HLC_ZERO;
    const own = this.signer ? this.authors.get(this.signer.author) : undefined;
    if (own && compareHlc(own.head, last) > 0) last = { wall: own.head.wall, counter: own.head.counter };
    return last;
  }

  private saveClock(): void {
    const h = this.clock.last();
    const b = Buffer.alloc(12);
    b.writeUIntBE(h.wall, 2, 6);
    b.writeUInt32BE(h.counter, 8);
    this.stmt.setMeta.run("hlc", b);
  }

  /** The newest HLC stamp this site has issued or seen. */
  lastHlc(): Hlc {
    return this.clock.last();
  }

  /**
   * The stamp of a local event. One that changes a record orders after every stamp this store holds on
   * the record (its lastWrite is the newest of them): an edit made after seeing a value wins over it,
   * even when that value's author's clock runs beyond the bound and was not adopted. The feed's stamps
   * must increase (chain check, wire deltas), so the clock follows such a stamp; the event is counted
   * (hlc.causal-ahead) when it lies beyond this site's clock plus the bound.
   */
  private stampFor(body: EventBody): Hlc {
    if (this.aheadOfClock && compareHlc(this.aheadOfClock, this.clock.last()) <= 0) this.aheadOfClock = null;
    const floor = isRecordBody(body) && this.aheadOfClock ? this.getRecord(body.record)?.lastWrite : undefined;
    if (!floor) return this.clock.tick();
    const hlc = this.clock.tickAbove(floor);
    if (hlc.wall > this.now() + this.maxForwardSkewMs) this.bump("hlc.causal-ahead", 1);
    return hlc;
  }

  /** Authors whose events carried stamps this site's clock would not adopt: how many, and the last one (its time here, how far ahead). */
  skewViolations(): SkewViolation[] {
    return this.stmt.skewViolations.all().map((r) => {
      const { at, aheadMs } = r.last ? (JSON.parse(r.last) as { at: number; aheadMs: number }) : { at: 0, aheadMs: 0 };
      return { author: r.name.slice(SKEW_BY_AUTHOR.length) as AuthorId, count: r.value, lastAt: at, aheadMs };
    });
  }

  // ------------------------------------------------------------ local events

  /** This site's author id; throws for a store opened without an identity (programmer misuse). */
  localAuthor(): AuthorId {
    if (!this.signer) throw new Error("this store has no identity: open it with a signer to author events");
    return this.signer.author;
  }

  /** The newest vocabulary of `type` in `author`'s feed, if it published one. */
  latestVocabulary(author: AuthorId, type: string): readonly VocabularyField[] | undefined {
    const a = this.authors.get(author);
    return a ? this.vocabularies.latestBefore(a.ix, type, Number.MAX_SAFE_INTEGER)?.lexicon.fields : undefined;
  }

  /** Signs `body` as the next event of this site's feed and applies it, in one transaction. */
  append(body: EventBody): SignedEvent {
    if (!this.signer) throw new Error("this store has no identity: open it with a signer to author events");
    const me = this.authors.get(this.signer.author) as AuthorRow;
    const signer = this.signer;
    return this.transaction(() => {
      const hlc = this.stampFor(body);
      const { event: ev, bodyBytes } = signEventWithBody(signer, { seq: me.head.seq + 1, prev: me.head.id ? toEventId(me.head.id) : null, hlc }, body);
      this.applyResolved(me, {
        seq: ev.seq, prev: me.head.id, hlc, kind: kindCode(body), body, bodyBytes, sig: ev.sig, id: hexToBytes(ev.id),
      });
      this.saveClock();
      return ev;
    });
  }

  // ------------------------------------------------------------ ingest

  /**
   * Ingests full signed events (bundles, tests). One transaction; outcomes in input order. Each object is
   * held to the rules of its encoding (it is encoded and decoded again): one the codec would refuse, such as
   * a body that does not parse as its kind, would otherwise be stored and make its feed unreadable.
   */
  ingest(events: readonly SignedEvent[]): IngestReport {
    return this.ingestDecoded(
      events.map((event): EventDecodeResult => {
        try {
          return decodeSignedEvent(encodeSignedEvent(event));
        } catch {
          return { ok: false, reason: "malformed-event" }; // a value outside the data model
        }
      }),
    );
  }

  /** Ingests consecutive wire items of one author's feed starting at `startSeq` (radio path). */
  ingestWire(author: AuthorId, startSeq: number, items: readonly CborValue[]): IngestReport {
    // Candidates are built afresh for each attempt: a rolled-back attempt leaves stale author rows behind.
    const candidates = () => {
      const a = this.authors.get(author);
      return items.map((item, i) => (a?.member ? { form: "wire" as const, author: a, seq: startSeq + i, item } : { refused: "non-member" as const }));
    };
    const a = this.authors.get(author);
    if (!a?.member || this.pool === null || items.length < PARALLEL_VERIFY_MIN_BATCH) return this.ingestCandidates(candidates());
    const ahead = this.resolveAhead(a, startSeq, items);
    if (ahead.length < PARALLEL_VERIFY_MIN_BATCH) return this.ingestCandidates(candidates());
    this.pool ??= sharedVerifyPool();
    if (this.pool === null) return this.ingestCandidates(candidates());
    return this.ingestOptimistically(this.pool, a, ahead, candidates);
  }

  /**
   * Applies a batch while the pool checks its signatures, and waits for the
   * verdicts before committing. If any signature the batch relied on is bad,
   * the transaction rolls back and the batch runs again with the verdicts known.
   */
  private ingestOptimistically(
    pool: VerifyPool,
    a: AuthorRow,
    ahead: Resolved[],
    candidates: () => (Candidate | { refused: RefusalReason })[],
  ): IngestReport {
    const pending = pool.start(ahead.map((r) => ({ publicKey: a.key, id: r.id, signature: r.sig })));
    const keys = ahead.map((r) => verdictKey(a.ix, r));
    let verdicts: boolean[] | null = null;
    this.presumed = new Map(keys.map((k, i) => [k, i]));
    this.presumedUsed = [];
    this.resolvedAhead = new Map(ahead.map((r) => [r.seq, r]));
    try {
      return this.ingestCandidates(candidates(), () => {
        verdicts = pending.wait();
        const v = verdicts;
        if (this.presumedUsed.some((i) => !v[i])) throw new PresumedSignatureFailed();
      });
    } catch (err) {
      if (!(err instanceof PresumedSignatureFailed) || verdicts === null) throw err;
      const v: boolean[] = verdicts;
      this.presumed = null;
      this.resolvedAhead = null;
      this.known = new Map(keys.map((k, i) => [k, v[i] === true]));
      return this.ingestCandidates(candidates());
    } finally {
      this.presumed = null;
      this.presumedUsed = [];
      this.known = null;
      this.resolvedAhead = null;
    }
  }

  /** Rebuilds the items that extend the feed's head, in order, until one fails. Pure: nothing is stored. */
  private resolveAhead(a: AuthorRow, startSeq: number, items: readonly CborValue[]): Resolved[] {
    const out: Resolved[] = [];
    let seq = a.head.seq + 1;
    if (startSeq > seq) return out;
    let prev: { id: Buffer; wall: number } | null = seq === 1 ? null : { id: a.head.id as Buffer, wall: a.head.wall };
    // Vocabularies earlier in this batch are not stored yet: items after them may be packed with them.
    const pending = new Map<number, Lexicon>();
    for (let i = seq - startSeq; i < items.length; i++, seq++) {
      const r = this.resolve({ form: "wire", author: a, seq, item: items[i] as CborValue }, prev, pending);
      if (typeof r === "string") break;
      if (r.body.kind === "vocabulary") pending.set(r.seq, createLexicon(r.body.type, r.body.fields));
      out.push(r);
      prev = { id: r.id, wall: r.hlc.wall };
    }
    return out;
  }

  /** Ingests full events from their encoded bytes (bundle import). Undecodable bytes are refused as malformed (or oversized-body). */
  ingestEncoded(encoded: readonly Uint8Array[]): IngestReport {
    return this.ingestDecoded(encoded.map((b) => decodeSignedEvent(b)));
  }

  private ingestDecoded(decoded: readonly EventDecodeResult[]): IngestReport {
    return this.ingestCandidates(
      decoded.map((d) => {
        if (!d.ok) return { refused: d.reason === "oversized-body" ? ("oversized-body" as const) : ("malformed" as const) };
        const author = this.authors.get(d.event.author);
        return author?.member ? { form: "full", author, event: d.event } : { refused: "non-member" as const };
      }),
    );
  }

  /** Ingests in one transaction; `beforeCommit` runs last inside it and may throw to roll everything back. */
  private ingestCandidates(cands: readonly (Candidate | { refused: RefusalReason })[], beforeCommit?: () => void): IngestReport {
    const report: IngestReport = { applied: 0, duplicates: 0, buffered: 0, refused: {}, outcomes: [] };
    this.transaction(() => {
      this.skewRefused.clear();
      for (const c of cands) {
        const outcome = "refused" in c ? { status: "refused" as const, reason: c.refused } : this.process(c);
        report.outcomes.push(outcome);
        this.tally(report, outcome);
        if (outcome.status === "applied" && !("refused" in c)) this.drain(c.author, report);
      }
      this.saveClock();
      this.flushCounters(report);
      beforeCommit?.();
    });
    return report;
  }

  private tally(report: IngestReport, o: IngestOutcome): void {
    if (o.status === "applied") report.applied++;
    else if (o.status === "duplicate") report.duplicates++;
    else if (o.status === "buffered") report.buffered++;
    else report.refused[o.reason] = (report.refused[o.reason] ?? 0) + 1;
  }

  /** Applies buffered successors of `author` that have become contiguous. */
  private drain(author: AuthorRow, report: IngestReport): void {
    for (;;) {
      const next = author.head.seq + 1;
      const waiting = this.gap.take(author.ix, next);
      if (waiting.length === 0) break;
      let advanced = false;
      for (const w of waiting) {
        const cand: Candidate | undefined =
          w.form === "wire"
            ? { form: "wire", author, seq: next, item: w.item }
            : (() => {
                const d = decodeSignedEvent(w.bytes);
                return d.ok ? { form: "full" as const, author, event: d.event } : undefined;
              })();
        const outcome: IngestOutcome = cand ? this.process(cand) : { status: "refused", reason: "malformed" };
        if (outcome.status === "applied") {
          report.applied++;
          advanced = true;
        } else if (outcome.status === "refused") {
          report.refused[outcome.reason] = (report.refused[outcome.reason] ?? 0) + 1;
        }
      }
      if (!advanced) break;
    }
    this.gap.prune(author.ix, author.head.seq);
  }

  private process(c: Candidate): IngestOutcome {
    const a = c.author;
    const seq = c.form === "full" ? c.event.seq : c.seq;
    if (!Number.isSafeInteger(seq) || seq < 1) return { status: "refused", reason: "malformed" };
    if (seq > this.removals.cutOf(a.author) && a.author !== this.signer?.author) return { status: "refused", reason: "removed-member" };
    if (seq > a.head.seq + 1) return this.buffer(c, seq);

    // Our prev for this slot: the event at seq-1 of our copy of the feed.
    let prev: { id: Buffer; wall: number; counter: number } | null = null;
    if (seq > 1) {
      prev = seq - 1 === a.head.seq ? { id: a.head.id as Buffer, wall: a.head.wall, counter: a.head.counter } : (this.stmt.eventAt.get(a.ix, seq - 1) ?? null);
      if (!prev) throw new StoreCorruptError(`feed ${a.author} has a hole at ${seq - 1} below its head ${a.head.seq}`);
    }
    const early = c.form === "wire" ? this.resolvedAhead?.get(seq) : undefined;
    const r = early && sameBytes(early.prev, prev?.id ?? null) ? early : this.resolve(c, prev);
    if (typeof r === "string") return { status: "refused", reason: r };

    if (r.claimedPrev !== undefined && !sameBytes(r.claimedPrev, r.prev)) {
      // A full event whose chain differs from ours: same author, another history.
      if (!this.verify(a, r)) return { status: "refused", reason: "bad-signature" };
      this.recordFork(a, r, seq <= a.head.seq ? this.stmt.eventAt.get(a.ix, seq)?.id ?? null : null);
      return { status: "refused", reason: "fork" };
    }
    if (seq <= a.head.seq) {
      const stored = seq === a.head.seq ? (a.head.id as Buffer) : this.stmt.eventAt.get(a.ix, seq)?.id;
      if (stored && stored.equals(r.id)) return { status: "duplicate" };
      if (!this.verify(a, r)) return { status: "refused", reason: "bad-signature" };
      this.recordFork(a, r, stored ?? null);
      return { status: "refused", reason: "fork" };
    }
    if (!this.verify(a, r)) return { status: "refused", reason: "bad-signature" };
    if (prev && compareHlc(r.hlc, prev) <= 0) return { status: "refused", reason: "hlc-regression" };
    this.applyResolved(a, r);
    if (a.author !== this.signer?.author && this.clock.observe(r.hlc) === "skew-refused") {
      this.tallySkew(a, r.hlc);
      if (!this.aheadOfClock || compareHlc(r.hlc, this.aheadOfClock) > 0) this.aheadOfClock = { wall: r.hlc.wall, counter: r.hlc.counter };
    }
    return { status: "applied" };
  }

  /** Rebuilds canonical parts and the id for a candidate whose predecessor is `prev`. */
  private resolve(
    c: Candidate,
    prev: { id: Buffer; wall: number } | null,
    pending?: ReadonlyMap<number, Lexicon>,
  ): Resolved | RefusalReason {
    if (c.form === "full") {
      const ev = c.event;
      const bodyBytes = encodeBody(ev.body);
      if (bodyBytes.length > MAX_EVENT_BODY_BYTES) return "oversized-body";
      return {
        seq: ev.seq, prev: prev?.id ?? null, hlc: ev.hlc, kind: kindCode(ev.body), body: ev.body, bodyBytes, sig: ev.sig,
        id: hexToBytes(ev.id), claimedPrev: ev.prev === null ? null : hexToBytes(ev.prev),
      };
    }
    const ix = c.author.ix;
    const w = parseWireItem(c.item, prev?.wall ?? null, (at) => (at < c.seq ? (pending?.get(at) ?? this.vocabularies.at(ix, at)) : undefined));
    if (typeof w === "string") return w === "oversized-body" ? "oversized-body" : "malformed";
    const id = sha256(canonicalEventBytes({ author: c.author.key, seq: c.seq, prev: prev?.id ?? null, hlc: w.hlc, kind: w.kind, body: w.bodyBytes }));
    return { seq: c.seq, prev: prev?.id ?? null, hlc: w.hlc, kind: w.kind, body: w.body, bodyBytes: w.bodyBytes, sig: w.sig, id };
  }

  private verify(a: AuthorRow, r: Resolved): boolean {
    if (r.claimedPrev === undefined && (this.known || this.presumed)) {
      const key = verdictKey(a.ix, r);
      const known = this.known?.get(key);
      if (known !== undefined) return known;
      const job = this.presumed?.get(key);
      if (job !== undefined) {
        this.presumedUsed.push(job); // checked before commit, in ingestOptimistically
        return true;
      }
    }
    // For a full event the id was computed over its own claimed prev, so the signature checks its own history.
    if (r.claimedPrev !== undefined) {
      const id = sha256(canonicalEventBytes({ author: a.key, seq: r.seq, prev: r.claimedPrev, hlc: r.hlc, kind: r.kind, body: r.bodyBytes }));
      if (!id.equals(r.id)) return false;
    }
    return verifySignature(a.key, signingMessage(r.id), r.sig);
  }

  private buffer(c: Candidate, seq: number): IngestOutcome {
    if (c.form === "full") {
      // A full event can be verified before its predecessor arrives; only authentic ones wait.
      const r = this.resolve(c, null);
      if (typeof r === "string") return { status: "refused", reason: r };
      if (!this.verify(c.author, r)) return { status: "refused", reason: "bad-signature" };
      return this.gap.put(c.author.ix, seq, 1, encodeSignedEvent(c.event), this.now());
    }
    // A wire item is checked once its predecessor is known; refuse now what no predecessor could make valid.
    const hopeless = wireItemPrecheck(c.item);
    if (hopeless) return { status: "refused", reason: hopeless === "oversized-body" ? "oversized-body" : "malformed" };
    return this.gap.put(c.author.ix, seq, 0, encodeCanonical(c.item), this.now());
  }

  private recordFork(a: AuthorRow, r: Resolved, keptId: Buffer | null): void {
    const other: SignedEvent = {
      author: a.author, seq: r.seq, prev: r.claimedPrev ? toEventId(r.claimedPrev) : r.prev ? toEventId(r.prev) : null,
      hlc: r.hlc, body: r.body, id: toEventId(r.id), sig: r.sig,
    };
    this.stmt.fork.run(a.ix, r.seq, r.id, keptId, encodeSignedEvent(other), this.now());
  }

  private tallySkew(a: AuthorRow, hlc: Hlc): void {
    const t = this.skewRefused.get(a.ix) ?? { author: a.author, n: 0, aheadMs: 0 };
    t.n++;
    t.aheadMs = Math.max(t.aheadMs, hlc.wall - this.now());
    this.skewRefused.set(a.ix, t);
  }

  private applyResolved(a: AuthorRow, r: Resolved): void {
    this.stmt.insertEvent.run(a.ix, r.seq, r.id, r.hlc.wall, r.hlc.counter, r.kind, r.bodyBytes, r.sig, this.now());
    if (r.body.kind === "vocabulary") this.vocabularies.add(a.ix, r.seq, r.body);
    a.head = { seq: r.seq, id: r.id, wall: r.hlc.wall, counter: r.hlc.counter };
    this.stmt.saveHead.run(r.seq, r.id, r.hlc.wall, r.hlc.counter, a.ix);
    this.digestCache = null;
    this.view.apply({ author: a.author, seq: r.seq, hlc: r.hlc, body: r.body }, a.ix);
    if (r.body.kind === "removal") {
      this.removals.add({ author: a.author, seq: r.seq, hlc: r.hlc, body: r.body });
      this.enforceCuts();
    }
  }

  /**
   * Cuts every removed member's feed (other than this site's own, which it
   * never loses) at its cut, until no cut moves: cutting a feed drops the
   * removal events it made beyond its cut, which can move other cuts.
   */
  private enforceCuts(): void {
    for (let again = true; again; ) {
      again = false;
      for (const [author, cut] of [...this.removals.cuts()]) {
        const a = this.authors.get(author);
        if (!a || author === this.signer?.author) continue;
        const dropped = this.cutter.cut(a, cut);
        if (dropped === 0) continue;
        this.bump("removal.dropped-events", dropped);
        this.removals.dropAbove(author, cut);
        again = true;
      }
    }
    this.gap.reload();
    this.vocabularies.reload();
    this.digestCache = null;
  }

  private bump(name: string, n: number): void {
    if (n === 0) return;
    this.stmt.counter.run(name, n);
  }

  private flushCounters(report: IngestReport): void {
    this.bump("ingest.applied", report.applied);
    this.bump("ingest.duplicate", report.duplicates);
    this.bump("ingest.buffered", report.buffered);
    for (const [reason, n] of Object.entries(report.refused)) this.bump(`refused.${reason}`, n ?? 0);
    // Applied all the same (a feed's events are never refused for their clock), but the site's own clock ignored the stamp.
    for (const t of this.skewRefused.values()) {
      this.bump("hlc.skew-refused", t.n);
      this.bump(`${SKEW_BY_AUTHOR}${t.author}`, t.n);
      this.stmt.setMeta.run(`${SKEW_LAST}${t.author}`, JSON.stringify({ at: this.now(), aheadMs: t.aheadMs }));
    }
    this.skewRefused.clear();
  }

  /**
   * Runs `fn` in one transaction with the store's own writes (append, ingest)
   * nested inside it: a caller's rows (a bridge cursor, an outbox entry) commit
   * together with the events they describe, or not at all. If `fn` throws,
   * everything rolls back and the store's caches are reloaded.
   */
  atomically<T>(fn: () => T): T {
    return this.transaction(fn);
  }

  /** Runs `fn` in one transaction; on failure, in-memory caches are reloaded from the rolled-back file. */
  private transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      this.authors.reload();
      this.gap.reload();
      this.vocabularies.reload();
      this.removals.reload();
      this.digestCache = null;
      throw err;
    }
  }

  // ------------------------------------------------------------ reads

  frontier(): Frontier {
    const f = new Map<AuthorId, number>();
    for (const a of this.authors.all()) {
      const seq = Math.min(a.head.seq, this.removals.cutOf(a.author)); // this site's own feed may go beyond its cut
      if (a.member && seq > 0) f.set(a.author, seq);
    }
    return f;
  }

  /** Digest of this store's frontier (cached until the next change). */
  digest(): Buffer {
    this.digestCache ??= frontierDigest(this.frontier());
    return this.digestCache;
  }

  headSeq(author: AuthorId): number {
    return this.authors.get(author)?.head.seq ?? 0;
  }

  /** Full events of `author` from `from` to `to` inclusive (clamped to what is held). */
  readEvents(author: AuthorId, from: number, to: number): SignedEvent[] {
    const a = this.authors.get(author);
    if (!a || from > to) return [];
    const rows = this.stmt.range.all(a.ix, Math.max(1, from - 1), to);
    const out: SignedEvent[] = [];
    let prevId: Buffer | null = null;
    for (const row of rows) {
      if (row.seq >= from) out.push(rowToEvent(a.author, row, prevId));
      prevId = row.id;
    }
    return out;
  }

  /**
   * Wire items of `author` from `from` on, as many as fit in `maxBytes`
   * (at least one if any is held). Also says the HLC wall of the newest one, so
   * a scheduler can send fresh events before backfill.
   */
  wireItems(author: AuthorId, from: number, to: number, maxBytes: number): WireBatch & { items: CborValue[] } {
    const a = this.authors.get(author);
    const types = new Set<string>();
    let attachmentsOnly = true;
    const out = { items: [] as CborValue[], bytes: 0, newestWall: 0, types: [] as string[], attachmentsOnly: false };
    to = Math.min(to, this.removals.cutOf(author)); // what lies beyond a cut is void: never offered
    if (!a?.member || from > to || from < 1) return out;
    let prevWall: number | null = from > 1 ? (this.stmt.eventAt.get(a.ix, from - 1)?.wall ?? null) : null;
    if (from > 1 && prevWall === null) return out;
    for (const row of this.stmt.range.iterate(a.ix, from, to)) {
      const ev = rowToEvent(a.author, row, null);
      const vocabulary = ev.body.kind === "upsert" ? this.vocabularies.latestBefore(a.ix, ev.body.type, ev.seq) : undefined;
      const item = encodeWireItem(ev, prevWall, vocabulary);
      const size = encodeCanonical(item).length;
      if (out.items.length > 0 && out.bytes + size > maxBytes) break;
      out.items.push(item);
      out.bytes += size;
      out.newestWall = row.wall;
      prevWall = row.wall;
      if (isRecordBody(ev.body)) types.add(ev.body.type);
      attachmentsOnly &&= ev.body.kind === "attachment";
    }
    return { ...out, types: [...types], attachmentsOnly: out.items.length > 0 && attachmentsOnly };
  }

  getRecord(id: RecordId): RecordState | undefined {
    const row = this.stmt.record.get(id);
    return row ? decodeLocalState(id, row.type as RecordType, row.state, this.authorIndex) : undefined;
  }

  *records(): IterableIterator<RecordState> {
    for (const row of this.stmt.allRecords.iterate()) {
      yield decodeLocalState(row.record_id as RecordId, row.type as RecordType, row.state, this.authorIndex);
    }
  }

  /**
   * Records whose state changed after point `after` of the view's change
   * sequence, oldest change first, at most `limit`; each with the point of its
   * newest change. A reader that persists the last point it handled misses
   * nothing across restarts.
   */
  changedRecords(after: number, limit: number, types?: readonly string[]): { change: number; state: RecordState }[] {
    const typeFilter = types ? ` AND r.type IN (${types.map(() => "?").join(",")})` : "";
    // A log row is current while the record's own number still equals it; older ones were superseded.
    const rows = this.db
      .prepare(
        `SELECT r.record_id, r.type, r.state, c.seq FROM view_changes c JOIN records r ON r.rix = c.rix
         WHERE c.seq > ? AND r.changed = c.seq${typeFilter} ORDER BY c.seq LIMIT ?`,
      )
      .all(after, ...(types ?? []), limit) as { record_id: string; type: string; state: Buffer; seq: number }[];
    return rows.map((r) => ({
      change: r.seq,
      state: decodeLocalState(r.record_id as RecordId, r.type as RecordType, r.state, this.authorIndex),
    }));
  }

  /** The newest point of the view's change sequence (0 for an empty view). */
  viewChangeSeq(): number {
    return this.lastChange;
  }

  /** Records in the view, alive or deleted (from the view's running totals: no count over the records). */
  recordCount(): number {
    return (this.db.prepare("SELECT coalesce(sum(alive + deleted), 0) AS n FROM view_counts").get() as { n: number }).n;
  }

  /** The conflict log: every entry, or only those of `record` (read by its key). */
  conflicts(record?: RecordId): ConflictEntry[] {
    return this.conflictEntries(
      record === undefined ? this.db.prepare("SELECT * FROM conflicts").all() : this.db.prepare("SELECT * FROM conflicts WHERE record_id = ?").all(record),
    );
  }

  /** The `limit` newest entries of the conflict log (by the losing write's stamp), newest first. */
  newestConflicts(limit: number): ConflictEntry[] {
    return this.conflictEntries(this.db.prepare("SELECT * FROM conflicts ORDER BY wall DESC, counter DESC LIMIT ?").all(limit));
  }

  private conflictEntries(all: unknown[]): ConflictEntry[] {
    const rows = all as { record_id: string; key: string; author_ix: number; seq: number; wall: number; counter: number; value: Buffer }[];
    return rows.map((r) => {
      const v = decodeStrict(r.value);
      return {
        record: r.record_id as RecordId, key: r.key, author: this.authors.byRow(r.author_ix).author, seq: r.seq,
        wall: r.wall, counter: r.counter, value: v.ok ? v.value : null,
      };
    });
  }

  /** Canonical bytes of the whole view; equal on every store holding the same events. */
  viewBytes(): Buffer {
    return encodeView(this.records(), this.conflicts());
  }

  forks(): { author: AuthorId; seq: number; keptId: EventId | null; other: SignedEvent }[] {
    const rows = this.db.prepare("SELECT author_ix, seq, kept_id, other_event FROM forks ORDER BY author_ix, seq").all() as {
      author_ix: number; seq: number; kept_id: Buffer | null; other_event: Buffer;
    }[];
    return rows.flatMap((r) => {
      const d = decodeSignedEvent(r.other_event);
      if (!d.ok) return [];
      return [{ author: this.authors.byRow(r.author_ix).author, seq: r.seq, keptId: r.kept_id ? toEventId(r.kept_id) : null, other: d.event }];
    });
  }

  /** Persisted counters: ingest outcomes, refusals by reason, and applied events whose stamps the clock would not adopt (hlc.skew-refused). */
  counterValues(): Record<string, number> {
    const rows = this.db.prepare("SELECT name, value FROM counters").all() as { name: string; value: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  gapBufferSize(): number {
    return this.gap.size();
  }

  eventCount(): number {
    let n = 0;
    for (const a of this.authors.all()) n += a.head.seq;
    return n;
  }

  close(): void {
    this.db.close();
  }
}

/** Counter of one author's events whose stamps were not adopted (hlc.skew-refused:<author>). */
const SKEW_BY_AUTHOR = "hlc.skew-refused:";
/** Meta key of the last such event per author: when it was applied here and how far ahead it was. */
const SKEW_LAST = "hlc.skew-last:";

interface SkewTally {
  readonly author: AuthorId;
  n: number;
  aheadMs: number;
}

/** An author whose stamps ran beyond this site's bound, as the store counted them. */
export interface SkewViolation {
  readonly author: AuthorId;
  /** Events applied whose stamps the clock did not adopt. */
  readonly count: number;
  /** When the last of them was applied, by this site's clock (ms). */
  readonly lastAt: number;
  /** How far ahead of this site's clock the farthest stamp of that last batch was (ms). */
  readonly aheadMs: number;
}

interface EventRow {
  seq: number;
  id: Buffer;
  wall: number;
  counter: number;
  kind: number;
  body: Buffer;
  sig: Buffer;
  received_at: number;
}

function rowToEvent(author: AuthorId, row: EventRow, prevId: Buffer | null): SignedEvent {
  const decoded = decodeStrict(row.body);
  const body = decoded.ok ? parseBody(row.kind, decoded.value) : "malformed-body";
  if (typeof body === "string") throw new StoreCorruptError(`stored event ${author}#${row.seq} has an unreadable body`);
  return {
    author, seq: row.seq, prev: prevId ? toEventId(prevId) : null, hlc: { wall: row.wall, counter: row.counter },
    body, id: toEventId(row.id), sig: row.sig,
  };
}

function verdictKey(authorIx: number, r: Resolved): string {
  return `${authorIx}:${r.seq}:${r.id.toString("hex")}`;
}

/** A signature the optimistic ingest relied on was bad: roll back and redo the batch. */
class PresumedSignatureFailed extends Error {}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}


/** What removeMemberEverywhere did: the removal event it appended, or why it appended none. */
export type RemovalOutcome =
  | { readonly ok: true; readonly event: SignedEvent }
  | { readonly ok: false; readonly reason: "no-identity" | "self" | "not-a-member" | "already-removed" };

export function openStore(options: StoreOptions): SqliteStore {
  return new SqliteStore(options);
}
