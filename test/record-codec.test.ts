/**
 * The store's local form of record states (src/engine/store/record-codec.ts):
 * it must read back to the same state (same canonical bytes, same field
 * order), be written as canonical CBOR, and the written-keys bitmaps must give
 * back the keys writeRefOf gives.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeStrict, encodeCanonical } from "../src/engine/cbor.js";
import type { SignedEvent } from "../src/engine/event.js";
import { recordId, recordType, type AuthorId } from "../src/engine/ids.js";
import { applyEvent, encodeRecordState, writeRefOf, type RecordState } from "../src/engine/record-state.js";
import { decodeKeys, decodeLocalState, encodeKeys, encodeLocalState, type AuthorIndex } from "../src/engine/store/record-codec.js";
import { cborValueArbitrary } from "./support/arbitraries.js";
import { StoreCorruptError } from "../src/engine/store/store-corrupt-error.js";

const AUTHORS = ["00", "7f", "ff"].map((b) => b.repeat(32) as AuthorId);
const index: AuthorIndex = {
  ixOf: (a) => {
    const i = AUTHORS.indexOf(a);
    if (i < 0) throw new Error("unknown author");
    return i * 1000 + 1;
  },
  authorOf: (ix) => {
    const a = AUTHORS[(ix - 1) / 1000];
    if (!a) throw new Error("unknown author row");
    return a;
  },
};

const cborValue = cborValueArbitrary({ maxDepth: 6, maxTextLength: 30 });

// Field names include ones JS objects would reorder ("1", "0") and non-ASCII ones.
const fieldName = fc.oneof(fc.constantFrom("a", "b", "c", "1", "0", "@x", "héllo", "x".repeat(30)), fc.string({ maxLength: 12 }));

const op = fc.record({
  kind: fc.constantFrom("upsert", "upsert", "upsert", "delete", "attachment"),
  author: fc.nat({ max: AUTHORS.length - 1 }),
  wall: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant(2 ** 47 + 5)),
  counter: fc.oneof(fc.nat({ max: 3 }), fc.constant(2 ** 31 - 1)),
  fields: fc.dictionary(fieldName.filter((k) => k !== "__proto__"), cborValue, { maxKeys: 8, noNullPrototype: true }),
  attachment: fc.record({
    field: fieldName,
    hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    size: fc.maxSafeInteger(),
    mime: fc.constantFrom("image/jpeg", "audio/ogg", "x/ü"),
  }),
});

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function events(ops: Op[]): SignedEvent[] {
  const R = recordId("uuid:0f2e4c6a-8b1d-4e3f-a5c7-9d0b2e4f6a8c");
  return ops.map((o, i) => {
    const common = { record: R, type: recordType(i % 2 ? "survey" : "water_point") };
    const body =
      o.kind === "upsert"
        ? { kind: "upsert" as const, ...common, base: null, fields: o.fields }
        : o.kind === "delete"
          ? { kind: "delete" as const, ...common, base: null }
          : { kind: "attachment" as const, ...common, ...o.attachment };
    return { author: AUTHORS[o.author] as AuthorId, seq: 2 ** 40 + i, prev: null, hlc: { wall: o.wall, counter: o.counter }, body, id: "" as never, sig: new Uint8Array() };
  });
}

function roundTrip(s: RecordState): RecordState {
  return decodeLocalState(s.record, s.type, encodeLocalState(s, index), index);
}

describe("record codec (local form)", () => {
  it("reads back every state to the same canonical bytes and field order", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), (ops) => {
        let s: RecordState | undefined;
        for (const ev of events(ops)) {
          s = applyEvent(s ? roundTrip(s) : undefined, ev);
          const back = roundTrip(s as RecordState);
          assert.ok(encodeRecordState(back).equals(encodeRecordState(s as RecordState)));
          assert.deepEqual([...back.fields.keys()], [...(s as RecordState).fields.keys()]);
          assert.deepEqual([...back.attachments.keys()], [...(s as RecordState).attachments.keys()]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("writes canonical CBOR, and stores a stamp shared by many fields once", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 6 }), (ops) => {
        let s: RecordState | undefined;
        for (const ev of events(ops)) s = applyEvent(s, ev);
        const bytes = encodeLocalState(s as RecordState, index);
        const d = decodeStrict(bytes);
        assert.ok(d.ok);
        assert.ok(encodeCanonical(d.value).equals(bytes));
      }),
      { numRuns: 300 },
    );
    const [ev] = events([{ kind: "upsert", author: 1, wall: 1_767_225_600_000, counter: 0, fields: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`q${i}`, "yes"])), attachment: { field: "p", hash: new Uint8Array(32), size: 1, mime: "image/jpeg" } }]);
    const local = encodeLocalState(applyEvent(undefined, ev as SignedEvent) as RecordState, index);
    assert.ok(local.length < 20 * 10 + 30, `20-field state takes ${local.length} bytes`);
  });

  it("gives back the written keys from their bitmap", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), (ops) => {
        let s: RecordState | undefined;
        const written: { ref: NonNullable<ReturnType<typeof writeRefOf>>; bits: Buffer }[] = [];
        for (const ev of events(ops)) {
          s = applyEvent(s, ev) as RecordState;
          const ref = writeRefOf(ev);
          if (ref) written.push({ ref, bits: encodeKeys(ref.kind, ref.keys, s) });
        }
        const state = s as RecordState;
        for (const { ref, bits } of written) {
          const names = [...(ref.kind === "attachment" ? state.attachments : state.fields).keys()];
          assert.deepEqual(decodeKeys(ref.kind, bits, names), ref.keys);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a damaged state instead of misreading it", () => {
    const [ev] = events([{ kind: "upsert", author: 0, wall: 5, counter: 0, fields: { a: 1 }, attachment: { field: "p", hash: new Uint8Array(32), size: 1, mime: "image/jpeg" } }]);
    const s = applyEvent(undefined, ev as SignedEvent) as RecordState;
    const bytes = encodeLocalState(s, index);
    assert.throws(() => decodeLocalState(s.record, s.type, bytes.subarray(0, bytes.length - 1), index), StoreCorruptError);
    assert.throws(() => decodeLocalState(s.record, s.type, encodeCanonical([1, new Uint8Array([0x80]), 0, null, null, [], []]), index), StoreCorruptError);
    assert.throws(() => decodeLocalState(s.record, s.type, encodeCanonical([1, new Uint8Array(0), 0, null, null, [], []]), index), StoreCorruptError);
  });
});
