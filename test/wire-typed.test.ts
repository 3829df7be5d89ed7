/**
 * Wire items packed with a vocabulary that has formats: the receiver rebuilds
 * the very canonical bytes the author signed, and the packing depends on the
 * event's own HLC wall, as wire.ts documents. (Whole feeds through stores and
 * relays: vocabulary.test.ts, for both kinds of vocabulary.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeCanonical, type CborMap } from "../src/engine/cbor.js";
import { generateSigner, sha256 } from "../src/engine/crypto.js";
import { canonicalEventBytes, encodeBody, kindCode, signEvent, verifyEvent } from "../src/engine/event.js";
import { hexToBytes, recordId, recordType, toEventId } from "../src/engine/ids.js";
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

/** Answers that fit their formats, one that does not (a keyed hash), and a field the vocabulary does not list. */
const ANSWERS: CborMap = {
  "@submitted": "2026-11-21T09:10:03Z",
  start: "2026-11-21T09:14:03.120+01:00",
  village: "mesa",
  visit: 20_778,
  gps: [12.3456789, -1.5234, 310, 4.5],
  members: [{ name: "Amina Yusuf", age: 30 }, { name: "Ali", age: 4 }],
  remarks: { "#h": Uint8Array.of(1, 2, 3) },
  extra: "not in the vocabulary",
};

describe("typed wire items", () => {
  it("rebuild the canonical bytes the author signed, and only with the author's own wall", () => {
    const { signer } = generateSigner();
    const vocabulary = signEvent(signer, { seq: 1, prev: null, hlc: { wall: WALL, counter: 0 } }, { kind: "vocabulary", type: household, fields });
    const lexicon = createLexicon(household, fields);
    const ev = signEvent(signer, { seq: 2, prev: vocabulary.id, hlc: { wall: WALL + 60_000, counter: 0 } }, {
      kind: "upsert", record: recordId("uuid:00000000-0000-4000-8000-000000000001"), type: household, base: null, fields: ANSWERS,
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
});
