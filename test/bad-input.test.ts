/**
 * Hostile and broken input: every case is refused with a typed reason and
 * counted (store.counterValues(), "refused.<reason>"; SyncNode stats.dropped),
 * nothing throws, and nothing stored changes: feeds, frontier, gap buffer,
 * view, write log, clock and membership compare equal before and after
 * (only fork evidence and counters may grow). Where a refused event waits in
 * the gap buffer first, the store afterwards equals a store that only ever
 * received the genuine events.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeStrict, type CborValue } from "../src/engine/cbor.js";
import { MAX_EVENT_BODY_BYTES } from "../src/engine/constants.js";
import { sha256, signerFromSeed, type Signer } from "../src/engine/crypto.js";
import {
  canonicalEventBytes,
  encodeBody,
  kindCode,
  signEvent,
  signingMessage,
  verifyEvent,
  type EventBody,
  type SignedEvent,
} from "../src/engine/event.js";
import { decodeSignedEvent, encodeSignedEvent } from "../src/engine/event-codec.js";
import { shortTag } from "../src/engine/frontier.js";
import type { Hlc } from "../src/engine/hlc.js";
import { hexToBytes, recordId, recordType, toEventId, type AuthorId, type EventId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { openStore, type IngestReport, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { decodeMessage, encodeMessage } from "../src/engine/sync/messages.js";
import { SyncNode } from "../src/engine/sync/sync-node.js";
import { encodeWireItem } from "../src/engine/wire.js";

const T0 = 1_767_225_600_000;
const SHARED = recordId("uuid:0f8e7d6c-5b4a-4938-8776-655443322110");

function seed(n: number): Buffer {
  const b = Buffer.alloc(32, 0x33);
  b.writeUInt32BE(n, 0);
  return b;
}
const alice = signerFromSeed(seed(1));
const bob = signerFromSeed(seed(2));
const carol = signerFromSeed(seed(3)); // never a member

/** signEvent without its size check, to build validly signed oversized events. */
function signRaw(signer: Signer, header: { seq: number; prev: EventId | null; hlc: Hlc }, body: EventBody): SignedEvent {
  const id = sha256(canonicalEventBytes({
    author: signer.publicKey, seq: header.seq, prev: header.prev === null ? null : hexToBytes(header.prev), hlc: header.hlc,
    kind: kindCode(body), body: encodeBody(body),
  }));
  return { author: signer.author, ...header, body, id: toEventId(id), sig: signer.sign(signingMessage(id)) };
}

function hlcOf(seq: number, offset: number): Hlc {
  return { wall: T0 + seq * 1000 + offset, counter: seq % 3 };
}

/** A deterministic feed whose writes race the other member's on a shared record, so the view has conflicts. */
function chain(signer: Signer, n: number, tag: string, offset: number): SignedEvent[] {
  const out: SignedEvent[] = [];
  const own = recordId(`rec-${tag}`);
  const type = recordType("household");
  for (let seq = 1; seq <= n; seq++) {
    const prevEv = out[seq - 2];
    const base = (k: number) => out[k - 1]?.hlc ?? null;
    const bodies: EventBody[] = [
      { kind: "upsert", record: SHARED, type, base: null, fields: { q1: tag, q2: seq } },
      { kind: "upsert", record: own, type, base: null, fields: { q1: `${tag} own`, nested: { a: [1, 2.5, null] } } },
      { kind: "upsert", record: SHARED, type, base: null, fields: { q1: `${tag} edit` } },
      { kind: "attachment", record: SHARED, type, field: "photo", hash: sha256(Buffer.from(tag)), size: 1234, mime: "image/jpeg" },
      { kind: "upsert", record: SHARED, type, base: base(3), fields: { q3: seq, q1: `${tag} again` } },
      { kind: "delete", record: own, type, base: base(2) },
    ];
    const body = bodies[seq - 1] ?? { kind: "upsert", record: SHARED, type, base: base(seq - 1), fields: { q4: seq } };
    out.push(signEvent(signer, { seq, prev: prevEv ? prevEv.id : null, hlc: hlcOf(seq, offset) }, body));
  }
  return out;
}

const A = chain(alice, 8, "alice", 0);
const B = chain(bob, 8, "bob", 500);
const C = chain(carol, 3, "carol", 250);
const ev = (feed: readonly SignedEvent[], seq: number): SignedEvent => feed[seq - 1] as SignedEvent;
/** The wire item of feed#seq. */
const wire = (feed: readonly SignedEvent[], seq: number, e: SignedEvent = ev(feed, seq)): CborValue =>
  encodeWireItem(e, seq > 1 ? ev(feed, seq - 1).hlc.wall : null);
const eventsFrame = (author: AuthorId, start: number, items: CborValue[]): Buffer =>
  encodeMessage({ type: "events", short: shortTag(author), start, items });

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(bytes);
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/** A store holding alice#1–4 and bob#1–3 (heads 4 and 3). */
function fixture(): SqliteStore {
  const store = openStore({ path: ":memory:", now: () => T0 + 3_600_000 });
  store.addMember(alice.author, "alice");
  store.addMember(bob.author, "bob");
  const r = store.ingest([...A.slice(0, 4), ...B.slice(0, 3)]);
  assert.equal(r.applied, 7);
  assert.ok(store.conflicts().length > 0, "fixture view has conflict entries");
  return store;
}

function node(store: SqliteStore): SyncNode {
  return new SyncNode({ store, now: () => T0 + 3_600_000, random: seededRandom(7) });
}

const TABLES = ["authors", "events", "gap_buffer", "records", "record_writes", "conflicts", "meta"] as const;

function tableDigest(store: SqliteStore, table: string): string {
  const rows = store.db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
  const lines = rows.map((row) =>
    JSON.stringify(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString("hex") : v])),
  );
  return sha256(Buffer.from(lines.sort().join("\n"))).toString("hex");
}

interface Snapshot {
  frontier: [AuthorId, number][];
  eventCount: number;
  view: string;
  gap: number;
  tables: Record<string, string>;
}

function snapshot(store: SqliteStore): Snapshot {
  return {
    frontier: [...store.frontier()].sort(([a], [b]) => (a < b ? -1 : 1)),
    eventCount: store.eventCount(),
    view: store.viewBytes().toString("hex"),
    gap: store.gapBufferSize(),
    tables: Object.fromEntries(TABLES.map((t) => [t, tableDigest(store, t)])),
  };
}

function assertUnchanged(store: SqliteStore, before: Snapshot, what: string): void {
  const after = snapshot(store);
  assert.deepEqual(after.frontier, before.frontier, `${what}: frontier changed`);
  assert.equal(after.eventCount, before.eventCount, `${what}: event count changed`);
  assert.equal(after.gap, before.gap, `${what}: gap buffer size changed`);
  assert.equal(after.view, before.view, `${what}: view bytes changed`);
  assert.deepEqual(after.tables, before.tables, `${what}: stored tables changed`);
}

/** Counters that moved since `before`. */
function counterDelta(store: SqliteStore, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(store.counterValues())) {
    const d = v - (before[name] ?? 0);
    if (d !== 0) out[name] = d;
  }
  return out;
}

function refusedWith(report: IngestReport, reason: string, what: string): void {
  assert.ok(report.outcomes.length > 0, `${what}: no outcomes`);
  for (const o of report.outcomes) assert.deepEqual(o, { status: "refused", reason }, what);
  assert.equal(report.applied + report.duplicates + report.buffered, 0, `${what}: ${JSON.stringify(report)}`);
}

/** Fresh fixture that received only `genuine` after the fixture events. */
function reference(genuine: SignedEvent[]): SqliteStore {
  const store = fixture();
  assert.equal(store.ingest(genuine).applied, genuine.length);
  return store;
}

describe("bad input", () => {
  it("a duplicate of an applied event is 'duplicate' and changes nothing", () => {
    const store = fixture();
    const sync = node(store);
    const before = snapshot(store);
    const counters = store.counterValues();
    const dups: IngestReport[] = [
      store.ingest([ev(A, 2), ev(A, 4), ev(B, 1)]),
      store.ingestEncoded([encodeSignedEvent(ev(A, 1)), encodeSignedEvent(ev(B, 3))]),
      store.ingestWire(alice.author, 2, [wire(A, 2), wire(A, 3)]),
    ];
    for (const r of dups) for (const o of r.outcomes) assert.deepEqual(o, { status: "duplicate" });
    sync.receive(eventsFrame(alice.author, 1, [wire(A, 1), wire(A, 2)])); // all held: not even offered to the store
    assertUnchanged(store, before, "duplicates");
    assert.deepEqual(counterDelta(store, counters), { "ingest.duplicate": 7 });
    assert.deepEqual(sync.stats.dropped, {});

    // A second copy of an event waiting in the gap buffer is a duplicate too.
    assert.deepEqual(store.ingest([ev(A, 6)]).outcomes, [{ status: "buffered" }]);
    const waiting = snapshot(store);
    assert.deepEqual(store.ingest([ev(A, 6)]).outcomes, [{ status: "duplicate" }]);
    assertUnchanged(store, waiting, "duplicate of a buffered event");
  });

  it("refuses forged signatures", () => {
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const a5 = ev(A, 5);
    const encoded = encodeSignedEvent(a5);
    // A genuine, differently-bodied alice#5, and its content dressed with a5's valid signature.
    const other = signEvent(alice, { seq: 5, prev: ev(A, 4).id, hlc: a5.hlc }, { kind: "delete", record: SHARED, type: recordType("household"), base: null });
    const borrowedSig = { ...other, sig: a5.sig };
    const borrowedIdAndSig = { ...other, id: a5.id, sig: a5.sig };
    const signedByBob = { ...a5, sig: bob.sign(signingMessage(hexToBytes(a5.id))) };
    const wireItem = wire(A, 5) as CborValue[];
    const cases: [string, () => IngestReport][] = [
      ["flipped signature bit", () => store.ingest([{ ...a5, sig: flipBit(a5.sig, 17) }])],
      ["flipped signature bit, encoded", () => store.ingestEncoded([flipBit(encoded, (encoded.length - 3) * 8)])],
      ["flipped signature bit, wire", () => store.ingestWire(alice.author, 5, [[...wireItem.slice(0, 4), flipBit(a5.sig, 300)]])],
      ["valid signature over other content", () => store.ingest([borrowedSig])],
      ["valid signature and id over other content", () => store.ingest([borrowedIdAndSig])],
      ["valid signature over other content, encoded", () => store.ingestEncoded([encodeSignedEvent(borrowedSig)])],
      ["valid signature over other content, wire", () => store.ingestWire(alice.author, 5, [wire(A, 5, borrowedSig)])],
      ["signed by another member", () => store.ingest([signedByBob])],
      ["flipped signature bit, ahead of a gap", () => store.ingest([{ ...ev(A, 6), sig: flipBit(ev(A, 6).sig, 5) }])],
      ["all zero signature", () => store.ingest([{ ...a5, sig: new Uint8Array(64) }])],
    ];
    for (const [what, run] of cases) refusedWith(run(), "bad-signature", what);
    // A signature of the wrong length is not a signature at all.
    refusedWith(store.ingest([{ ...a5, sig: a5.sig.subarray(0, 63) }]), "malformed", "short signature");
    refusedWith(store.ingestWire(alice.author, 5, [[...wireItem.slice(0, 4), a5.sig.subarray(1)]]), "malformed", "short signature, wire");
    assertUnchanged(store, before, "forged signatures");
    assert.deepEqual(counterDelta(store, counters), { "refused.bad-signature": cases.length, "refused.malformed": 2 });
    assert.equal(store.forks().length, 0);
    // The genuine event still applies afterwards.
    assert.equal(store.ingest([a5]).applied, 1);
  });

  it("refuses a forged wire item that waited in the gap buffer once the gap fills", () => {
    const store = fixture();
    const sync = node(store);
    const counters = store.counterValues();
    const forged = [...(wire(A, 6) as CborValue[]).slice(0, 4), flipBit(ev(A, 6).sig, 77)];
    sync.receive(eventsFrame(alice.author, 6, [forged])); // cannot be verified before alice#5 arrives
    assert.equal(store.gapBufferSize(), 1);
    sync.receive(eventsFrame(alice.author, 5, [wire(A, 5)]));
    assert.equal(store.headSeq(alice.author), 5);
    assert.deepEqual(counterDelta(store, counters), { "ingest.buffered": 1, "ingest.applied": 1, "refused.bad-signature": 1 });
    assert.deepEqual(sync.stats.dropped, {});
    const ref = reference([ev(A, 5)]);
    assertUnchanged(store, snapshot(ref), "after the forged item was drained");
    // The genuine alice#6 is not crowded out.
    assert.equal(store.ingestWire(alice.author, 6, [wire(A, 6)]).applied, 1);
  });

  it("refuses events of non-members", () => {
    const store = fixture();
    const sync = node(store);
    store.removeMember(bob.author); // bob's stored events stay; his new ones are refused
    const before = snapshot(store);
    const counters = store.counterValues();
    refusedWith(store.ingest(C), "non-member", "non-member, full");
    refusedWith(store.ingestEncoded(C.map((e) => encodeSignedEvent(e))), "non-member", "non-member, encoded");
    refusedWith(store.ingestWire(carol.author, 1, C.map((_, i) => wire(C, i + 1))), "non-member", "non-member, wire");
    refusedWith(store.ingest([ev(B, 4)]), "non-member", "removed member, full");
    refusedWith(store.ingestWire(bob.author, 4, [wire(B, 4)]), "non-member", "removed member, wire");
    sync.receive(eventsFrame(carol.author, 1, [wire(C, 1)]));
    sync.receive(eventsFrame(bob.author, 4, [wire(B, 4)]));
    assertUnchanged(store, before, "non-members");
    assert.deepEqual(counterDelta(store, counters), { "refused.non-member": 3 + 3 + 3 + 1 + 1 });
    assert.deepEqual(sync.stats.dropped, { "unknown-author": 2 });
  });

  it("refuses a broken chain", () => {
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const a5 = ev(A, 5);
    const elsewhere = toEventId(sha256(Buffer.from("some other history")));
    // Validly signed by alice over a prev that is not alice#4: authentic evidence of another history.
    const otherHistory = signEvent(alice, { seq: 5, prev: elsewhere, hlc: a5.hlc }, a5.body);
    refusedWith(store.ingest([otherHistory]), "fork", "signed over another prev");
    // alice#5 with its prev rewritten after signing.
    refusedWith(store.ingest([{ ...a5, prev: ev(A, 3).id }]), "bad-signature", "prev rewritten");
    refusedWith(store.ingestEncoded([encodeSignedEvent({ ...a5, prev: elsewhere })]), "bad-signature", "prev rewritten, encoded");
    // Structurally impossible links.
    refusedWith(store.ingestEncoded([encodeSignedEvent({ ...a5, prev: null })]), "malformed", "no prev after seq 1");
    refusedWith(store.ingestEncoded([encodeSignedEvent({ ...ev(B, 1), prev: ev(B, 1).id })]), "malformed", "a prev at seq 1");
    assertUnchanged(store, before, "broken chain");
    assert.deepEqual(counterDelta(store, counters), {
      "refused.fork": 1, "refused.bad-signature": 2, "refused.malformed": 2,
    });
    const forks = store.forks();
    assert.equal(forks.length, 1);
    assert.equal(forks[0]?.seq, 5);
    assert.equal(forks[0]?.keptId, null);
    assert.equal(forks[0]?.other.id, otherHistory.id);
    assert.ok(verifyEvent(forks[0]!.other), "fork evidence verifies");
  });

  it("refuses an event whose prev does not match once a gap fills", () => {
    const store = fixture();
    const counters = store.counterValues();
    const elsewhere = toEventId(sha256(Buffer.from("some other history")));
    // alice#6 validly signed over a prev that is not the real alice#5: it verifies, so it waits.
    const a6x = signEvent(alice, { seq: 6, prev: elsewhere, hlc: ev(A, 6).hlc }, ev(A, 6).body);
    assert.deepEqual(store.ingest([a6x]).outcomes, [{ status: "buffered" }]);
    // bob#5 signed over another prev, sent as a wire item: its prev is derived from our bob#4 once that arrives.
    const b5x = signEvent(bob, { seq: 5, prev: elsewhere, hlc: ev(B, 5).hlc }, ev(B, 5).body);
    assert.deepEqual(store.ingestWire(bob.author, 5, [wire(B, 5, b5x)]).outcomes, [{ status: "buffered" }]);
    assert.equal(store.gapBufferSize(), 2);

    const filled = store.ingest([ev(A, 5)]);
    assert.equal(filled.applied, 1);
    assert.deepEqual(filled.refused, { fork: 1 });
    const filledWire = store.ingestWire(bob.author, 4, [wire(B, 4)]);
    assert.equal(filledWire.applied, 1);
    assert.deepEqual(filledWire.refused, { "bad-signature": 1 });

    assertUnchanged(store, snapshot(reference([ev(A, 5), ev(B, 4)])), "after the gaps filled");
    assert.deepEqual(counterDelta(store, counters), {
      "ingest.buffered": 2, "ingest.applied": 2, "refused.fork": 1, "refused.bad-signature": 1,
    });
    const [fork] = store.forks();
    assert.equal(fork?.seq, 6);
    assert.equal(fork?.other.id, a6x.id);
    assert.equal(fork?.other.prev, elsewhere);
  });

  it("refuses a fork and keeps both ids as evidence", () => {
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const type = recordType("household");
    const a3x = signEvent(alice, { seq: 3, prev: ev(A, 2).id, hlc: ev(A, 3).hlc }, { kind: "upsert", record: SHARED, type, base: null, fields: { q1: "rewritten" } });
    const a4x = signEvent(alice, { seq: 4, prev: ev(A, 3).id, hlc: ev(A, 4).hlc }, { kind: "delete", record: SHARED, type, base: null });
    const b2x = signEvent(bob, { seq: 2, prev: ev(B, 1).id, hlc: { wall: ev(B, 2).hlc.wall + 1, counter: 0 } }, ev(B, 2).body);
    refusedWith(store.ingest([a3x]), "fork", "fork below the head");
    refusedWith(store.ingestEncoded([encodeSignedEvent(a4x)]), "fork", "fork at the head, encoded");
    refusedWith(store.ingestWire(bob.author, 2, [wire(B, 2, b2x)]), "fork", "fork, wire");
    refusedWith(store.ingest([a3x]), "fork", "the same fork again");
    refusedWith(store.ingest([{ ...a3x, sig: flipBit(a3x.sig, 9) }]), "bad-signature", "an unsigned 'fork' is no evidence");
    assertUnchanged(store, before, "forks");
    assert.deepEqual(counterDelta(store, counters), { "refused.fork": 4, "refused.bad-signature": 1 });

    const forks = store.forks();
    const evidence = forks.map((f) => ({ author: f.author, seq: f.seq, kept: f.keptId, other: f.other.id }));
    assert.deepEqual(evidence.sort((x, y) => (x.author + x.seq < y.author + y.seq ? -1 : 1)), [
      { author: alice.author, seq: 3, kept: ev(A, 3).id, other: a3x.id },
      { author: alice.author, seq: 4, kept: ev(A, 4).id, other: a4x.id },
      { author: bob.author, seq: 2, kept: ev(B, 2).id, other: b2x.id },
    ].sort((x, y) => (x.author + x.seq < y.author + y.seq ? -1 : 1)));
    for (const f of forks) assert.ok(verifyEvent(f.other), "fork evidence verifies on its own");
  });

  it("keeps one version and the other as evidence when two signed versions wait in one gap slot", () => {
    const store = fixture();
    const a6 = ev(A, 6);
    const a6x = signEvent(alice, { seq: 6, prev: ev(A, 5).id, hlc: a6.hlc }, { kind: "upsert", record: SHARED, type: recordType("household"), base: null, fields: { q9: 1 } });
    assert.equal(store.ingest([a6, a6x]).buffered, 2);
    const filled = store.ingest([ev(A, 5)]);
    assert.equal(filled.applied, 2);
    assert.deepEqual(filled.refused, { fork: 1 });
    assert.equal(store.gapBufferSize(), 0);
    const kept = store.readEvents(alice.author, 6, 6)[0]!;
    const [fork] = store.forks();
    assert.deepEqual([fork?.seq, fork?.keptId], [6, kept.id]);
    assert.deepEqual([kept.id, fork?.other.id].sort(), [a6.id, a6x.id].sort());
  });

  it("refuses truncated and garbage CBOR through ingestEncoded", () => {
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const encoded = encodeSignedEvent(ev(A, 5));
    const truncated = Array.from({ length: encoded.length }, (_, n) => encoded.subarray(0, n));
    const random = seededRandom(11);
    const garbage = Array.from({ length: 300 }, () => Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256))));
    const trailing = Buffer.concat([encoded, Buffer.of(0)]);
    const inputs = [...truncated, ...garbage, trailing];
    for (const b of inputs) assert.equal(decodeSignedEvent(b).ok, false);
    refusedWith(store.ingestEncoded(inputs), "malformed", "truncated and garbage events");
    assertUnchanged(store, before, "garbage events");
    assert.deepEqual(counterDelta(store, counters), { "refused.malformed": inputs.length });
  });

  it("refuses garbage wire items at once, even ahead of a gap", () => {
    const store = fixture();
    const sync = node(store);
    const before = snapshot(store);
    const counters = store.counterValues();
    const [delta, counter, kind, packed, sig] = wire(A, 6) as CborValue[];
    const garbage: CborValue[] = [
      "not an item", 42, null, [], [delta!, counter!, kind!, packed!], [delta!, counter!, kind!, packed!, sig!, 0],
      [-1, counter!, kind!, packed!, sig!], [0.5, counter!, kind!, packed!, sig!], [2 ** 48, counter!, kind!, packed!, sig!],
      [delta!, -1, kind!, packed!, sig!], [delta!, 2 ** 31, kind!, packed!, sig!], [delta!, counter!, 256, packed!, sig!],
      [delta!, counter!, 1.5, packed!, sig!], [delta!, counter!, kind!, packed!, Buffer.alloc(10)], ["1", counter!, kind!, packed!, sig!],
    ];
    // At the next seq and ahead of a gap (where the wall of the event before is not yet known).
    for (const g of garbage) {
      refusedWith(store.ingestWire(alice.author, 5, [g]), "malformed", `garbage at the next seq: ${JSON.stringify(g)}`);
      refusedWith(store.ingestWire(alice.author, 7, [g]), "malformed", `garbage ahead of a gap: ${JSON.stringify(g)}`);
    }
    sync.receive(eventsFrame(alice.author, 9, garbage));
    assertUnchanged(store, before, "garbage wire items");
    assert.deepEqual(counterDelta(store, counters), { "refused.malformed": garbage.length * 3 });
    assert.deepEqual(sync.stats.dropped, {});
  });

  it("refuses a signed event object that its encoding would not allow", () => {
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const header = { seq: 5, prev: ev(A, 4).id, hlc: ev(A, 5).hlc };
    const objects: [string, SignedEvent][] = [
      // signEvent refuses these, but a peer could sign them; stored, they would make alice's feed unreadable (readEvents and wireItems throw).
      ["an upsert kind code with a body that is no upsert", signRaw(alice, header, { kind: "unknown", code: 1, value: "not an upsert" })],
      ["a delete without its base", signRaw(alice, header, { kind: "unknown", code: 2, value: [SHARED, "household"] })],
      ["a kind code beyond a byte", signRaw(alice, header, { kind: "unknown", code: 300, value: 1 })],
      ["an empty record id", signRaw(alice, header, { kind: "upsert", record: "" as typeof SHARED, type: recordType("household"), base: null, fields: {} })],
      ["an invalid HLC", signRaw(alice, { ...header, hlc: { wall: -1, counter: 0 } }, ev(A, 5).body)],
      ["a fractional seq", signRaw(alice, { ...header, seq: 5.5 }, ev(A, 5).body)],
      ["a value outside the data model", { ...ev(A, 5), body: { ...(ev(A, 5).body as EventBody & { kind: "upsert" }), fields: { q: undefined as unknown as CborValue } } }],
    ];
    for (const [what, obj] of objects) refusedWith(store.ingest([obj]), "malformed", what);
    assertUnchanged(store, before, "malformed objects");
    assert.deepEqual(counterDelta(store, counters), { "refused.malformed": objects.length });
    assert.equal(store.readEvents(alice.author, 1, 4).length, 4);
  });

  it("refuses bodies nested too deep for any sync message to carry", () => {
    const nest = (k: number): CborValue => (k === 0 ? 1 : [nest(k - 1)]);
    // Body → fields → "deep" → k arrays: the innermost value sits 2 + k levels down; MAX_BODY_DEPTH is 13.
    const deepBody = (k: number): EventBody => ({ kind: "upsert", record: SHARED, type: recordType("household"), base: null, fields: { deep: nest(k) } });
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const tooDeep = signRaw(alice, { seq: 5, prev: ev(A, 4).id, hlc: ev(A, 5).hlc }, deepBody(12));
    assert.throws(() => signEvent(alice, { seq: 5, prev: ev(A, 4).id, hlc: ev(A, 5).hlc }, deepBody(12)), RangeError);
    refusedWith(store.ingest([tooDeep]), "malformed", "too deep, full");
    refusedWith(store.ingestEncoded([encodeSignedEvent(tooDeep)]), "malformed", "too deep, encoded");
    assert.throws(() => encodeMessage({ type: "events", short: shortTag(alice.author), start: 5, items: [wire(A, 5, tooDeep)] }));
    assertUnchanged(store, before, "too deep");
    assert.deepEqual(counterDelta(store, counters), { "refused.malformed": 2 });

    // Locally: append refuses it, and the deepest allowed body travels to a peer.
    let now = T0 + 3_600_000;
    const site = openStore({ path: ":memory:", signer: alice, now: () => now });
    const peer = openStore({ path: ":memory:", now: () => now });
    peer.addMember(alice.author);
    const local = snapshot(site);
    assert.throws(() => site.append(deepBody(12)), RangeError);
    assertUnchanged(site, local, "refused append");
    site.append(deepBody(11));
    const sync = new SyncNode({ store: site, now: () => now, random: seededRandom(3) });
    sync.receive(encodeMessage({ type: "request", ranges: [{ short: shortTag(alice.author), from: 1, to: 1 }] }));
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 10 && frames.length === 0; i++) {
      now += 1_000;
      frames.push(...sync.poll().filter((f) => { const m = decodeMessage(f); return m.ok && m.message.type === "events"; }));
    }
    assert.equal(frames.length, 1);
    const m = decodeMessage(frames[0]!);
    assert.ok(m.ok && m.message.type === "events");
    assert.equal(peer.ingestWire(alice.author, m.message.start, m.message.items).applied, 1);
    assert.ok(peer.viewBytes().equals(site.viewBytes()));
  });

  it("drops random, truncated and mutated frames without throwing", () => {
    const store = fixture();
    const sync = node(store);
    const before = snapshot(store);
    const counters = store.counterValues();
    const random = seededRandom(12);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

    // Random bytes, and random bytes behind a plausible header (version 1, events, alice's tag).
    const header = Buffer.concat([Buffer.of(0x85, 0x01, 0x04, 0x44), shortTag(alice.author)]);
    const frames = Array.from({ length: 3000 }, (_, i) => (i % 2 ? bytes(Math.floor(random() * 256)) : Buffer.concat([header, bytes(Math.floor(random() * 200))])));
    let undecodable = 0;
    for (const f of frames) {
      const m = decodeMessage(f);
      assert.equal(m.ok, false, `random frame ${f.toString("hex")} parsed`);
      sync.receive(f);
      if (!m.ok && m.reason === "undecodable") undecodable++;
    }
    assert.equal(Object.values(sync.stats.dropped).reduce((x, y) => x + y, 0), frames.length);
    assert.equal(sync.stats.dropped.undecodable, undecodable);

    // Every proper prefix of a valid frame.
    const valid = eventsFrame(alice.author, 5, [wire(A, 5), wire(A, 6)]);
    const dropped = sync.stats.dropped.undecodable ?? 0;
    for (let n = 0; n < valid.length; n++) sync.receive(valid.subarray(0, n));
    assert.equal(sync.stats.dropped.undecodable, dropped + valid.length);
    assertUnchanged(store, before, "random and truncated frames");
    assert.deepEqual(counterDelta(store, counters), {});

    // Valid frames with a few bytes changed: whatever parses is refused, buffered (a changed start seq) or skipped;
    // no feed and no view changes.
    const single = eventsFrame(alice.author, 5, [wire(A, 5)]);
    for (let i = 0; i < 2000; i++) {
      const f = Buffer.from(single);
      const n = 1 + Math.floor(random() * 3);
      for (let k = 0; k < n; k++) f[Math.floor(random() * f.length)] = Math.floor(random() * 256);
      if (f.equals(single)) continue;
      sync.receive(f);
    }
    const after = snapshot(store);
    assert.deepEqual(after.frontier, before.frontier);
    assert.equal(after.view, before.view);
    assert.equal(after.tables.events, before.tables.events);
    assert.equal(after.tables.records, before.tables.records);
    for (const name of Object.keys(counterDelta(store, counters))) {
      assert.ok(name.startsWith("refused.") || name === "ingest.buffered" || name === "ingest.duplicate", `counter ${name} moved`);
    }
  });

  it("refuses CBOR bombs without allocating or throwing", () => {
    const store = fixture();
    const sync = node(store);
    const before = snapshot(store);
    const counters = store.counterValues();
    const nested = (open: Buffer, depth: number) => Buffer.concat([Buffer.alloc(open.length * depth).fill(open), Buffer.of(0x00)]);
    const bombs: [string, Buffer, string][] = [
      ["array claiming 2^32 items", Buffer.from("9b0000000100000000", "hex"), "too-many-items"],
      ["array claiming 2^32-1 items", Buffer.from("9affffffff", "hex"), "too-many-items"],
      ["map claiming 2^32 entries", Buffer.from("bb0000000100000000", "hex"), "too-many-items"],
      ["array claiming 2^53 items", Buffer.from("9b0020000000000000", "hex"), "integer-out-of-range"],
      ["array claiming 4096 items in 3 bytes", Buffer.from("991000000000", "hex"), "truncated"],
      ["map claiming 4096 entries in 3 bytes", Buffer.from("b91000000000", "hex"), "truncated"],
      ["byte string claiming 2^32 bytes", Buffer.from("5b000000010000000000", "hex"), "truncated"],
      ["text claiming 2^32-1 bytes", Buffer.from("7affffffff00", "hex"), "truncated"],
      ["arrays nested 10,000 deep", nested(Buffer.of(0x81), 10_000), "too-deep"],
      ["maps nested 10,000 deep", nested(Buffer.from("a16161", "hex"), 10_000), "too-deep"],
      ["indefinite-length array", Buffer.from("9f0102ff", "hex"), "unsupported-type"],
      ["tagged bignum", Buffer.from("c249010000000000000000", "hex"), "unsupported-type"],
    ];
    const inFrame = (b: Buffer) => Buffer.concat([Buffer.of(0x85, 0x01, 0x04, 0x44), shortTag(alice.author), Buffer.of(0x05, 0x81), b]);
    for (const [what, bomb, reason] of bombs) {
      assert.deepEqual(decodeStrict(bomb), { ok: false, reason }, what);
      assert.equal(decodeSignedEvent(bomb).ok, false, what);
      assert.deepEqual(decodeMessage(bomb), { ok: false, reason: "undecodable" }, what);
      assert.deepEqual(decodeMessage(inFrame(bomb)), { ok: false, reason: "undecodable" }, `${what}, inside an events frame`);
      sync.receive(bomb);
      sync.receive(inFrame(bomb));
    }
    refusedWith(store.ingestEncoded(bombs.map(([, b]) => b)), "malformed", "bombs as events");
    assert.deepEqual(sync.stats.dropped, { undecodable: bombs.length * 2 });
    assertUnchanged(store, before, "bombs");
    assert.deepEqual(counterDelta(store, counters), { "refused.malformed": bombs.length });
  });

  it("refuses oversized bodies, as full events and as wire items", () => {
    const store = fixture();
    const sync = node(store);
    const before = snapshot(store);
    const counters = store.counterValues();
    const bigBody = (len: number): EventBody => ({
      kind: "upsert", record: recordId("rec-essay"), type: recordType("household"), base: null, fields: { essay: "x".repeat(len) },
    });
    const big = bigBody(MAX_EVENT_BODY_BYTES);
    assert.ok(encodeBody(big).length > MAX_EVENT_BODY_BYTES);
    assert.throws(() => signEvent(alice, { seq: 5, prev: ev(A, 4).id, hlc: ev(A, 5).hlc }, big), RangeError);
    const a5big = signRaw(alice, { seq: 5, prev: ev(A, 4).id, hlc: ev(A, 5).hlc }, big);
    const a6big = signRaw(alice, { seq: 6, prev: ev(A, 5).id, hlc: ev(A, 6).hlc }, big);
    refusedWith(store.ingest([a5big]), "oversized-body", "full event");
    refusedWith(store.ingestEncoded([encodeSignedEvent(a5big)]), "oversized-body", "encoded event");
    refusedWith(store.ingestWire(alice.author, 5, [wire(A, 5, a5big)]), "oversized-body", "wire item");
    refusedWith(store.ingest([a6big]), "oversized-body", "full event ahead of a gap");
    refusedWith(store.ingestWire(alice.author, 6, [wire(A, 6, a6big)]), "oversized-body", "wire item ahead of a gap");
    sync.receive(eventsFrame(alice.author, 5, [wire(A, 5, a5big)]));
    sync.receive(eventsFrame(alice.author, 6, [wire(A, 6, a6big)]));
    assertUnchanged(store, before, "oversized bodies");
    assert.deepEqual(counterDelta(store, counters), { "refused.oversized-body": 7 });
    assert.deepEqual(sync.stats.dropped, {});

    // Exactly at the limit is accepted, on every path.
    const probe = encodeBody(bigBody(1000)).length - 1000;
    const atLimit = bigBody(MAX_EVENT_BODY_BYTES - probe);
    assert.equal(encodeBody(atLimit).length, MAX_EVENT_BODY_BYTES);
    const a5 = signEvent(alice, { seq: 5, prev: ev(A, 4).id, hlc: ev(A, 5).hlc }, atLimit);
    const a6 = signEvent(alice, { seq: 6, prev: a5.id, hlc: ev(A, 6).hlc }, atLimit);
    const a7 = signEvent(alice, { seq: 7, prev: a6.id, hlc: ev(A, 7).hlc }, atLimit);
    assert.equal(store.ingest([a5]).applied, 1);
    assert.equal(store.ingestEncoded([encodeSignedEvent(a6)]).applied, 1);
    assert.equal(store.ingestWire(alice.author, 7, [encodeWireItem(a7, a6.hlc.wall)]).applied, 1);
  });

  it("refuses an HLC that does not advance along a feed", () => {
    const store = fixture();
    const before = snapshot(store);
    const counters = store.counterValues();
    const a4 = ev(A, 4);
    const a5 = ev(A, 5);
    assert.ok(a4.hlc.counter > 0, "fixture: alice#4 has a counter to go below");
    const at = (hlc: Hlc) => signEvent(alice, { seq: 5, prev: a4.id, hlc }, a5.body);
    const same = at(a4.hlc);
    const lowerCounter = at({ wall: a4.hlc.wall, counter: a4.hlc.counter - 1 });
    const lowerWall = at({ wall: a4.hlc.wall - 1, counter: a4.hlc.counter + 5 });
    const zero = at({ wall: 0, counter: 0 });
    refusedWith(store.ingest([same]), "hlc-regression", "equal to its predecessor");
    refusedWith(store.ingestEncoded([encodeSignedEvent(lowerCounter)]), "hlc-regression", "lower counter, encoded");
    refusedWith(store.ingest([lowerWall, zero]), "hlc-regression", "lower wall");
    refusedWith(store.ingestWire(alice.author, 5, [wire(A, 5, same)]), "hlc-regression", "equal, wire");
    refusedWith(store.ingestWire(alice.author, 5, [wire(A, 5, lowerCounter)]), "hlc-regression", "lower counter, wire");
    // A wire item cannot express a lower wall (its wall is a non-negative delta): it is malformed.
    refusedWith(store.ingestWire(alice.author, 5, [wire(A, 5, lowerWall)]), "malformed", "lower wall, wire");
    assertUnchanged(store, before, "HLC regressions");
    assert.deepEqual(counterDelta(store, counters), { "refused.hlc-regression": 6, "refused.malformed": 1 });

    // Ahead of a gap: it verifies and waits, then is refused when its predecessor arrives.
    const a6low = signEvent(alice, { seq: 6, prev: a5.id, hlc: a4.hlc }, ev(A, 6).body);
    assert.deepEqual(store.ingest([a6low]).outcomes, [{ status: "buffered" }]);
    assert.deepEqual(store.ingest([a5]).refused, { "hlc-regression": 1 });
    assertUnchanged(store, snapshot(reference([a5])), "after the gap filled");
  });
});
