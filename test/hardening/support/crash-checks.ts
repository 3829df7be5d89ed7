/**
 * What must hold in a site's database after SIGKILL, checked while the site
 * is down (test/hardening/crash-kill.test.ts):
 *
 * - every invariant of test/support/store-checks.ts (chains, signatures,
 *   view = re-fold, persisted clock);
 * - nothing acknowledged is missing: every seq the running site's API
 *   reported holding is still held;
 * - nothing is rewritten: each feed at the previous check is a prefix of the
 *   feed now, and agrees with what the other site holds of it (a site that
 *   re-signed a lost seq differently would have forked its feed);
 * - the outbox: what is planned, pending or failed (the test reports it and
 *   the end checks require it drained).
 *
 * Imported by tests only; no side effects.
 */
import assert from "node:assert/strict";
import type { AuthorId, EventId } from "../../../src/engine/ids.js";
import { openStore } from "../../../src/engine/store/sqlite-store.js";
import type { SqliteStore } from "../../../src/engine/store/sqlite-store.js";
import { checkStore, type CheckedStore, type EventVerifier } from "../../support/store-checks.js";
import type { SiteFiles } from "./process-sites.js";

/** What the test learnt about one site across its runs. */
export interface SiteHistory {
  /** Highest seq of each author the running site's API reported holding. */
  readonly acked: Map<AuthorId, number>;
  /** Each author's feed (event ids) at the last check. */
  feeds: ReadonlyMap<AuthorId, readonly EventId[]>;
}

export function newHistory(): SiteHistory {
  return { acked: new Map(), feeds: new Map() };
}

export interface KillCheck {
  readonly events: number;
  readonly records: number;
  /** instanceIDs of outbox entries with a write planned (persisted) and not known to have landed: writes the restart must finish. */
  readonly planned: readonly string[];
  readonly pending: number;
  readonly failed: readonly string[];
}

/** Records what a running site's /api/sync says it holds, every `everyMs`, until `signal` aborts. */
export async function watchFrontier(url: string, history: SiteHistory, everyMs: number, signal: AbortSignal): Promise<number> {
  let answers = 0;
  while (!signal.aborted) {
    try {
      const res = await fetch(new URL("api/sync", url), { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
      const body = (await res.json()) as { authors: { author: AuthorId; seq: number }[] };
      for (const a of body.authors) history.acked.set(a.author, Math.max(history.acked.get(a.author) ?? 0, a.seq));
      answers += 1;
    } catch {
      // the site was killed mid-request: what it answered before still counts
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return answers;
}

function assertPrefix(before: readonly EventId[], now: readonly EventId[], what: string, where: (m: string) => string): void {
  const n = Math.min(before.length, now.length);
  for (let s = 0; s < n; s++) assert.equal(now[s], before[s], where(`${what}#${s + 1}: ${before[s]} then, ${now[s]} now`));
}

/**
 * Checks site `s`'s database (the site must be down) against its history and
 * the peer's last checked feeds; `inspect` may look further while it is open.
 */
export function checkAfterKill(
  s: SiteFiles, mine: SiteHistory, peer: SiteHistory, verify: EventVerifier, where: (m: string) => string,
  inspect: (store: SqliteStore, checked: CheckedStore) => void = () => {},
): KillCheck {
  const store = openStore({ path: s.dbPath });
  try {
    const checked = checkStore(store, verify, where);
    for (const [author, seq] of mine.acked) {
      const held = checked.feeds.get(author)?.length ?? 0;
      assert.ok(held >= seq, where(`the API reported ${author.slice(0, 8)} up to #${seq}; the database holds ${held}`));
    }
    for (const [author, ids] of mine.feeds) {
      const now = checked.feeds.get(author) ?? [];
      assert.ok(now.length >= ids.length, where(`${author.slice(0, 8)}: held ${ids.length} events at the last check, ${now.length} now`));
      assertPrefix(ids, now, `${author.slice(0, 8)} (since the last check)`, where);
    }
    for (const [author, ids] of peer.feeds) assertPrefix(ids, checked.feeds.get(author) ?? [], `${author.slice(0, 8)} (against the other site)`, where);
    mine.feeds = checked.feeds;
    inspect(store, checked);
    // A site killed before its bridge started has no outbox yet.
    const hasOutbox = store.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'bridge_outbox'").get() !== undefined;
    const rows = !hasOutbox ? [] : store.db.prepare("SELECT state, action, instance_id, last_error FROM bridge_outbox WHERE state != 'written'").all() as {
      state: string; action: string | null; instance_id: string | null; last_error: string | null;
    }[];
    return {
      events: checked.events.length, records: checked.records,
      planned: rows.filter((r) => r.action !== null).map((r) => r.instance_id ?? "(a deletion)"),
      pending: rows.filter((r) => r.state === "pending").length,
      failed: rows.filter((r) => r.state === "failed").map((r) => r.last_error ?? "(no reason)"),
    };
  } finally {
    store.close();
  }
}
