/** The bridge's timing defaults, each with its reason. */

/** First retry after a transient failure (server down, 5xx, timeout); doubles per attempt. */
export const RETRY_BASE_MS = 5_000;

/** Longest wait between retries of a transient failure: a server back after an outage is written to within this. */
export const RETRY_MAX_MS = 10 * 60_000;

/** After 401/403 the admin must fix credentials or permissions; asking more often only fills the server's log. */
export const AUTH_PAUSE_MS = 15 * 60_000;

/** After a refusal retrying cannot cure (400, 404 form, 405 inactive), wait long; a restart or "retry outbox" tries at once. */
export const REJECTED_PAUSE_MS = 60 * 60_000;

/** After a 409/410 race with a person's edit: re-read the submission and plan again soon. */
export const RECHECK_DELAY_MS = 1_000;

/** Outbox entries handled per write pass (the rest wait for the next pass). */
export const WRITE_BATCH = 200;

/** Writes in flight at once: enough to keep a server busy while we build the next, few enough not to crowd a small field server. */
export const WRITE_CONCURRENCY = 4;

/** Records read from the view's change sequence per step when filling the outbox. */
export const ENQUEUE_BATCH = 1_000;

/** Back-off for the n-th consecutive transient failure (n ≥ 1), with ±20 % jitter so sites do not retry in step. */
export function retryDelay(n: number, random: () => number = Math.random): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(30, n - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
