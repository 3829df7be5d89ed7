/**
 * The store: feeds, gap buffer, fork evidence, membership and the
 * materialized view in one SQLite file (WAL). A batch of events is ingested in
 * one transaction: verify, check the chain, dedupe, buffer gaps, detect forks,
 * and update the view incrementally.
 *
 * This class is the store's one face; its parts live beside it:
 * store-core.ts (the file, caches, transaction), ingest-path.ts (the hot
 * path), optimistic-ingest.ts (the radio's batches and the verify pool),
 * local-events.ts, membership.ts and removal-enforcer.ts, feed-reads.ts and
 * record-reads.ts.
 */
import type Database from "better-sqlite3";
import type { CborValue } from "../cbor.js";
import type { EventBody, SignedEvent } from "../event.js";
import { decodeSignedEvent, encodeSignedEvent, type EventDecodeResult } from "../event-codec.js";
import type { Frontier } from "../frontier.js";
import type { Hlc } from "../hlc.js";
import type { AuthorId, RecordId } from "../ids.js";
import type { RecordState } from "../record-state.js";
import type { WireBatch } from "../sync/sync-node.js";
import type { VocabularyField } from "../vocabulary.js";
import type { ConflictEntry } from "../view.js";
import { createBatchVerdicts } from "./batch-verdicts.js";
import type { BlobStore } from "./blob-store.js";
import { createFeedCutter } from "./feed-cut.js";
import { createFeedReads, type FeedReads, type ForkEvidence } from "./feed-reads.js";
import { createIngestPath, type IngestPath } from "./ingest-path.js";
import type { IngestReport } from "./ingest-types.js";
import { createLocalAppend, localAuthorOf, type Appended } from "./local-events.js";
import { createMembership, type Membership, type RemovalOutcome, type RemovalsHeld } from "./membership.js";
import { createWireIngest, type WireIngest } from "./optimistic-ingest.js";
import { createRecordReads, type ChangedRecord, type RecordReads } from "./record-reads.js";
import { createRemovalEnforcer } from "./removal-enforcer.js";
import { createStoreClock, type SkewViolation, type StoreClock } from "./store-clock.js";
import { openStoreCore, type StoreCore, type StoreOptions } from "./store-core.js";
import { createViewUpdater } from "./view-updater.js";

export type { IngestOutcome, IngestReport, RefusalReason } from "./ingest-types.js";
export { MembershipError } from "./author-registry.js";
export type { StoreOptions } from "./store-core.js";
export type { SkewViolation } from "./store-clock.js";
export type { RemovalOutcome } from "./membership.js";

export class SqliteStore {
  readonly db: Database.Database;
  /** Attachment bytes by hash (they travel apart from the events). */
  readonly blobs: BlobStore;
  private readonly core: StoreCore;
  private readonly clock: StoreClock;
  private readonly path: IngestPath;
  private readonly wire: WireIngest;
  private readonly members_: Membership;
  private readonly feeds: FeedReads;
  private readonly view: RecordReads;
  private readonly appendLocal: (body: EventBody) => Appended;

  constructor(options: StoreOptions) {
    const core = openStoreCore(options);
    this.core = core;
    this.db = core.db;
    this.blobs = core.blobs;
    const view = createViewUpdater(core.db, core.authorIndex, core.nextChange);
    const enforcer = createRemovalEnforcer(core, createFeedCutter(core.db, core.authorIndex, core.nextChange));
    this.clock = createStoreClock(core, options.maxForwardSkewMs ?? Number.POSITIVE_INFINITY);
    const verdicts = createBatchVerdicts();
    this.path = createIngestPath({ core, clock: this.clock, view, verdicts, enforceCuts: enforcer.enforce });
    this.wire = createWireIngest(core, this.path, verdicts, options.verifyPool);
    this.feeds = createFeedReads(core);
    this.view = createRecordReads(core);
    this.appendLocal = createLocalAppend(core, this.clock, this.path, (record) => this.view.getRecord(record)?.lastWrite);
    this.members_ = createMembership(core, (body) => this.appendLocal(body).event);
    if (core.signer) this.addMember(core.signer.author, "self");
    enforcer.enforceAtOpen(); // a store written before it knew of them
  }

  // ------------------------------------------------------------ membership

  /** Accepts events by `author` from now on. Refuses a key whose short tag collides with another member's (MembershipError). */
  addMember(author: AuthorId, name?: string): void {
    this.members_.add(author, name);
  }

  /** Refuses `author`'s events from now on; what is stored stays, but is no longer offered to peers. */
  removeMember(author: AuthorId): void {
    this.members_.remove(author);
  }

  /**
   * Removes `author` from the whole network: appends a removal event (kind 5)
   * that voids its events after the newest one this store holds, at every
   * site that ingests it (removal-rule.ts). Its earlier events stay and are
   * still relayed. Says why not when it cannot: no identity to sign with,
   * `author` is this site, not a member here, or already removed.
   */
  removeMemberEverywhere(author: AuthorId): RemovalOutcome {
    return this.members_.removeEverywhere(author);
  }

  /** A current member: listed (addMember) and not removed by a removal event. */
  isMember(author: AuthorId): boolean {
    return this.members_.isMember(author);
  }

  /** The current members (see isMember), this site included. */
  members(): { author: AuthorId; name: string | null }[] {
    return this.members_.members();
  }

  /** The last valid seq of `author`'s feed: +Infinity unless a removal event held here cut it. */
  acceptsUpTo(author: AuthorId): number {
    return this.core.removals.cutOf(author);
  }

  /** Every removal event held, with the cut each removed member's feed ends up with. */
  removalsHeld(): RemovalsHeld {
    return this.members_.removalsHeld();
  }

  /** The member whose key starts with `short`, if any. */
  authorByShort(short: Uint8Array): AuthorId | undefined {
    return this.core.authors.byShortTag(short)?.author;
  }

  // ------------------------------------------------------------ clock and local events

  /** The newest HLC stamp this site has issued or seen. */
  lastHlc(): Hlc {
    return this.clock.last();
  }

  /** Authors whose events carried stamps this site's clock would not adopt: how many, and the last one (its time here, how far ahead). */
  skewViolations(): SkewViolation[] {
    return this.clock.skewViolations();
  }

  /** This site's author id; throws for a store opened without an identity (programmer misuse). */
  localAuthor(): AuthorId {
    return localAuthorOf(this.core);
  }

  /** The newest vocabulary of `type` in `author`'s feed, if it published one. */
  latestVocabulary(author: AuthorId, type: string): readonly VocabularyField[] | undefined {
    return this.feeds.latestVocabulary(author, type);
  }

  /** Signs `body` as the next event of this site's feed and applies it, in one transaction. */
  append(body: EventBody): SignedEvent {
    return this.appendLocal(body).event;
  }

  /** As append, and also returns the state the event gave its record (what getRecord would read back), saving that read. */
  appendRead(body: EventBody): Appended {
    return this.appendLocal(body);
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
    return this.wire(author, startSeq, items);
  }

  /** Ingests full events from their encoded bytes (bundle import). Undecodable bytes are refused as malformed (or oversized-body). */
  ingestEncoded(encoded: readonly Uint8Array[]): IngestReport {
    return this.ingestDecoded(encoded.map((b) => decodeSignedEvent(b)));
  }

  private ingestDecoded(decoded: readonly EventDecodeResult[]): IngestReport {
    return this.path.run(this.path.offerDecoded(decoded));
  }

  /**
   * Runs `fn` in one transaction with the store's own writes (append, ingest)
   * nested inside it: a caller's rows (a bridge cursor, an outbox entry) commit
   * together with the events they describe, or not at all. If `fn` throws,
   * everything rolls back and the store's caches are reloaded.
   */
  atomically<T>(fn: () => T): T {
    return this.core.transaction(fn);
  }

  // ------------------------------------------------------------ feeds

  frontier(): Frontier {
    return this.feeds.frontier();
  }

  /** Digest of this store's frontier (cached until the next change). */
  digest(): Buffer {
    return this.feeds.digest();
  }

  headSeq(author: AuthorId): number {
    return this.feeds.headSeq(author);
  }

  /** Full events of `author` from `from` to `to` inclusive (clamped to what is held). */
  readEvents(author: AuthorId, from: number, to: number): SignedEvent[] {
    return this.feeds.readEvents(author, from, to);
  }

  /**
   * Wire items of `author` from `from` on, as many as fit in `maxBytes`
   * (at least one if any is held). Also says the HLC wall of the newest one, so
   * a scheduler can send fresh events before backfill.
   */
  wireItems(author: AuthorId, from: number, to: number, maxBytes: number): WireBatch & { items: CborValue[] } {
    return this.feeds.wireItems(author, from, to, maxBytes);
  }

  forks(): ForkEvidence[] {
    return this.feeds.forks();
  }

  gapBufferSize(): number {
    return this.core.gap.size();
  }

  eventCount(): number {
    return this.feeds.eventCount();
  }

  // ------------------------------------------------------------ view

  getRecord(id: RecordId): RecordState | undefined {
    return this.view.getRecord(id);
  }

  records(): IterableIterator<RecordState> {
    return this.view.records();
  }

  /**
   * Records whose state changed after point `after` of the view's change
   * sequence, oldest change first, at most `limit`; each with the point of its
   * newest change. A reader that persists the last point it handled misses
   * nothing across restarts. An entry whose state is null names a record that
   * left the view (no write of it remains): the reader treats it as gone.
   */
  changedRecords(after: number, limit: number, types?: readonly string[]): ChangedRecord[] {
    return this.view.changedRecords(after, limit, types);
  }

  /** The newest point of the view's change sequence (0 for an empty view). */
  viewChangeSeq(): number {
    return this.core.lastChange();
  }

  /** Records in the view, alive or deleted (from the view's running totals: no count over the records). */
  recordCount(): number {
    return this.view.recordCount();
  }

  /** The conflict log: every entry, or only those of `record` (read by its key). */
  conflicts(record?: RecordId): ConflictEntry[] {
    return this.view.conflicts(record);
  }

  /** The `limit` newest entries of the conflict log (by the losing write's stamp), newest first. */
  newestConflicts(limit: number): ConflictEntry[] {
    return this.view.newestConflicts(limit);
  }

  /** Canonical bytes of the whole view; equal on every store holding the same events. */
  viewBytes(): Buffer {
    return this.view.viewBytes();
  }

  /** Persisted counters: ingest outcomes, refusals by reason, and applied events whose stamps the clock would not adopt (hlc.skew-refused). */
  counterValues(): Record<string, number> {
    return this.core.counterValues();
  }

  close(): void {
    this.db.close();
  }
}

export function openStore(options: StoreOptions): SqliteStore {
  return new SqliteStore(options);
}
