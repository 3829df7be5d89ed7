/* global process, console */
// Prints the hardening suite's ledger (test/hardening/ledger.ts) as one table: what was tried, what held.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

const file = resolve(process.env.MESHLOGD_HARDENING_LEDGER ?? ".tmp/hardening-ledger.jsonl");
if (!existsSync(file)) {
  console.log(`no hardening ledger at ${file}: did the hardening tests run?`);
  process.exit(1);
}
const rows = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const cell = (s) => String(s).replace(/\|/g, "\\|");
console.log("\n| area | tried | held | result |\n|---|---|---|---|");
for (const r of rows) console.log(`| ${cell(r.area)} | ${cell(r.tried)} | ${cell(r.held)} | ${r.ok ? "held" : "FAILED"} |`);
const failed = rows.filter((r) => !r.ok).length;
console.log(`\n${rows.length} hardening checks, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
