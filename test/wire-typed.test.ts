/**
 * Wire items packed with a vocabulary that has formats: the receiver rebuilds
 * the very canonical bytes the author signed (so signatures verify and relays
 * re-encode the same items), and the packing depends on the event's own HLC
 * wall, as wire.ts documents.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeCanonical, type CborMap, type CborValue } from "../src/engine/cbor.js";
import { generateSigner, sha256 } from "../src/engine/crypto.js";
import { canonicalEventBytes, encodeBody, kindCode, signEvent, verifyEvent } from "../src/engine/event.js";
import { hexToBytes, recordId, recordType, toEventId } from "../src/engine/ids.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { createLexicon, type VocabularyField } from "../src/engine/vocabulary.js";
import { encodeWireItem, parseWireItem } from "../src/engine/wire.js";

const household = recordType("household");
const fields: VocabularyField[] = [
  { name: "@submitted", format: "datetime" },
  { name: "start", format: "datetime" },
  { name: "village", format: "select_one", choices: ["kalo", "mesa", "tondo"] },
  { name: "visit", format: "date" },
  { name: "gps", format: "geopoint" },
  { name: "members", format: "repeat", fields: [{ name: "name", format: "text" }, { name: "age", format: "int" }] },
  { name: "remarks", format: "text" },
];
const WALL = Date.UTC(2026, 10, 21, 9, 30);

function answers(i: number): CborMap {
  return {
    "@submitted": `2026-11-21T09:${String(10 + i).padStart(2, "0")}:03Z`,
    start: "2026-11-21T09:14:03.120+01:00",
    village: i % 2 === 0 ? "mesa" : "somewhere else",
    visit: 20_778 - i,
    gps: [12.3456789, -1.5234, 310, 4.5],
    members: [{ name: "Amina Yusuf", age: 30 + i }, { name: "Ali", age: i }],
    remarks: { "#h": Uint8Array.of(1, 2, 3) },
    extra: "not in the vocabulary",
  };
}

function site(): SqliteStore {
  return openStore({ path: ":memory:", signer: generateSigner().signer, verifyPool: null });
}

describe("typed wire items", () => {
  it("rebuild the canonical bytes the author signed, and only with the author's own wall", () => {
    const { signer } = generateSigner();
    const vocabulary = signEvent(signer, { seq: 1, prev: null, hlc: { wall: WALL, counter: 0 } }, { kind: "vocabulary", type: household, fields });
    const lexicon = createLexicon(household, fields);
    const ev = signEvent(signer, { seq: 2, prev: vocabulary.id, hlc: { wall: WALL + 60_000, counter: 0 } }, {
      kind: "upsert", record: recordId("uuid:00000000-0000-4000-8000-000000000001"), type: household, base: null, fields: answers(0),
    });
    const item = encodeWireItem(ev, WALL, { seq: 1, lexicon });
    assert.ok(encodeCanonical(item).length < encodeCanonical(encodeWireItem(ev, WALL)).length, "smaller than the item without vocabulary");
    const parsed = parseWireItem(item, WALL, (seq) => (seq === 1 ? lexicon : undefined));
    assert.ok(typeof parsed !== "string", String(parsed));
    assert.deepEqual(parsed.bodyBytes, encodeBody(ev.body));
    const canonical = canonicalEventBytes({
      author: hexToBytes(ev.author), seq: 2, prev: hexToBytes(vocabulary.id), hlc: parsed.hlc, kind: kindCode(ev.body), body: parsed.bodyBytes,
    });
    assert.equal(toEventId(sha256(canonical)), ev.id, "the receiver rebuilds the event id from the item and its own prev");
    assert.ok(verifyEvent({ ...ev, body: parsed.body }), "the signature holds over the rebuilt body");
    // Another previous wall shifts this event's wall, and with it every time packed relative to it.
    const shifted = parseWireItem(item, WALL + 1000, (seq) => (seq === 1 ? lexicon : undefined));
    assert.ok(typeof shifted !== "string");
    assert.notDeepEqual(shifted.bodyBytes, parsed.bodyBytes);
  });

  for (const batch of [1, 4]) {
    it(`another site ingests them with valid signatures (batches of ${batch}) and relays the same items`, () => {
      const a = site();
      const b = site();
      const c = site();
      for (const x of [a, b, c]) for (const y of [a, b, c]) if (x !== y) for (const m of y.members()) x.addMember(m.author);
      a.append({ kind: "vocabulary", type: household, fields });
      for (let i = 1; i <= 7; i++) {
        a.append({ kind: "upsert", record: recordId(`uuid:00000000-0000-4000-8000-00000000000${i}`), type: household, base: null, fields: answers(i) });
      }
      const author = a.members().find((m) => a.headSeq(m.author) > 0)!.author;
      const items = a.wireItems(author, 1, 8, 100_000).items as CborValue[][];
      assert.equal((items[1]![3] as CborValue[])[1], 1, "upserts name the vocabulary at seq 1");
      for (let s = 1; s <= 8; s += batch) {
        const r = b.ingestWire(author, s, a.wireItems(author, s, Math.min(8, s + batch - 1), 100_000).items);
        assert.equal(r.applied, Math.min(batch, 9 - s), JSON.stringify(r));
      }
      assert.deepEqual(b.readEvents(author, 1, 8), a.readEvents(author, 1, 8));
      const relayed = b.wireItems(author, 1, 8, 100_000).items;
      assert.deepEqual(relayed, a.wireItems(author, 1, 8, 100_000).items);
      assert.equal(c.ingestWire(author, 1, relayed).applied, 8);
      assert.deepEqual(c.viewBytes(), a.viewBytes());
    });
  }
});
