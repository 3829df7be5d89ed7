/** Why an event was not accepted. Each is counted; none changes what is stored (fork keeps evidence only). */
export type RefusalReason =
  | "non-member"
  /** Beyond the cut a removal event made in its author's feed (removal-rule.ts). */
  | "removed-member"
  | "bad-signature"
  | "fork"
  | "malformed"
  | "oversized-body"
  | "gap-buffer-full"
  | "hlc-regression";

/** What happened to one event offered for ingest. */
export type IngestOutcome =
  | { readonly status: "applied" }
  | { readonly status: "duplicate" }
  | { readonly status: "buffered" }
  | { readonly status: "refused"; readonly reason: RefusalReason };

/** Totals for one ingest call; `applied` includes buffered events that became contiguous. */
export interface IngestReport {
  applied: number;
  duplicates: number;
  buffered: number;
  refused: Partial<Record<RefusalReason, number>>;
  /** One outcome per offered event, in input order. */
  outcomes: IngestOutcome[];
}
