/**
 * The radio path's ingest of a run of one author's wire items. A run long
 * enough is rebuilt before the transaction and its signatures sent to the
 * verify pool; the batch is applied while the pool checks them, and the
 * verdicts are awaited before commit. If a signature the batch relied on is
 * bad, everything rolls back and the batch runs again with the verdicts known.
 */
import type { CborValue } from "../cbor.js";
import { PARALLEL_VERIFY_MIN_BATCH } from "../constants.js";
import type { AuthorId } from "../ids.js";
import { createLexicon, type Lexicon } from "../vocabulary.js";
import type { AuthorRow } from "./author-registry.js";
import type { BatchVerdicts } from "./batch-verdicts.js";
import { resolveCandidate, verdictKey, type Offered, type Resolved } from "./event-resolve.js";
import type { IngestReport } from "./ingest-types.js";
import type { IngestPath } from "./ingest-path.js";
import type { StoreCore } from "./store-core.js";
import { sharedVerifyPool, type VerifyPool } from "./verify-pool.js";

/** Ingests consecutive wire items of one author's feed starting at `startSeq`. */
export type WireIngest = (author: AuthorId, startSeq: number, items: readonly CborValue[]) => IngestReport;

/** A signature the optimistic ingest relied on was bad: roll back and redo the batch. */
class PresumedSignatureFailed extends Error {}

/** `pool`: the verify pool, null for inline checks, undefined until a batch first needs it (no worker for small stores). */
export function createWireIngest(core: StoreCore, path: IngestPath, batch: BatchVerdicts, pool: VerifyPool | null | undefined): WireIngest {
  /** Rebuilds the items that extend the feed's head, in order, until one fails. Pure: nothing is stored. */
  function resolveAhead(a: AuthorRow, startSeq: number, items: readonly CborValue[]): Resolved[] {
    const out: Resolved[] = [];
    let seq = a.head.seq + 1;
    if (startSeq > seq) return out;
    let prev: { id: Buffer; wall: number } | null = seq === 1 ? null : { id: a.head.id as Buffer, wall: a.head.wall };
    // Vocabularies earlier in this batch are not stored yet: items after them may be packed with them.
    const pending = new Map<number, Lexicon>();
    for (let i = seq - startSeq; i < items.length; i++, seq++) {
      const r = resolveCandidate({ form: "wire", author: a, seq, item: items[i] as CborValue }, prev, core.vocabularies, pending);
      if (typeof r === "string") break;
      if (r.body.kind === "vocabulary") pending.set(r.seq, createLexicon(r.body.type, r.body.fields));
      out.push(r);
      prev = { id: r.id, wall: r.hlc.wall };
    }
    return out;
  }

  function ingestOptimistically(p: VerifyPool, a: AuthorRow, ahead: Resolved[], offered: () => Offered[]): IngestReport {
    const pending = p.start(ahead.map((r) => ({ publicKey: a.key, id: r.id, signature: r.sig })));
    const keys = ahead.map((r) => verdictKey(a.ix, r));
    let verdicts: boolean[] | null = null;
    batch.presume(keys, ahead);
    try {
      return path.run(offered(), () => {
        verdicts = pending.wait();
        if (batch.reliedOnBad(verdicts)) throw new PresumedSignatureFailed();
      });
    } catch (err) {
      if (!(err instanceof PresumedSignatureFailed) || verdicts === null) throw err;
      batch.know(keys, verdicts);
      return path.run(offered());
    } finally {
      batch.clear();
    }
  }

  return (author, startSeq, items) => {
    // Candidates are built afresh for each attempt: a rolled-back attempt leaves stale author rows behind.
    const offered = (): Offered[] => {
      const a = core.authors.get(author);
      return items.map((item, i) => (a?.member ? { form: "wire" as const, author: a, seq: startSeq + i, item } : { refused: "non-member" as const }));
    };
    const a = core.authors.get(author);
    if (!a?.member || pool === null || items.length < PARALLEL_VERIFY_MIN_BATCH) return path.run(offered());
    const ahead = resolveAhead(a, startSeq, items);
    if (ahead.length < PARALLEL_VERIFY_MIN_BATCH) return path.run(offered());
    pool ??= sharedVerifyPool();
    if (pool === null) return path.run(offered());
    return ingestOptimistically(pool, a, ahead, offered);
  };
}
