/**
 * The sync node's request/answer rules, one station at a time: who answers a
 * request that names a responder, what an overheard answer spares, what an
 * open request makes a relay forward, which gaps are asked for, and what a
 * requester is known to hold.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateSigner, type Signer } from "../src/engine/crypto.js";
import { shortTag } from "../src/engine/frontier.js";
import { recordId, recordType, type AuthorId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import {
  decodeMessage, encodeMessage, peekEventsRange, type EventsMessage, type RequestMessage, type SyncMessage,
} from "../src/engine/sync/messages.js";
import { SyncNode } from "../src/engine/sync/sync-node.js";

const T0 = 1_767_225_600_000;
const HOUR = 3_600_000;

interface Site {
  readonly signer: Signer;
  readonly store: SqliteStore;
  readonly id: Buffer;
}

/** Sites that know each other as members, on one clock. */
function sites(n: number, clock: { now: number }): Site[] {
  const signers = Array.from({ length: n }, () => generateSigner().signer);
  return signers.map((signer) => {
    const store = openStore({ path: ":memory:", signer, now: () => clock.now });
    for (const other of signers) if (other !== signer) store.addMember(other.author);
    return { signer, store, id: shortTag(signer.author) };
  });
}

function write(site: Site, count: number): void {
  for (let i = 0; i < count; i++) {
    site.store.append({ kind: "upsert", record: recordId(`r-${site.id.toString("hex")}-${i}`), type: recordType("t"), base: null, fields: { i } });
  }
}

/** Copies `author`'s events [from, to] from one store into another. */
function copy(from: SqliteStore, to: SqliteStore, author: AuthorId, first: number, last: number): void {
  to.ingest(from.readEvents(author, first, last));
}

function node(site: Site, clock: { now: number }, options: Partial<ConstructorParameters<typeof SyncNode>[0]> = {}): SyncNode {
  return new SyncNode({
    store: site.store, now: () => clock.now, wallNow: () => clock.now, random: seededRandom(7), stationId: site.id,
    answerDelayMs: 1_000, requestDelayMs: 100, requestRetryMs: 2_000, holeDelayMs: 1_000, busyWaitMs: 2_000, crossMs: 500,
    ...options,
  });
}

/** Everything the node sends over `ms`, polled every 100 ms. */
function drain(n: SyncNode, clock: { now: number }, ms: number): SyncMessage[] {
  const out: SyncMessage[] = [];
  for (const end = clock.now + ms; clock.now < end; clock.now += 100) {
    for (const frame of n.poll()) {
      const m = decodeMessage(frame);
      if (m.ok) out.push(m.message);
    }
  }
  return out;
}

const eventsOf = (ms: SyncMessage[]) => ms.filter((m): m is EventsMessage => m.type === "events");
const countEvents = (ms: SyncMessage[]) => eventsOf(ms).reduce((n, m) => n + m.items.length, 0);
const requestsOf = (ms: SyncMessage[]) => ms.filter((m): m is RequestMessage => m.type === "request");

/** Events messages as the origin's store would send them, for `author`'s [from, to]. */
function eventsFrame(store: SqliteStore, author: AuthorId, from: number, to: number): Uint8Array {
  const batch = store.wireItems(author, from, to, 100_000);
  return encodeMessage({ type: "events", short: shortTag(author), start: from, items: batch.items });
}

describe("requests that name a responder", () => {
  it("only the station named answers, and at once; a request naming nobody is answered after a back-off", () => {
    const clock = { now: T0 };
    const [holder, other, requester] = sites(3, clock) as [Site, Site, Site];
    write(holder, 3);
    copy(holder.store, other.store, holder.signer.author, 1, 3);
    const h = node(holder, clock);
    const o = node(other, clock);
    const ask = (responder?: Buffer) =>
      encodeMessage({ type: "request", ranges: [{ short: holder.id, from: 1, to: 3 }], ...(responder ? { responder } : {}) });

    h.receive(ask(holder.id), requester.id);
    o.receive(ask(holder.id), requester.id);
    assert.equal(countEvents(o.poll().map((f) => decodeMessage(f)).flatMap((m) => (m.ok ? [m.message] : []))), 0);
    assert.ok(countEvents(drain(h, clock, 100)) > 0, "the named station answers without waiting");
    assert.equal(countEvents(drain(o, clock, 5_000)), 0, "a station not named stays quiet");

    clock.now += 10_000;
    o.receive(ask(), requester.id);
    assert.equal(countEvents(o.poll().map((f) => decodeMessage(f)).flatMap((m) => (m.ok ? [m.message] : []))), 0, "not at once");
    assert.equal(countEvents(drain(o, clock, 2_000)), 3, "but after the back-off");
  });

  it("a responder that stays silent is asked again, then anyone is asked", () => {
    const clock = { now: T0 };
    const [origin, relay, me] = sites(3, clock) as [Site, Site, Site];
    write(origin, 2);
    const n = node(me, clock);
    // The relay's frontier shows it holds the origin's feed; we do not hear the origin.
    n.receive(encodeMessage({ type: "frontier", digest: relay.store.digest(), page: 0, pages: 1, entries: [{ short: origin.id, seq: 2 }] }), relay.id);
    const asked = requestsOf(drain(n, clock, 60_000));
    assert.ok(asked.length >= 3, `${asked.length} requests in a minute of silence`);
    assert.deepEqual(Buffer.from(asked[0]!.responder ?? []), relay.id, "the first names the station that showed the events");
    assert.equal(asked[0]!.ranges[0]!.to, null, "open-ended: the origin is not heard, so the relay should forward what comes later");
    assert.ok(asked.some((r) => r.responder === undefined), "a silent responder's requests go to anyone in the end");
  });

  it("a responder heard since the request is asked again, by name, without backing off", () => {
    const clock = { now: T0 };
    const [origin, relay, me] = sites(3, clock) as [Site, Site, Site];
    write(origin, 2);
    const n = node(me, clock);
    const frontier = encodeMessage({ type: "frontier", digest: relay.store.digest(), page: 0, pages: 1, entries: [{ short: origin.id, seq: 2 }] });
    n.receive(frontier, relay.id);
    const asked: RequestMessage[] = [];
    for (let i = 0; i < 60; i++) {
      asked.push(...requestsOf(drain(n, clock, 1_000)));
      n.receive(encodeMessage({ type: "beacon", digest: relay.store.digest(), total: 0 }), relay.id); // alive, answer lost
    }
    // Backing off (2, 4, 8, 16, 32 s) would leave about 5 requests in the minute.
    assert.ok(asked.length >= 10, `${asked.length} requests in a minute`);
    assert.ok(asked.slice(0, 2).every((r) => Buffer.from(r.responder ?? []).equals(relay.id)), "the first ones name the relay");
  });
});

describe("answers", () => {
  it("an answer overheard from another station is not sent again", () => {
    const clock = { now: T0 };
    const [holder, peer, requester] = sites(3, clock) as [Site, Site, Site];
    write(holder, 2);
    const h = node(holder, clock, { answerDelayMs: 5_000 });
    h.receive(encodeMessage({ type: "request", ranges: [{ short: holder.id, from: 1, to: 2 }] }), requester.id);
    h.receive(eventsFrame(holder.store, holder.signer.author, 1, 2), peer.id); // someone answered first
    assert.equal(countEvents(drain(h, clock, 10_000)), 0);
    assert.equal(h.stats.suppressedEvents, 2);
  });

  it("an answer owed by name is not dropped because another station was heard sending the same", () => {
    const clock = { now: T0 };
    const [holder, peer, requester] = sites(3, clock) as [Site, Site, Site];
    write(holder, 2);
    const h = node(holder, clock);
    h.receive(encodeMessage({ type: "request", ranges: [{ short: holder.id, from: 1, to: 2 }], responder: holder.id }), requester.id);
    h.receive(eventsFrame(holder.store, holder.signer.author, 1, 2), peer.id); // the requester may not hear that station
    assert.equal(countEvents(drain(h, clock, 1_000)), 2);
  });

  it("what the requester shows it holds is struck from what it is owed", () => {
    const clock = { now: T0 };
    const [holder, requester] = sites(2, clock) as [Site, Site];
    write(holder, 4);
    const h = node(holder, clock, { answerDelayMs: 5_000 });
    h.receive(encodeMessage({ type: "request", ranges: [{ short: holder.id, from: 1, to: 4 }] }), requester.id);
    // A later request from the same station starts at 4: it got 1..3 another way.
    h.receive(encodeMessage({ type: "request", ranges: [{ short: holder.id, from: 4, to: 4 }] }), requester.id);
    const sent = eventsOf(drain(h, clock, 10_000));
    assert.deepEqual(sent.map((m) => [m.start, m.items.length]), [[4, 1]]);
  });

  it("a relay asked open-ended forwards what it receives later, without another request", () => {
    const clock = { now: T0 };
    const [origin, relay, requester] = sites(3, clock) as [Site, Site, Site];
    write(origin, 3);
    copy(origin.store, relay.store, origin.signer.author, 1, 1);
    const r = node(relay, clock);
    r.receive(encodeMessage({ type: "request", ranges: [{ short: origin.id, from: 1, to: null }], responder: relay.id }), requester.id);
    assert.deepEqual(eventsOf(drain(r, clock, 500)).map((m) => m.start), [1]);
    clock.now += HOUR;
    r.receive(eventsFrame(origin.store, origin.signer.author, 2, 3), origin.id);
    const forwarded = eventsOf(drain(r, clock, 500));
    assert.deepEqual(forwarded.map((m) => [m.start, m.items.length]), [[2, 2]]);
  });

  it("a request that crossed the answer on the way is not answered twice", () => {
    const clock = { now: T0 };
    const [holder, requester] = sites(2, clock) as [Site, Site];
    write(holder, 1);
    const h = node(holder, clock, { crossMs: 5_000 });
    const ask = encodeMessage({ type: "request", ranges: [{ short: holder.id, from: 1, to: 1 }], responder: holder.id });
    h.receive(ask, requester.id);
    assert.equal(countEvents(drain(h, clock, 200)), 1);
    h.receive(ask, requester.id);
    assert.equal(countEvents(drain(h, clock, 1_000)), 0, "asked again right after: the answer is on its way");
    clock.now += 10_000;
    h.receive(ask, requester.id);
    assert.equal(countEvents(drain(h, clock, 200)), 1, "asked again later: it was lost");
  });
});

describe("gaps", () => {
  it("events received beyond a gap are not asked for again: only the gap is", () => {
    const clock = { now: T0 };
    const [origin, me] = sites(2, clock) as [Site, Site];
    write(origin, 6);
    const n = node(me, clock, { requestRetryMs: 60_000, busyWaitMs: 0 });
    const author = origin.signer.author;
    n.receive(eventsFrame(origin.store, author, 1, 2), origin.id);
    n.receive(eventsFrame(origin.store, author, 5, 6), origin.id);
    const asked = requestsOf(drain(n, clock, 3_000));
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0]!.ranges.map((r) => [r.from, r.to]), [[3, 4]]);
    assert.deepEqual(Buffer.from(asked[0]!.responder ?? []), origin.id);
    assert.equal(n.wantsMessage(eventsFrame(origin.store, author, 5, 6).subarray(0, 20)), false, "5..6 are held aside");
    assert.equal(n.wantsMessage(eventsFrame(origin.store, author, 3, 4).subarray(0, 20)), true);
  });
});

describe("events message prefix", () => {
  it("names the feed and the range from the first bytes alone", () => {
    const clock = { now: T0 };
    const [origin] = sites(1, clock) as [Site];
    write(origin, 30);
    const frame = eventsFrame(origin.store, origin.signer.author, 3, 27);
    assert.deepEqual(peekEventsRange(frame.subarray(0, 16)), { short: Uint8Array.from(origin.id), start: 3, end: 27 });
    assert.equal(peekEventsRange(encodeMessage({ type: "beacon", digest: origin.store.digest(), total: 1 })), undefined);
    assert.equal(peekEventsRange(frame.subarray(0, 5)), undefined, "too short to tell");
  });
});
