import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeCanonical, type CborMap, type CborValue } from "../src/engine/cbor.js";
import { generateSigner } from "../src/engine/crypto.js";
import { encodeBody, parseBody, KIND, type EventBody } from "../src/engine/event.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { createLexicon, packFields, unpackFields, type VocabularyField } from "../src/engine/vocabulary.js";

const household = recordType("household");
/** First-version vocabularies pack nothing relative to the wall. */
const at = { wall: 0 };
const vocabularyFields: VocabularyField[] = [
  { name: "@submitted" },
  { name: "village", choices: ["kalo", "mesa", "tondo"] },
  { name: "hh/size" },
  { name: "needs", choices: ["food", "water", "shelter", "health"] },
  { name: "location" },
  { name: "remarks" },
];

function site(): SqliteStore {
  const store = openStore({ path: ":memory:", signer: generateSigner().signer, verifyPool: null });
  return store;
}

function link(...stores: SqliteStore[]): void {
  for (const a of stores) for (const b of stores) if (a !== b) for (const m of b.members()) a.addMember(m.author);
}

const answers: CborMap = {
  "@submitted": "2026-11-21T09:14:03.120+01:00",
  village: "mesa",
  "hh/size": 6,
  needs: ["water", "food"],
  location: [12.3456789, -1.5234, 310, 4.5],
  remarks: "roof damaged",
};

describe("vocabulary packing", () => {
  const lex = createLexicon(household, vocabularyFields);

  it("sends choices as indices and field names as bits", () => {
    const packed = packFields(answers, lex, at);
    assert.deepEqual(packed, [Uint8Array.of(0b111111), ["2026-11-21T09:14:03.120+01:00", 1, 6, [1, 0], [12.3456789, -1.5234, 310, 4.5], "roof damaged"]]);
    assert.deepEqual(unpackFields(packed, lex, at), answers);
    assert.ok(encodeCanonical(packed).length < encodeCanonical(answers).length - 40);
  });

  it("keeps fields the vocabulary does not list, and values that only look like indices", () => {
    const odd: CborMap = { village: 2, needs: [1, 3], remarks: null, "hh/head": "x", "@submitted": { "=": 1 } };
    const packed = packFields(odd, lex, at);
    assert.deepEqual(unpackFields(packed, lex, at), odd);
  });

  it("round-trips any answers (property)", () => {
    const value: fc.Arbitrary<CborValue> = fc.oneof(
      fc.constantFrom<CborValue>("kalo", "mesa", "tondo", "food", "health", "other", null, true),
      fc.integer({ min: -5, max: 400 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.array(fc.constantFrom<CborValue>("food", "water", "kalo", 0, 3, "zzz"), { maxLength: 4 }),
      fc.constantFrom<CborValue>({ "=": 2 }, { "=": [1] }, { "#h": Uint8Array.of(1, 2) }),
    );
    const names = fc.constantFrom("@submitted", "village", "hh/size", "needs", "location", "remarks", "extra", "hh/other");
    fc.assert(
      fc.property(fc.dictionary(names, value), (fields) => {
        const plain = { ...fields }; // fast-check's dictionaries have no prototype
        assert.deepEqual(unpackFields(packFields(plain, lex, at), lex, at), plain);
      }),
    );
  });

  it("refuses malformed packings", () => {
    assert.equal(unpackFields([Uint8Array.of(1)], lex, at), undefined);
    assert.equal(unpackFields([Uint8Array.of(0b10), [7]], lex, at), undefined, "choice index out of range");
    assert.equal(unpackFields([Uint8Array.of(0b1), []], lex, at), undefined, "bit without a value");
    assert.equal(unpackFields([Uint8Array.of(0), [1]], lex, at), undefined, "value without a bit");
    assert.equal(unpackFields([Uint8Array.of(0, 0), []], lex, at), undefined, "bitmap longer than the vocabulary");
    assert.equal(unpackFields([Uint8Array.of(0b1), ["x"], { "@submitted": "y" }], lex, at), undefined, "a field said twice");
  });

  it("vocabulary bodies are checked like any body", () => {
    const body: EventBody = { kind: "vocabulary", type: household, fields: vocabularyFields };
    const parsed = parseBody(KIND.vocabulary, [household, vocabularyFields.map((f) => (f.choices ? [f.name, [...f.choices]] : f.name))]);
    assert.deepEqual(parsed, body);
    assert.ok(encodeBody(body).length > 0);
    assert.equal(parseBody(KIND.vocabulary, [household, ["a", "a"]]), "malformed-body", "duplicate names");
    assert.equal(parseBody(KIND.vocabulary, [household, [["a", ["x", "x"]]]]), "malformed-body", "duplicate choices");
    assert.equal(parseBody(KIND.vocabulary, [household, [""]]), "malformed-body");
  });
});

/** The same vocabulary with formats: its upserts go typed-packed (typed-pack.ts). */
const typedFields: VocabularyField[] = [
  { name: "@submitted", format: "datetime" },
  { name: "village", format: "select_one", choices: ["kalo", "mesa", "tondo"] },
  { name: "hh/size", format: "int" },
  { name: "needs", format: "select_multiple", choices: ["food", "water", "shelter", "health"] },
  { name: "location", format: "geopoint" },
  { name: "remarks", format: "text" },
];

for (const [version, fields] of [["first version", vocabularyFields], ["with formats", typedFields]] as const) {
  describe(`vocabularies on the wire (${version})`, () => {
    function authored(): { a: SqliteStore; upserts: number } {
      const a = site();
      a.append({ kind: "upsert", record: recordId("uuid:00000000-0000-4000-8000-000000000001"), type: household, base: null, fields: answers });
      a.append({ kind: "vocabulary", type: household, fields });
      for (let i = 2; i <= 6; i++) {
        const record = recordId(`uuid:00000000-0000-4000-8000-00000000000${i}`);
        a.append({ kind: "upsert", record, type: household, base: null, fields: { ...answers, "hh/size": i, ...(i === 4 ? { village: "elsewhere", extra: 1 } : {}) } });
      }
      return { a, upserts: 6 };
    }

    it("packs upserts after a vocabulary of their feed, and not before it", () => {
      const { a } = authored();
      const me = a.members()[0]!.author;
      const items = a.wireItems(me, 1, 7, 100_000).items as CborValue[][];
      const typeSlot = (item: CborValue[]) => (item[3] as CborValue[])[1];
      assert.equal(typeSlot(items[0]!), "household", "seq 1 precedes the vocabulary");
      assert.equal(typeSlot(items[2]!), 2, "seq 3 names the vocabulary at seq 2");
      assert.ok(encodeCanonical(items[2]!).length < encodeCanonical(items[0]!).length - 40);
    });

    for (const batch of [1, 7]) {
      it(`another site rebuilds the same signed events (batches of ${batch}), and relays them packed`, () => {
        const { a } = authored();
        const b = site();
        const c = site();
        link(a, b, c);
        const author = a.members().find((m) => a.headSeq(m.author) > 0)!.author;
        for (let s = 1; s <= 7; s += batch) {
          const r = b.ingestWire(author, s, a.wireItems(author, s, Math.min(7, s + batch - 1), 100_000).items);
          assert.equal(r.applied, Math.min(batch, 8 - s), JSON.stringify(r));
        }
        assert.deepEqual(b.readEvents(author, 1, 7), a.readEvents(author, 1, 7));
        const relayed = b.wireItems(author, 1, 7, 100_000).items;
        assert.deepEqual(relayed, a.wireItems(author, 1, 7, 100_000).items);
        assert.equal(c.ingestWire(author, 1, relayed).applied, 7);
        assert.deepEqual(c.viewBytes(), a.viewBytes());
      });
    }

    it("refuses an item that names a seq holding no vocabulary", () => {
      const { a } = authored();
      const b = site();
      link(a, b);
      const author = a.members().find((m) => a.headSeq(m.author) > 0)!.author;
      const items = a.wireItems(author, 1, 3, 100_000).items as CborValue[][];
      const forged = structuredClone(items[2]!);
      (forged[3] as CborValue[])[1] = 1; // seq 1 is an upsert
      const r = b.ingestWire(author, 1, [items[0]!, items[1]!, forged]);
      assert.equal(r.applied, 2);
      assert.equal(r.refused.malformed, 1);
    });
  });
}
