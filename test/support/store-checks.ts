/**
 * The invariants a store file must hold after any crash, for the tests that
 * kill processes (test/crash-safety.test.ts, test/hardening/crash-*.test.ts):
 * every feed contiguous from 1 with every prev link, id and signature
 * verifying and HLCs rising; no rows beyond the heads; the view's write log
 * in step with the events; the incremental view byte-equal to a re-fold of
 * every stored event; the persisted clock not behind anything stored.
 *
 * Imported by tests only; no side effects (node --test loads every file
 * under dist/test/).
 */
import assert from "node:assert/strict";
import { sha256 } from "../../src/engine/crypto.js";
import { canonicalEventBytes, encodeBody, isRecordBody, kindCode, verifyEvent, type SignedEvent } from "../../src/engine/event.js";
import { compareHlc, HLC_ZERO, type Hlc } from "../../src/engine/hlc.js";
import { hexToBytes, toAuthorId, toEventId, type AuthorId, type EventId } from "../../src/engine/ids.js";
import type { SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { encodeView, foldEvents } from "../../src/engine/view.js";

/** Checks an event's id and signature. */
export type EventVerifier = (ev: SignedEvent) => boolean;

/**
 * verifyEvent, skipping the Ed25519 check for an (id, sig) pair that already
 * verified in an earlier check. The id is always recomputed from the event's
 * bytes, so a changed event never passes on an old verdict.
 */
export function createEventVerifier(): EventVerifier {
  const verified = new Map<EventId, string>();
  return (ev) => {
    const sig = Buffer.from(ev.sig).toString("hex");
    if (verified.get(ev.id) === sig) {
      const id = sha256(canonicalEventBytes({
        author: hexToBytes(ev.author), seq: ev.seq, prev: ev.prev === null ? null : hexToBytes(ev.prev), hlc: ev.hlc,
        kind: kindCode(ev.body), body: encodeBody(ev.body),
      }));
      return toEventId(id) === ev.id;
    }
    if (!verifyEvent(ev)) return false;
    verified.set(ev.id, sig);
    return true;
  };
}

/** What a checked store holds. */
export interface CheckedStore {
  /** Every stored event, feed by feed. */
  readonly events: readonly SignedEvent[];
  /** Each author's feed as its event ids, seq 1 first. */
  readonly feeds: ReadonlyMap<AuthorId, readonly EventId[]>;
  readonly records: number;
  readonly conflicts: number;
}

const count = (store: SqliteStore, sql: string): number => (store.db.prepare(sql).get() as { n: number }).n;

function checkFeed(store: SqliteStore, author: AuthorId, name: string, verify: EventVerifier, where: (m: string) => string): SignedEvent[] {
  const head = store.headSeq(author);
  const evs = store.readEvents(author, 1, head);
  assert.equal(evs.length, head, where(`${name}: feed holds ${evs.length} events below head ${head}`));
  evs.forEach((ev, j) => {
    assert.equal(ev.seq, j + 1, where(`${name}: feed not contiguous at ${j + 1}`));
    assert.equal(ev.prev, j === 0 ? null : evs[j - 1]!.id, where(`${name}#${ev.seq}: prev is not the id of seq-1`));
    assert.ok(verify(ev), where(`${name}#${ev.seq}: id or signature does not verify`));
    if (j > 0) assert.ok(compareHlc(ev.hlc, evs[j - 1]!.hlc) > 0, where(`${name}#${ev.seq}: HLC not above its predecessor's`));
  });
  return evs;
}

/**
 * Checks every invariant of an open store that holds whatever its writer
 * committed; `where` prefixes each failure (the round, the site). `nameOf`
 * names an author in messages.
 */
export function checkStore(
  store: SqliteStore,
  verify: EventVerifier,
  where: (msg: string) => string,
  nameOf: (author: AuthorId) => string = (a) => a.slice(0, 8),
): CheckedStore {
  const authors = (store.db.prepare("SELECT key FROM authors ORDER BY ix").all() as { key: Buffer }[]).map((r) => toAuthorId(r.key));
  const all: SignedEvent[] = [];
  const feeds = new Map<AuthorId, EventId[]>();
  let maxHlc: Hlc = HLC_ZERO;
  for (const author of authors) {
    const evs = checkFeed(store, author, nameOf(author), verify, where);
    for (const ev of evs) if (compareHlc(ev.hlc, maxHlc) > 0) maxHlc = ev.hlc;
    all.push(...evs);
    feeds.set(author, evs.map((ev) => ev.id));
  }
  assert.equal(count(store, "SELECT count(*) AS n FROM events"), all.length, where("events table holds rows beyond the feeds' heads"));
  assert.equal(store.eventCount(), all.length, where("eventCount"));
  assert.equal(count(store, "SELECT count(*) AS n FROM record_writes"), all.filter((ev) => isRecordBody(ev.body)).length, where("record_writes out of step with events"));
  assert.equal(count(store, "SELECT count(*) AS n FROM forks"), 0, where("fork evidence: an author signed two events at one seq"));

  const fold = foldEvents(all);
  const expectedView = encodeView(fold.records.values(), fold.conflicts.values());
  assert.ok(store.viewBytes().equals(expectedView), where("view differs from a re-fold of the stored events"));
  // The persisted clock is not behind anything stored, so a restarted site never stamps below it.
  assert.ok(compareHlc(store.lastHlc(), maxHlc) >= 0, where("persisted HLC is behind a stored event"));
  return { events: all, feeds, records: fold.records.size, conflicts: fold.conflicts.size };
}
