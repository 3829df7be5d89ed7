/**
 * What the hardening tests ask a running site over its API, and the one
 * convergence check they share: both sites' outboxes drained, nothing in
 * their attention lists, the same frontier, and both servers holding the same
 * records with the same answers.
 *
 * Imported by tests only; no side effects.
 */
import assert from "node:assert/strict";
import type { AuthorId } from "../../../src/engine/ids.js";
import { waitFor } from "../../support/site-process.js";
import { serverRecords } from "./field-workload.js";
import { HTTP_TOKEN, type ProcessWorld } from "./process-sites.js";

/** The parts of /api/status the tests read. */
export interface SiteStatus {
  readonly server: { state: string; error: string | null };
  readonly outbox: { pending: number; written: number; failed: number };
  readonly forms: readonly { lastPollAt: string | null; lastPollError: string | null; lastWriteError: string | null }[];
  readonly attention: readonly string[];
}

export async function siteStatus(url: string): Promise<SiteStatus> {
  return (await (await fetch(new URL("api/status", url))).json()) as SiteStatus;
}

/** The site's frontier as one comparable string. */
export async function siteFrontier(url: string): Promise<string> {
  const body = (await (await fetch(new URL("api/sync", url))).json()) as { authors: { author: AuthorId; seq: number }[] };
  return body.authors.map((a) => `${a.author}:${a.seq}`).sort().join(",");
}

/** What the admin's "retry the outbox" button does; returns how many entries were made due. */
export async function retryOutbox(url: string): Promise<number> {
  const res = await fetch(new URL("api/outbox/retry", url), { method: "POST", headers: { authorization: `Bearer ${HTTP_TOKEN}`, "content-type": "application/json" }, body: "{}" });
  assert.equal(res.status, 200, `POST /api/outbox/retry answered ${res.status}`);
  return ((await res.json()) as { retried: number }).retried;
}

/** Both servers hold the same records with the same answers, none twice. */
export function serversAgree(w: ProcessWorld): boolean {
  const [a, b] = [serverRecords(w, 0), serverRecords(w, 1)];
  if (a.records.size !== b.records.size || a.count !== a.records.size || b.count !== b.records.size) return false;
  for (const [id, answers] of a.records) {
    const other = b.records.get(id);
    if (!other || [...answers].some(([k, v]) => JSON.stringify(other.get(k)) !== JSON.stringify(v))) return false;
  }
  return true;
}

/** What differs between the two servers, one line per record (for failure messages). */
export function serversDiff(w: ProcessWorld): string[] {
  const [a, b] = [serverRecords(w, 0), serverRecords(w, 1)];
  const out: string[] = [];
  if (a.count !== a.records.size) out.push(`Kobo holds ${a.count} submissions for ${a.records.size} records`);
  if (b.count !== b.records.size) out.push(`Central holds ${b.count} submissions for ${b.records.size} records`);
  const show = (m: Map<string, unknown> | undefined) => (m ? JSON.stringify(Object.fromEntries(m)) : "absent");
  for (const id of new Set([...a.records.keys(), ...b.records.keys()])) {
    const [x, y] = [a.records.get(id), b.records.get(id)];
    if (show(x) !== show(y)) out.push(`${id}: Kobo ${show(x)}, Central ${show(y)}`);
  }
  return out;
}

/** Waits until both running sites (API URLs) and both servers have converged; fails with the last state seen. */
export async function waitConverged(w: ProcessWorld, urls: readonly string[], ms: number): Promise<void> {
  let last = "";
  await waitFor("both sites and both servers to converge", async () => {
    const st = await Promise.all(urls.map(siteStatus));
    const fr = await Promise.all(urls.map(siteFrontier));
    const agree = serversAgree(w);
    last = JSON.stringify({ outbox: st.map((s) => s.outbox), attention: st.map((s) => s.attention), sameFrontier: fr[0] === fr[1], agree });
    if (!agree) last += `\n${serversDiff(w).slice(0, 10).join("\n")}`;
    return st.every((s) => s.outbox.pending + s.outbox.failed === 0 && s.attention.length === 0) && fr.every((f) => f === fr[0]) && agree;
  }, ms).catch((err: Error) => assert.fail(`${err.message}; last seen ${last}`));
}
