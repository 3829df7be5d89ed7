/**
 * The hot path: a batch of candidates ingested in one transaction. For each
 * event: check the cut and the chain, dedupe, buffer it if its predecessor is
 * missing, record a fork, verify, apply (feed, head, vocabulary copy, view,
 * removals), then drain what waited for it. Outcomes are values; the batch's
 * totals are counted in the same transaction.
 */
import { encodeCanonical } from "../cbor.js";
import type { SignedEvent } from "../event.js";
import { decodeSignedEvent, encodeSignedEvent, type EventDecodeResult } from "../event-codec.js";
import { compareHlc } from "../hlc.js";
import { toEventId } from "../ids.js";
import { wireItemPrecheck } from "../wire.js";
import type { AuthorRow } from "./author-registry.js";
import type { BatchVerdicts } from "./batch-verdicts.js";
import type { Waiting } from "./gap-buffer.js";
import { resolveCandidate, sameBytes, type Candidate, type Offered, type Resolved } from "./event-resolve.js";
import type { IngestOutcome, IngestReport } from "./ingest-types.js";
import type { StoreClock } from "./store-clock.js";
import type { RecordState } from "../record-state.js";
import type { StoreCore } from "./store-core.js";
import { StoreCorruptError } from "./store-corrupt-error.js";
import type { ViewUpdater } from "./view-updater.js";

export interface IngestPath {
  /** Ingests in one transaction, outcomes in input order; `beforeCommit` runs last inside it and may throw to roll everything back. */
  run(offered: readonly Offered[], beforeCommit?: () => void): IngestReport;
  /** Writes an event whose place in the feed is checked (inside a transaction): feed, head, view, removals. Returns the record's new state, if the event changed one. */
  apply(a: AuthorRow, r: Resolved): RecordState | undefined;
  /** Candidates for decoded full events: refused as malformed (or oversized) when undecodable, or by a non-member. */
  offerDecoded(decoded: readonly EventDecodeResult[]): Offered[];
}

export interface IngestPathDeps {
  readonly core: StoreCore;
  readonly clock: StoreClock;
  readonly view: ViewUpdater;
  readonly verdicts: BatchVerdicts;
  /** Applies the cuts of the removals held (after a removal event was applied). */
  readonly enforceCuts: () => void;
}

export function createIngestPath({ core, clock, view, verdicts, enforceCuts }: IngestPathDeps): IngestPath {
  const { db, gap, removals, vocabularies } = core;
  const stmt = {
    insertEvent: db.prepare(
      "INSERT INTO events (author_ix, seq, id, wall, counter, kind, body, sig, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    eventAt: db.prepare<[number, number], { id: Buffer; wall: number; counter: number }>(
      "SELECT id, wall, counter FROM events WHERE author_ix = ? AND seq = ?",
    ),
    saveHead: db.prepare("UPDATE authors SET head_seq = ?, head_id = ?, head_wall = ?, head_counter = ? WHERE ix = ?"),
    fork: db.prepare(
      "INSERT OR IGNORE INTO forks (author_ix, seq, other_id, kept_id, other_event, detected_at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
  };

  function apply(a: AuthorRow, r: Resolved): RecordState | undefined {
    stmt.insertEvent.run(a.ix, r.seq, r.id, r.hlc.wall, r.hlc.counter, r.kind, r.bodyBytes, r.sig, core.now());
    if (r.body.kind === "vocabulary") vocabularies.add(a.ix, r.seq, r.body);
    a.head = { seq: r.seq, id: r.id, wall: r.hlc.wall, counter: r.hlc.counter };
    stmt.saveHead.run(r.seq, r.id, r.hlc.wall, r.hlc.counter, a.ix);
    core.frontierChanged();
    const state = view.apply({ author: a.author, seq: r.seq, hlc: r.hlc, body: r.body }, a.ix);
    if (r.body.kind === "removal") {
      removals.add({ author: a.author, seq: r.seq, hlc: r.hlc, body: r.body });
      enforceCuts();
    }
    return state;
  }

  function recordFork(a: AuthorRow, r: Resolved, keptId: Buffer | null): void {
    const other: SignedEvent = {
      author: a.author, seq: r.seq, prev: r.claimedPrev ? toEventId(r.claimedPrev) : r.prev ? toEventId(r.prev) : null,
      hlc: r.hlc, body: r.body, id: toEventId(r.id), sig: r.sig,
    };
    stmt.fork.run(a.ix, r.seq, r.id, keptId, encodeSignedEvent(other), core.now());
  }

  function buffer(c: Candidate, seq: number): IngestOutcome {
    if (c.form === "full") {
      // A full event can be verified before its predecessor arrives; only authentic ones wait.
      const r = resolveCandidate(c, null, vocabularies);
      if (typeof r === "string") return { status: "refused", reason: r };
      if (!verdicts.verify(c.author, r)) return { status: "refused", reason: "bad-signature" };
      return gap.put(c.author.ix, seq, 1, encodeSignedEvent(c.event), core.now());
    }
    // A wire item is checked once its predecessor is known; refuse now what no predecessor could make valid.
    const hopeless = wireItemPrecheck(c.item);
    if (hopeless) return { status: "refused", reason: hopeless === "oversized-body" ? "oversized-body" : "malformed" };
    return gap.put(c.author.ix, seq, 0, encodeCanonical(c.item), core.now());
  }

  /** Our prev for slot `seq`: the event at seq-1 of our copy of the feed. */
  function prevOf(a: AuthorRow, seq: number): { id: Buffer; wall: number; counter: number } | null {
    if (seq === 1) return null;
    const prev = seq - 1 === a.head.seq ? { id: a.head.id as Buffer, wall: a.head.wall, counter: a.head.counter } : stmt.eventAt.get(a.ix, seq - 1);
    if (!prev) throw new StoreCorruptError(`feed ${a.author} has a hole at ${seq - 1} below its head ${a.head.seq}`);
    return prev;
  }

  /** A signed event at a slot we hold, or with another chain: a duplicate, or a fork (evidence kept). */
  function heldOrFork(a: AuthorRow, r: Resolved, seq: number): IngestOutcome {
    const stored = seq > a.head.seq ? null : seq === a.head.seq ? (a.head.id as Buffer) : (stmt.eventAt.get(a.ix, seq)?.id ?? null);
    const chainDiffers = r.claimedPrev !== undefined && !sameBytes(r.claimedPrev, r.prev);
    if (!chainDiffers && stored && stored.equals(r.id)) return { status: "duplicate" };
    if (!verdicts.verify(a, r)) return { status: "refused", reason: "bad-signature" };
    recordFork(a, r, stored);
    return { status: "refused", reason: "fork" };
  }

  function process(c: Candidate): IngestOutcome {
    const a = c.author;
    const seq = c.form === "full" ? c.event.seq : c.seq;
    if (!Number.isSafeInteger(seq) || seq < 1) return { status: "refused", reason: "malformed" };
    if (seq > removals.cutOf(a.author) && !core.isSelf(a.author)) return { status: "refused", reason: "removed-member" };
    if (seq > a.head.seq + 1) return buffer(c, seq);
    const prev = prevOf(a, seq);
    const early = c.form === "wire" ? verdicts.ahead(seq) : undefined;
    const r = early && sameBytes(early.prev, prev?.id ?? null) ? early : resolveCandidate(c, prev, vocabularies);
    if (typeof r === "string") return { status: "refused", reason: r };
    // A full event whose chain differs from ours (same author, another history), or a slot we hold.
    if ((r.claimedPrev !== undefined && !sameBytes(r.claimedPrev, r.prev)) || seq <= a.head.seq) return heldOrFork(a, r, seq);
    if (!verdicts.verify(a, r)) return { status: "refused", reason: "bad-signature" };
    if (prev && compareHlc(r.hlc, prev) <= 0) return { status: "refused", reason: "hlc-regression" };
    apply(a, r);
    if (!core.isSelf(a.author)) clock.observe(a, r.hlc);
    return { status: "applied" };
  }

  /** The candidate a gap buffer entry stands for (undefined: its stored bytes no longer decode). */
  function waitingCandidate(author: AuthorRow, seq: number, w: Waiting): Candidate | undefined {
    if (w.form === "wire") return { form: "wire", author, seq, item: w.item };
    const d = decodeSignedEvent(w.bytes);
    return d.ok ? { form: "full", author, event: d.event } : undefined;
  }

  /** Applies buffered successors of `author` that have become contiguous. */
  function drain(author: AuthorRow, report: IngestReport): void {
    for (;;) {
      const next = author.head.seq + 1;
      const waiting = gap.take(author.ix, next);
      if (waiting.length === 0) break;
      let advanced = false;
      for (const w of waiting) {
        const cand = waitingCandidate(author, next, w);
        const outcome: IngestOutcome = cand ? process(cand) : { status: "refused", reason: "malformed" };
        if (outcome.status === "applied") {
          report.applied++;
          advanced = true;
        } else if (outcome.status === "refused") {
          report.refused[outcome.reason] = (report.refused[outcome.reason] ?? 0) + 1;
        }
      }
      if (!advanced) break;
    }
    gap.prune(author.ix, author.head.seq);
  }

  function flushCounters(report: IngestReport): void {
    core.bump("ingest.applied", report.applied);
    core.bump("ingest.duplicate", report.duplicates);
    core.bump("ingest.buffered", report.buffered);
    for (const [reason, n] of Object.entries(report.refused)) core.bump(`refused.${reason}`, n ?? 0);
    clock.flushBatch();
  }

  return {
    apply,
    run(offered, beforeCommit) {
      const report: IngestReport = { applied: 0, duplicates: 0, buffered: 0, refused: {}, outcomes: [] };
      core.transaction(() => {
        clock.beginBatch();
        for (const c of offered) {
          const outcome = "refused" in c ? { status: "refused" as const, reason: c.refused } : process(c);
          report.outcomes.push(outcome);
          tally(report, outcome);
          if (outcome.status === "applied" && !("refused" in c)) drain(c.author, report);
        }
        clock.save();
        flushCounters(report);
        beforeCommit?.();
      });
      return report;
    },
    offerDecoded: (decoded) =>
      decoded.map((d) => {
        if (!d.ok) return { refused: d.reason === "oversized-body" ? ("oversized-body" as const) : ("malformed" as const) };
        const author = core.authors.get(d.event.author);
        return author?.member ? { form: "full", author, event: d.event } : { refused: "non-member" as const };
      }),
  };
}

function tally(report: IngestReport, o: IngestOutcome): void {
  if (o.status === "applied") report.applied++;
  else if (o.status === "duplicate") report.duplicates++;
  else if (o.status === "buffered") report.buffered++;
  else report.refused[o.reason] = (report.refused[o.reason] ?? 0) + 1;
}
