/**
 * Progress of a long bundle operation, for the CLI's progress line and the
 * HTTP API. Within one phase, `events` and `bytes` never decrease, and the
 * last report of a phase that completes has `events === totalEvents`.
 */

/**
 * "export": events written; "receive": an uploaded stream copied to the spool
 * file (events not known yet); "verify": the whole file checked before
 * anything is ingested; "ingest": events handed to the store.
 */
export type BundlePhase = "export" | "receive" | "verify" | "ingest";

export interface BundleProgress {
  readonly phase: BundlePhase;
  /** Events done in this phase. */
  readonly events: number;
  /** Events the phase will handle; null while unknown (receiving). */
  readonly totalEvents: number | null;
  /** Bytes written (export) or read (the other phases) so far. */
  readonly bytes: number;
  /** The file's size; null while unknown (export, receiving). */
  readonly totalBytes: number | null;
}

/** Called synchronously between steps; keep it quick (print a line, update a status field). */
export type ProgressListener = (progress: BundleProgress) => void;
