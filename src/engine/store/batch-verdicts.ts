/**
 * Signature verdicts of one batch of wire items while the verify pool checks
 * them (optimistic-ingest.ts): the ingest presumes a signature good while its
 * check runs and notes that it relied on it; a retry after a bad one uses the
 * pool's verdicts, so no signature is checked twice. Outside such a batch,
 * every signature is checked inline.
 */
import type { AuthorRow } from "./author-registry.js";
import { checkSignature, verdictKey, type Resolved } from "./event-resolve.js";

export interface BatchVerdicts {
  /** The signature verdict for `r`: known, presumed (and noted as relied on), or checked inline. */
  verify(a: AuthorRow, r: Resolved): boolean;
  /** The wire item at `seq` as rebuilt before the transaction, if it was. */
  ahead(seq: number): Resolved | undefined;
  /** Presumes the signatures under `keys` (pool job order) good, and offers the items rebuilt ahead. */
  presume(keys: readonly string[], ahead: readonly Resolved[]): void;
  /** True when a signature the batch relied on is bad by the pool's `verdicts`. */
  reliedOnBad(verdicts: readonly boolean[]): boolean;
  /** Uses the pool's verdicts instead of presuming (the retry). */
  know(keys: readonly string[], verdicts: readonly boolean[]): void;
  /** Back to inline checks. */
  clear(): void;
}

export function createBatchVerdicts(): BatchVerdicts {
  /** Signatures being checked by the pool (key → job index), and which were relied on. */
  let presumed: Map<string, number> | null = null;
  let used: number[] = [];
  /** During the retry of a batch the pool found bad signatures in: the pool's verdicts. */
  let known: Map<string, boolean> | null = null;
  /** Wire items rebuilt before the transaction, so the ingest does not rebuild them again. */
  let resolvedAhead: Map<number, Resolved> | null = null;

  return {
    verify(a, r) {
      if (r.claimedPrev === undefined && (known || presumed)) {
        const key = verdictKey(a.ix, r);
        const verdict = known?.get(key);
        if (verdict !== undefined) return verdict;
        const job = presumed?.get(key);
        if (job !== undefined) {
          used.push(job); // checked before commit, in optimistic-ingest.ts
          return true;
        }
      }
      return checkSignature(a, r);
    },
    ahead: (seq) => resolvedAhead?.get(seq),
    presume(keys, ahead) {
      presumed = new Map(keys.map((k, i) => [k, i]));
      used = [];
      resolvedAhead = new Map(ahead.map((r) => [r.seq, r]));
    },
    reliedOnBad: (verdicts) => used.some((i) => !verdicts[i]),
    know(keys, verdicts) {
      presumed = null;
      resolvedAhead = null;
      known = new Map(keys.map((k, i) => [k, verdicts[i] === true]));
    },
    clear() {
      presumed = null;
      used = [];
      known = null;
      resolvedAhead = null;
    },
  };
}
