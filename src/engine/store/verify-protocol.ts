/** What the store and its verify workers exchange. */

/** One job: author public key (32 B) ‖ event id (32 B) ‖ signature (64 B). */
export const JOB_BYTES = 128;

export interface VerifyRequest {
  /** `count` jobs of JOB_BYTES each. */
  readonly jobs: ArrayBuffer;
  readonly count: number;
  /** Int32 slots: [done flag, verdict 0, verdict 1, …]; a verdict is 1 (valid) or 2 (invalid). */
  readonly verdicts: SharedArrayBuffer;
}
