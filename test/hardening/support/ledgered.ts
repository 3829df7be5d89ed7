/**
 * Runs a hardening check and adds its row to the ledger either way: what
 * held when it passes, what broke (ok: false) when it throws.
 */
import { recordHardening } from "../ledger.js";

export interface Trial {
  /** The heading: "hostile input", "radio faults", "clock skew", ... */
  readonly area: string;
  /** What was done, with counts. */
  readonly tried: string;
}

/** Runs `check`, which returns what held (with counts); records the row, and rethrows a failure after recording it. */
export async function ledgered(trial: Trial, check: () => string | Promise<string>): Promise<void> {
  let held: string;
  try {
    held = await check();
  } catch (err) {
    recordHardening({ ...trial, held: `FAILED: ${err instanceof Error ? err.message : String(err)}`.slice(0, 400), ok: false });
    throw err;
  }
  recordHardening({ ...trial, held, ok: true });
}
