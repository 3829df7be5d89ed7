/**
 * What the store and its verify workers share for one batch. Every thread,
 * the waiting one included, claims jobs from one atomic counter, so the batch
 * is done as soon as the cores together have checked it.
 */

/** One job: author public key (32 B) ‖ event id (32 B) ‖ signature (64 B). */
export const JOB_BYTES = 128;

/** Int32 slots of `control`. */
export const NEXT_JOB = 0;
export const JOBS_DONE = 1;

/** Verdict values. */
export const VALID = 1;
export const INVALID = 2;

export interface VerifyRequest {
  /** `count` jobs of JOB_BYTES each. */
  readonly jobs: SharedArrayBuffer;
  readonly count: number;
  /** Int32 [next job to claim, jobs done]. */
  readonly control: SharedArrayBuffer;
  /** Int32 per job: 0 pending, VALID or INVALID. */
  readonly verdicts: SharedArrayBuffer;
}

/** Claims and checks jobs until none is left. Shared by workers and the waiting thread. */
export function workOn(req: VerifyRequest, check: (publicKey: Uint8Array, id: Uint8Array, sig: Uint8Array) => boolean): void {
  const jobs = new Uint8Array(req.jobs);
  const control = new Int32Array(req.control);
  const verdicts = new Int32Array(req.verdicts);
  for (;;) {
    const i = Atomics.add(control, NEXT_JOB, 1);
    if (i >= req.count) return;
    const o = i * JOB_BYTES;
    const ok = check(jobs.subarray(o, o + 32), jobs.subarray(o + 32, o + 64), jobs.subarray(o + 64, o + 128));
    Atomics.store(verdicts, i, ok ? VALID : INVALID);
    Atomics.add(control, JOBS_DONE, 1);
    Atomics.notify(control, JOBS_DONE);
  }
}
