/**
 * Convergence: the view is a function of the SET of events. Random feeds from
 * 2-4 authors are folded in every order and grouping, and ingested into real
 * stores in random orders, batchings and forms (full, encoded, wire items),
 * with duplicates; every route must give byte-identical view bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { CborMap, CborValue } from "../src/engine/cbor.js";
import { sha256, signerFromSeed, type Signer } from "../src/engine/crypto.js";
import { signEvent, type EventBody, type SignedEvent } from "../src/engine/event.js";
import { encodeSignedEvent } from "../src/engine/event-codec.js";
import type { Hlc } from "../src/engine/hlc.js";
import { recordId, recordType, type RecordId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { isAlive, RECORD_KEY, type RecordState } from "../src/engine/record-state.js";
import { openStore, type IngestReport, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { encodeView, foldEvents, type ConflictEntry } from "../src/engine/view.js";
import { encodeWireItem } from "../src/engine/wire.js";

const SIGNERS: Signer[] = [0, 1, 2, 3].map((i) => signerFromSeed(sha256(Buffer.from(`meshlogd convergence author ${i}`))));

const RECORDS = ["r1", "r2", "uuid:0f2e4c6a-8b1d-4e3f-a5c7-9d0b2e4f6a8c"].map(recordId);
const TYPES = ["survey", "water_point"].map(recordType);
const FIELDS = ["a", "b", "c", "d"];
const ATTACHMENT_FIELDS = ["photo", "audio"];

// ---------------------------------------------------------------- helpers

function view(events: Iterable<SignedEvent>): Buffer {
  const f = foldEvents(events);
  return encodeView(f.records.values(), f.conflicts.values());
}

/** Union of event sets, deduplicated by id. */
function union(...sets: SignedEvent[][]): SignedEvent[] {
  const m = new Map<string, SignedEvent>();
  for (const s of sets) for (const e of s) m.set(e.id, e);
  return [...m.values()];
}

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

function memberStore(authors: readonly Signer[]): SqliteStore {
  const store = openStore({ path: ":memory:", now: () => 0 });
  for (const s of authors) store.addMember(s.author);
  return store;
}

function assertNoRefusals(report: IngestReport, what: string): void {
  assert.deepEqual(report.refused, {}, `${what}: ${JSON.stringify(report.outcomes)}`);
}

// ---------------------------------------------------------------- random feeds

interface OpSpec {
  kind: "upsert" | "delete" | "attachment" | "unknown";
  record: number;
  type: number;
  fields: [string, CborValue][];
  attachment: { field: string; hash: Uint8Array; size: number; mime: string };
  unknown: { code: number; value: CborValue };
  /** null, a random stamp, or the stamp of some event of the scenario (picked by index): exact ties matter. */
  base: Hlc | null | { pick: number };
  /** Wall advance over the previous event of the feed; 0 bumps the counter instead. */
  step: number;
  counter: number;
}

interface Scenario {
  /** Walls start here: 0, or far above 2^32. */
  offset: number;
  feeds: { start: number; ops: OpSpec[] }[];
}

const fieldValue: fc.Arbitrary<CborValue> = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom("x", "y", "Ñ", ""),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0.5, 2 ** 40, -1.1),
  fc.constant<CborValue>({ nested: [1, { deep: "v" }] }),
  fc.uint8Array({ maxLength: 3 }),
);

const opSpec = (offset: number): fc.Arbitrary<OpSpec> =>
  fc.record({
    kind: fc.constantFrom<OpSpec["kind"]>("upsert", "upsert", "upsert", "upsert", "delete", "delete", "attachment", "unknown"),
    record: fc.constantFrom(0, 0, 1, 2),
    type: fc.nat({ max: TYPES.length - 1 }),
    fields: fc.uniqueArray(fc.tuple(fc.constantFrom(...FIELDS), fieldValue), { maxLength: 3, selector: ([k]) => k }),
    attachment: fc.record({
      field: fc.constantFrom(...ATTACHMENT_FIELDS),
      hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      size: fc.nat({ max: 1_000_000 }),
      mime: fc.constantFrom("image/jpeg", "audio/ogg"),
    }),
    unknown: fc.record({ code: fc.constantFrom(42, 99), value: fc.oneof(fc.constant<CborValue>(null), fieldValue) }),
    base: fc.oneof(
      fc.constant(null),
      fc.record({ wall: fc.integer({ min: offset + 995, max: offset + 1025 }), counter: fc.nat({ max: 3 }) }),
      fc.record({ pick: fc.nat() }),
    ),
    step: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
    counter: fc.nat({ max: 2 }),
  });

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .tuple(fc.constantFrom(0, 2 ** 40), fc.integer({ min: 2, max: 4 }))
  .chain(([offset, authors]) =>
    fc.record({
      offset: fc.constant(offset),
      feeds: fc.array(fc.record({ start: fc.integer({ min: offset + 1000, max: offset + 1004 }), ops: fc.array(opSpec(offset), { maxLength: 6 }) }), {
        minLength: authors,
        maxLength: authors,
      }),
    }),
  );

function bodyOf(op: OpSpec, stamps: readonly Hlc[]): EventBody {
  const record = RECORDS[op.record] as RecordId;
  const type = TYPES[op.type] as (typeof TYPES)[number];
  const base = op.base !== null && "pick" in op.base ? (stamps[op.base.pick % stamps.length] as Hlc) : op.base;
  switch (op.kind) {
    case "upsert": {
      const fields: CborMap = {};
      for (const [k, v] of op.fields) fields[k] = v;
      return { kind: "upsert", record, type, base, fields };
    }
    case "delete":
      return { kind: "delete", record, type, base };
    case "attachment":
      return { kind: "attachment", record, type, ...op.attachment };
    case "unknown":
      return { kind: "unknown", ...op.unknown };
  }
}

interface Built {
  signers: Signer[];
  feeds: SignedEvent[][];
  all: SignedEvent[];
}

function build(s: Scenario): Built {
  const signers = SIGNERS.slice(0, s.feeds.length);
  // Stamps strictly increase along a feed.
  const hlcs = s.feeds.map((f) => {
    const out: Hlc[] = [];
    for (const op of f.ops) {
      const last = out[out.length - 1];
      out.push(
        last === undefined
          ? { wall: f.start, counter: op.counter }
          : op.step === 0
            ? { wall: last.wall, counter: last.counter + 1 + op.counter }
            : { wall: last.wall + op.step, counter: op.counter },
      );
    }
    return out;
  });
  const pool = hlcs.flat();
  const feeds = s.feeds.map((f, i) => {
    const signer = signers[i] as Signer;
    const out: SignedEvent[] = [];
    f.ops.forEach((op, j) => {
      const prev = out[out.length - 1];
      out.push(signEvent(signer, { seq: out.length + 1, prev: prev?.id ?? null, hlc: hlcs[i]?.[j] as Hlc }, bodyOf(op, pool)));
    });
    return out;
  });
  return { signers, feeds, all: feeds.flat() };
}

// ---------------------------------------------------------------- delivery into a store

/**
 * Delivers every event of `b` (plus random duplicates) to `store` in an order,
 * batching and form chosen by `seed`, checking after each call that the
 * incremental view equals a full re-fold of what the store holds.
 */
function deliver(store: SqliteStore, b: Built, seed: number): void {
  const rand = seededRandom(seed);
  const units: [number, number][] = b.feeds.flatMap((feed, a) => feed.map((_, i): [number, number] => [a, i + 1]));
  const extra = Math.floor(rand() * (units.length / 2 + 1));
  for (let k = 0; k < extra; k++) units.push(units[Math.floor(rand() * units.length)] as [number, number]);
  const queue = shuffle(units, rand);

  while (queue.length > 0) {
    const batch = queue.splice(0, 1 + Math.floor(rand() * 4));
    const form = rand();
    if (form < 0.35) {
      const events = batch.map(([a, seq]) => b.feeds[a]?.[seq - 1] as SignedEvent);
      assertNoRefusals(store.ingest(events), "ingest");
    } else if (form < 0.5) {
      const encoded = batch.map(([a, seq]) => encodeSignedEvent(b.feeds[a]?.[seq - 1] as SignedEvent));
      assertNoRefusals(store.ingestEncoded(encoded), "ingestEncoded");
    } else {
      for (const [a, seq] of batch) {
        const feed = b.feeds[a] as SignedEvent[];
        const run = feed.slice(seq - 1, seq - 1 + 1 + Math.floor(rand() * 3));
        const items = run.map((ev, j) => {
          const before = feed[seq - 2 + j];
          return encodeWireItem(ev, before ? before.hlc.wall : null);
        });
        assertNoRefusals(store.ingestWire((b.signers[a] as Signer).author, seq, items), "ingestWire");
      }
    }
    const held = b.feeds.flatMap((feed, a) => feed.slice(0, store.headSeq((b.signers[a] as Signer).author)));
    assert.ok(store.viewBytes().equals(view(held)), "incremental view = full re-fold of the held events");
  }

  b.feeds.forEach((feed, a) => assert.equal(store.headSeq((b.signers[a] as Signer).author), feed.length, "every event arrived"));
  assert.equal(store.gapBufferSize(), 0);
  assert.deepEqual(store.forks(), []);
}

// ---------------------------------------------------------------- properties

describe("convergence properties", () => {
  it("merge is commutative, associative and idempotent, and fold order never matters", () => {
    const maxEvents = 4 * 6;
    fc.assert(
      fc.property(scenarioArb, fc.array(fc.nat({ max: 7 }), { minLength: maxEvents, maxLength: maxEvents }), fc.integer(), (s, masks, seed) => {
        const b = build(s);
        const pick = (bit: number) => b.all.filter((_, i) => ((masks[i] ?? 0) & bit) !== 0);
        const [A, B, C] = [pick(1), pick(2), pick(4)];
        assert.ok(view(union(A, B)).equals(view(union(B, A))), "A∪B = B∪A");
        assert.ok(view(union(union(A, B), C)).equals(view(union(A, union(B, C)))), "(A∪B)∪C = A∪(B∪C)");
        assert.ok(view(union(A, A)).equals(view(A)), "A∪A = A");
        assert.ok(view([...A, ...A]).equals(view(A)), "folding an event twice changes nothing");
        const rand = seededRandom(seed);
        const full = view(b.all);
        for (let k = 0; k < 3; k++) assert.ok(view(shuffle(b.all, rand)).equals(full), "any permutation folds to the same bytes");
        assert.ok(view([...b.all].reverse()).equals(full));
      }),
      { numRuns: 300 },
    );
  });

  it("the store's incremental view is byte-identical to a full re-fold, whatever the arrival order, batching, form and duplicates", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), (s, seed) => {
        const b = build(s);
        const store = memberStore(b.signers);
        try {
          deliver(store, b, seed);
          assert.ok(store.viewBytes().equals(view(b.all)));
        } finally {
          store.close();
        }
      }),
      { numRuns: 200 },
    );
  });

  it("two stores fed different orders and batchings end with identical view bytes and digest", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), fc.integer(), (s, seed1, seed2) => {
        const b = build(s);
        const one = memberStore(b.signers);
        const two = memberStore([...b.signers].reverse());
        try {
          deliver(one, b, seed1);
          deliver(two, b, seed2);
          assert.ok(one.viewBytes().equals(two.viewBytes()));
          assert.ok(one.digest().equals(two.digest()));
          assert.ok(one.viewBytes().equals(view(b.all)));
        } finally {
          one.close();
          two.close();
        }
      }),
      { numRuns: 120 },
    );
  });
});

// ---------------------------------------------------------------- documented rules, deterministically

const [ANA, BEN, CAT] = SIGNERS as [Signer, Signer, Signer];
const R = recordId("uuid:3c1d5e7f-9a2b-4c6d-8e0f-1a3b5c7d9e2f");
const T = recordType("water_point");

/** A feed builder: each call signs the author's next event. */
function feedOf(signer: Signer) {
  const events: SignedEvent[] = [];
  return {
    events,
    upsert(hlc: Hlc, base: Hlc | null, fields: CborMap): SignedEvent {
      return this.add(hlc, { kind: "upsert", record: R, type: T, base, fields });
    },
    remove(hlc: Hlc, base: Hlc | null): SignedEvent {
      return this.add(hlc, { kind: "delete", record: R, type: T, base });
    },
    add(hlc: Hlc, body: EventBody): SignedEvent {
      const prev = events[events.length - 1];
      const ev = signEvent(signer, { seq: events.length + 1, prev: prev?.id ?? null, hlc }, body);
      events.push(ev);
      return ev;
    },
  };
}

const h = (wall: number, counter = 0): Hlc => ({ wall, counter });

function fieldsOf(s: RecordState | undefined): Record<string, CborValue> {
  assert.ok(s, "record exists");
  return Object.fromEntries([...s.fields].map(([k, f]) => [k, f.value]));
}

function storeWith(events: SignedEvent[]): SqliteStore {
  const store = memberStore([ANA, BEN, CAT]);
  for (const ev of events) assertNoRefusals(store.ingest([ev]), "ingest");
  return store;
}

function aliveColumn(store: SqliteStore): number {
  return (store.db.prepare("SELECT alive FROM records WHERE record_id = ?").get(R) as { alive: number }).alive;
}

describe("delete vs. edit", () => {
  const ana = feedOf(ANA);
  const ben = feedOf(BEN);
  const cat = feedOf(CAT);
  const a1 = ana.upsert(h(1000), null, { name: "well", depth: 10 });
  const b1 = ben.upsert(h(1001), h(1000), { depth: 12 });
  const a2 = ana.remove(h(1002), h(1001));
  // Concurrent with the delete and stamped before it: arrives last, must not bring the record back.
  const c1 = cat.upsert(h(1001, 3), h(1000), { color: "blue" });
  const b2 = ben.upsert(h(1003), h(1002), { note: "back" });

  it("a delete stamped after the edits hides the record, in the fold and in the store", () => {
    const set = [a1, b1, a2];
    const state = foldEvents(set).records.get(R);
    assert.equal(isAlive(state as RecordState), false);
    const store = storeWith(set);
    try {
      assert.equal(isAlive(store.getRecord(R) as RecordState), false);
      assert.equal(aliveColumn(store), 0);
      assert.ok(store.viewBytes().equals(view(set)));
    } finally {
      store.close();
    }
  });

  it("an edit stamped before the delete does not resurrect it, whenever it arrives", () => {
    const set = [a1, b1, a2, c1];
    assert.equal(isAlive(foldEvents(set).records.get(R) as RecordState), false);
    const store = storeWith([c1, a1, a2, b1]);
    try {
      assert.equal(aliveColumn(store), 0);
      assert.ok(store.viewBytes().equals(view(set)));
    } finally {
      store.close();
    }
  });

  it("an edit stamped after the delete resurrects the record with its full field state", () => {
    const set = [a1, b1, a2, c1, b2];
    const state = foldEvents(set).records.get(R) as RecordState;
    assert.equal(isAlive(state), true);
    assert.deepEqual(fieldsOf(state), { name: "well", depth: 12, color: "blue", note: "back" });
    assert.deepEqual(state.fields.get("depth")?.stamp, { wall: 1001, counter: 0, author: BEN.author, seq: 1 });
    assert.deepEqual(state.lastDelete, { wall: 1002, counter: 0, author: ANA.author, seq: 2 });
    assert.deepEqual(state.lastLive, { wall: 1003, counter: 0, author: BEN.author, seq: 2 });
    for (const order of [set, [b2, c1, a2, b1, a1], [a2, b2, a1, c1, b1]]) {
      const store = storeWith(order);
      try {
        const got = store.getRecord(R) as RecordState;
        assert.equal(isAlive(got), true);
        assert.equal(aliveColumn(store), 1);
        assert.deepEqual(fieldsOf(got), fieldsOf(state));
        assert.ok(store.viewBytes().equals(view(set)));
      } finally {
        store.close();
      }
    }
  });

  it("logs the concurrent edit the delete overrode as a record-level loss", () => {
    const conflicts = [...foldEvents([a1, b1, a2, c1, b2]).conflicts.values()];
    assert.deepEqual(conflicts, [
      { record: R, key: RECORD_KEY, author: CAT.author, seq: 1, wall: 1001, counter: 3, value: null },
    ] satisfies ConflictEntry[]);
  });
});

describe("conflict log", () => {
  const ana = feedOf(ANA);
  const ben = feedOf(BEN);
  const cat = feedOf(CAT);
  const a1 = ana.upsert(h(1000), null, { v: "a", w: 1 });
  // Concurrent: its base (999) predates a1, so ben had not seen a1 when overwriting v.
  const b1 = ben.upsert(h(1001), h(999), { v: "b" });
  // Sequential: its base is b1's stamp, so cat had seen both earlier writes.
  const c1 = cat.upsert(h(1002), h(1001), { v: "c" });
  const a2 = ana.upsert(h(1003), h(1002), { v: "a2", w: 2 });
  const expected: ConflictEntry[] = [{ record: R, key: "v", author: ANA.author, seq: 1, wall: 1000, counter: 0, value: "a" }];

  it("a concurrent edit with an old base logs the loser with its author, seq, stamp and value", () => {
    const f = foldEvents([a1, b1]);
    assert.deepEqual([...f.conflicts.values()], expected);
    assert.equal(f.records.get(R)?.fields.get("v")?.value, "b", "the newer write wins");
    assert.equal(f.records.get(R)?.fields.get("w")?.value, 1, "a field the winner did not write is not a conflict");
  });

  it("a sequential edit whose base saw the earlier writes logs nothing", () => {
    assert.deepEqual([...foldEvents([b1, c1]).conflicts.values()], []);
    assert.deepEqual([...foldEvents([a1, c1, a2]).conflicts.values()], []);
    const f = foldEvents([a1, b1, c1, a2]);
    assert.deepEqual([...f.conflicts.values()], expected, "only the one concurrent loss");
    assert.equal(f.records.get(R)?.fields.get("v")?.value, "a2");
  });

  it("the store logs the same entries whatever the arrival order", () => {
    for (const order of [[a1, b1, c1, a2], [c1, b1, a2, a1], [a2, c1, b1, a1]]) {
      const store = storeWith(order);
      try {
        assert.deepEqual(store.conflicts(), expected);
        assert.ok(store.viewBytes().equals(view(order)));
      } finally {
        store.close();
      }
    }
  });
});
