/**
 * The hardening suite's record of what it tried and what held: each test adds
 * rows, and `npm run test:hardening` ends with them as one table
 * (scripts/hardening-table.mjs). Rows go to a JSON-lines file so tests in
 * separate processes can all add to it.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Where rows go: $MESHLOGD_HARDENING_LEDGER, else .tmp/hardening-ledger.jsonl under the working directory. */
export function ledgerPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MESHLOGD_HARDENING_LEDGER ?? ".tmp/hardening-ledger.jsonl");
}

export interface LedgerRow {
  /** The heading: "crashes", "upstream faults", "radio faults", "hostile input", "clock skew", "secrets", "load". */
  readonly area: string;
  /** What was done to the site, with counts ("SIGKILL at 200 random moments during polling, ingest, sync and write-back"). */
  readonly tried: string;
  /** What was checked afterwards and held ("chain verifies, nothing acknowledged lost, view = re-fold, no duplicate submission"). */
  readonly held: string;
  /** True when every check passed; a failing test records false before it fails. */
  readonly ok: boolean;
}

export function recordHardening(row: LedgerRow): void {
  const file = ledgerPath();
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ ...row, at: new Date().toISOString() })}\n`);
}
