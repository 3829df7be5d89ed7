/**
 * Golden vectors (test/fixtures/golden-vectors.json, made by
 * test/support/make-golden-vectors.ts): every byte string is recomputed from
 * the vector's inputs and must match exactly, and is cross-checked with
 * independent implementations: @noble/ed25519 for signatures, @noble/hashes
 * for SHA-256, cbor-x for decoding.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as ed from "@noble/ed25519";
import { sha256 as nobleSha256, sha512 } from "@noble/hashes/sha2.js";
import { Decoder } from "cbor-x";
import { decodeStrict, encodeCanonical, type CborMap, type CborValue } from "../src/engine/cbor.js";
import { EVENT_FORMAT_VERSION, SIGNATURE_CONTEXT } from "../src/engine/constants.js";
import { sha256, signerFromSeed, verifySignature } from "../src/engine/crypto.js";
import { canonicalEventBytes, encodeBody, kindCode, signEvent, signingMessage, verifyEvent, type EventBody } from "../src/engine/event.js";
import { decodeSignedEvent, encodeSignedEvent } from "../src/engine/event-codec.js";
import { compareHlc } from "../src/engine/hlc.js";
import { hexToBytes, toAuthorId, toEventId, type EventId } from "../src/engine/ids.js";
import { compareStamp, type Stamp } from "../src/engine/stamp.js";
import { createLexicon, type VocabularyField } from "../src/engine/vocabulary.js";
import { encodeWireItem, parseWireItem } from "../src/engine/wire.js";
import { bodyFromJson, fromJsonValue, hex, hexBytes, type GoldenEvent, type GoldenVectors } from "./support/golden-format.js";
import { makeGoldenVectors } from "./support/make-golden-vectors.js";
import { plain } from "./support/plain.js";

ed.hashes.sha512 = sha512;

const FIXTURE = new URL("../../test/fixtures/golden-vectors.json", import.meta.url);
const fixtureText = readFileSync(FIXTURE, "utf8");
const golden = JSON.parse(fixtureText) as GoldenVectors;

const cborx = new Decoder({ mapsAsObjects: true, useRecords: false });

function viaCborX(bytesHex: string): CborValue {
  return plain(cborx.decode(Buffer.from(bytesHex, "hex")));
}

function viaOurs(bytesHex: string): CborValue {
  const r = decodeStrict(hexBytes(bytesHex));
  assert.ok(r.ok, `decodeStrict refused ${bytesHex.slice(0, 40)}…: ${r.ok ? "" : r.reason}`);
  return plain(r.value);
}

// ---------------------------------------------------------------- independent reference forms

const hlcPair = (h: { wall: number; counter: number } | null): CborValue => (h === null ? null : [h.wall, h.counter]);

/** The body inside the canonical event, written out from the event format description (not bodyToCbor). */
function referenceBody(b: EventBody): CborValue {
  if (b.kind === "upsert") return [b.record, b.type, hlcPair(b.base), b.fields];
  if (b.kind === "delete") return [b.record, b.type, hlcPair(b.base)];
  if (b.kind === "attachment") return [b.record, b.type, b.field, b.hash, b.size, b.mime];
  if (b.kind === "vocabulary") return [b.type, b.fields.map(referenceVocabularyEntry)];
  if (b.kind === "removal") return [hexBytes(b.member), b.after];
  return b.value;
}

/** Format codes as the vocabulary format description in the fixture's "about" lists them. */
const FORMAT_CODES: Record<string, number> = {
  text: 1, int: 2, decimal: 3, date: 4, datetime: 5, boolean: 6, select_one: 7, select_multiple: 8, geopoint: 9, geotrace: 10, repeat: 11,
};

function referenceVocabularyEntry(f: VocabularyField): CborValue {
  if (f.format === undefined) return f.choices ? [f.name, [...f.choices]] : f.name;
  const code = FORMAT_CODES[f.format] as number;
  if (f.fields) return [f.name, code, f.fields.map(referenceVocabularyEntry)];
  return f.choices ? [f.name, code, [...f.choices]] : [f.name, code];
}

/**
 * The packed body of a wire item, written out from wire.ts's description (not packBody). An upsert packed
 * with a vocabulary keeps the packed fields the item has: checkPackedFields looks into those.
 */
function referenceWireBody(b: EventBody, wall: number, packed?: { seq: number; fields: CborValue }): CborValue {
  if (b.kind === "unknown") return b.value;
  if (b.kind === "vocabulary" || b.kind === "removal") return referenceBody(b);
  const m = /^uuid:([0-9a-f-]{36})$/.exec(b.record);
  const rid: CborValue = m ? hexBytes((m[1] as string).replaceAll("-", "")) : b.record;
  const base = (h: { wall: number; counter: number } | null): CborValue => (h === null ? null : [wall - h.wall, h.counter]);
  if (b.kind === "upsert") return packed ? [rid, packed.seq, base(b.base), packed.fields] : [rid, b.type, base(b.base), b.fields];
  if (b.kind === "delete") return [rid, b.type, base(b.base)];
  return [rid, b.type, b.field, b.hash, b.size, b.mime];
}

const identity = new Map(golden.identities.map((i) => [i.name, i]));

function seedOf(name: string): Uint8Array {
  const i = identity.get(name);
  assert.ok(i, `unknown identity ${name}`);
  return hexBytes(i.seed);
}

/** The vocabulary event at `seq` of `identity`'s feed in the fixture. */
function goldenVocabulary(identity: string, seq: number): VocabularyField[] | undefined {
  const json = golden.events.find((x) => x.identity === identity && x.seq === seq)?.body;
  const body = json && bodyFromJson(json);
  return body?.kind === "vocabulary" ? [...body.fields] : undefined;
}

/**
 * What typed packing says of fields, checked from its description alone: the
 * bits open with 1 when every vocabulary field is present, else with 0 and one
 * presence bit per vocabulary field, in vocabulary order; the fields the
 * vocabulary does not list travel as the extra map.
 */
function checkPackedFields(packed: CborValue, vocabulary: readonly VocabularyField[], fields: CborMap): void {
  const bits = packed instanceof Uint8Array ? packed : (packed as CborValue[])[0];
  assert.ok(bits instanceof Uint8Array);
  const bit = (i: number): boolean => (((bits[i >> 3] as number) >> (7 - (i & 7))) & 1) === 1;
  const present = vocabulary.map((f) => Object.hasOwn(fields, f.name));
  assert.equal(bit(0), present.every(Boolean), "all present");
  if (!bit(0)) assert.deepEqual(vocabulary.map((_, i) => bit(i + 1)), present, "presence bits in vocabulary order");
  const listed = new Set(vocabulary.map((f) => f.name));
  const extra = Object.fromEntries(Object.entries(fields).filter(([k]) => !listed.has(k)));
  assert.deepEqual(Array.isArray(packed) ? (packed[2] ?? {}) : {}, extra, "unlisted fields as the extra map");
}

function label(e: GoldenEvent): string {
  return `${e.identity}#${e.seq} (${e.body.kind}${e.body.kind === "unknown" ? ` ${e.body.code}` : ""})`;
}

// ---------------------------------------------------------------- tests

describe("golden vectors", () => {
  it("the checked-in fixture is exactly what the generator produces", () => {
    assert.equal(fixtureText, `${JSON.stringify(makeGoldenVectors(), null, 2)}\n`,
      "regenerate with: node dist/test/support/make-golden-vectors.js > test/fixtures/golden-vectors.json");
  });

  it("states the format constants it was made with", () => {
    assert.equal(golden.signatureContext, SIGNATURE_CONTEXT);
    assert.equal(golden.eventFormatVersion, EVENT_FORMAT_VERSION);
  });

  describe("identities", () => {
    it("derive their public keys from their seeds, in node crypto and in @noble/ed25519", () => {
      assert.ok(golden.identities.length >= 2);
      for (const i of golden.identities) {
        const seed = hexBytes(i.seed);
        assert.equal(seed.length, 32);
        assert.equal(signerFromSeed(seed).author, i.publicKey, i.name);
        assert.equal(hex(ed.getPublicKey(seed)), i.publicKey, `${i.name} (noble)`);
      }
    });

    it("are the RFC 8032 §7.1 test keys, and sign its TEST 1 vector", () => {
      assert.deepEqual(
        golden.identities.map((i) => i.publicKey),
        [
          "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
          "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        ],
      );
      const rfcSig =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
      assert.equal(hex(signerFromSeed(seedOf("alice")).sign(new Uint8Array(0))), rfcSig);
      assert.equal(hex(ed.sign(new Uint8Array(0), seedOf("alice"))), rfcSig);
    });
  });

  describe("events", () => {
    it("cover every kind, a multi-event feed per identity, and every kind of field value", () => {
      const kinds = new Set(golden.events.map((e) => e.body.kind));
      assert.deepEqual([...kinds].sort(), ["attachment", "delete", "unknown", "upsert", "vocabulary"]);
      assert.ok(golden.events.some((e) => e.wire.vocabularySeq !== undefined), "an upsert packed with a vocabulary");
      for (const i of golden.identities) {
        const seqs = golden.events.filter((e) => e.identity === i.name).map((e) => e.seq);
        assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, k) => k + 1), `${i.name}'s feed is 1..n in order`);
        assert.ok(seqs.length >= 3, `${i.name} has at least 3 events`);
      }
      assert.ok(golden.events.some((e) => e.body.kind === "unknown" && e.body.code === 42));

      const seen = new Set<string>();
      const walk = (v: CborValue): void => {
        if (v === null) seen.add("null");
        else if (typeof v === "boolean") seen.add("bool");
        else if (typeof v === "string") seen.add(/^[\x20-\x7e]*$/.test(v) ? "ascii" : "non-ascii");
        else if (typeof v === "number") {
          const head = encodeCanonical(v)[0] as number;
          if (head === 0xf9) seen.add("half");
          else if (head === 0xfa) seen.add("single");
          else if (head === 0xfb) seen.add("double");
          else if (v < 0) seen.add("negative");
          else if (v > 2 ** 32) seen.add("int>2^32");
          else if (v < 24) seen.add("small");
        } else if (v instanceof Uint8Array) seen.add("bytes");
        else if (Array.isArray(v)) {
          seen.add("array");
          v.forEach(walk);
        } else {
          seen.add("map");
          Object.values(v).forEach(walk);
        }
      };
      for (const e of golden.events) if (e.body.kind === "upsert") walk(fromJsonValue(e.body.fields));
      for (const want of ["null", "bool", "ascii", "non-ascii", "half", "single", "double", "negative", "int>2^32", "small", "bytes", "array", "map"]) {
        assert.ok(seen.has(want), `some upsert has a ${want} value`);
      }
    });

    const heads = new Map<string, GoldenEvent>();
    for (const e of golden.events) {
      const before = heads.get(e.identity);
      heads.set(e.identity, e);

      it(`${label(e)}: canonical bytes, id, signature, full encoding and wire item`, () => {
        const seed = seedOf(e.identity);
        const signer = signerFromSeed(seed);
        const author = signer.publicKey;
        const body = bodyFromJson(e.body);

        // The feed chains: prev is the id of the identity's previous vector.
        assert.equal(e.seq, (before?.seq ?? 0) + 1);
        assert.equal(e.prev, before?.id ?? null);
        const prev = e.prev === null ? null : hexToBytes(e.prev as EventId);

        // Canonical bytes → id.
        assert.equal(kindCode(body), e.kind);
        const canonical = canonicalEventBytes({ author, seq: e.seq, prev, hlc: e.hlc, kind: e.kind, body: encodeBody(body) });
        assert.equal(hex(canonical), e.canonical);
        const expectedCanonical: CborValue = [EVENT_FORMAT_VERSION, new Uint8Array(author), e.seq, prev && new Uint8Array(prev), e.hlc.wall, e.hlc.counter, e.kind, referenceBody(body)];
        assert.deepEqual(viaCborX(e.canonical), expectedCanonical, "cbor-x reads the canonical bytes as the event array");
        assert.deepEqual(viaOurs(e.canonical), expectedCanonical);
        assert.equal(hex(encodeCanonical(expectedCanonical)), e.canonical, "the canonical bytes are the canonical CBOR of the event array");
        assert.equal(hex(sha256(canonical)), e.id);
        assert.equal(hex(nobleSha256(canonical)), e.id, "@noble/hashes agrees on the id");

        // Signing is deterministic: signEvent reproduces id and signature.
        const ev = signEvent(signer, { seq: e.seq, prev: e.prev as EventId | null, hlc: e.hlc }, body);
        assert.equal(ev.id, e.id);
        assert.equal(hex(ev.sig), e.signature);
        assert.ok(verifyEvent(ev));

        // A second Ed25519 implementation (RFC 8032 rules, not ZIP-215) agrees.
        const msg = Buffer.concat([Buffer.from(golden.signatureContext, "utf8"), hexBytes(e.id)]);
        assert.deepEqual(signingMessage(hexBytes(e.id)), msg);
        const sig = hexBytes(e.signature);
        assert.ok(ed.verify(sig, msg, author, { zip215: false }), "noble verifies the signature");
        assert.equal(hex(ed.sign(msg, seed)), e.signature, "noble produces the same signature");
        const bad = Uint8Array.from(sig);
        bad[5] = (bad[5] as number) ^ 1;
        assert.equal(ed.verify(bad, msg, author), false);
        assert.equal(verifySignature(author, msg, bad), false);

        // Full encoding: the canonical array with the signature as a ninth item.
        assert.equal(hex(encodeSignedEvent(ev)), e.encoded);
        assert.deepEqual(viaCborX(e.encoded), [...(expectedCanonical as CborValue[]), sig]);
        const decoded = decodeSignedEvent(hexBytes(e.encoded));
        assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
        assert.equal(decoded.event.id, e.id, "decodeSignedEvent recomputes the same id");
        assert.equal(decoded.event.author, toAuthorId(author));
        assert.equal(decoded.event.seq, e.seq);
        assert.equal(decoded.event.prev, e.prev);
        assert.deepEqual(decoded.event.hlc, e.hlc);
        assert.deepEqual(plain(decoded.event.body), plain(body));
        assert.equal(hex(decoded.event.sig), e.signature);
        assert.ok(verifyEvent(decoded.event));

        // Wire item, relative to the previous event's wall, packed with the feed's vocabulary if it names one.
        assert.equal(e.wire.prevWall, before?.hlc.wall ?? null);
        const vocabSeq = e.wire.vocabularySeq;
        const vocabulary = vocabSeq === undefined ? undefined : goldenVocabulary(e.identity, vocabSeq);
        assert.equal(vocabulary === undefined, vocabSeq === undefined, "vocabularySeq names a vocabulary of the same feed");
        const lexicon = vocabulary && body.kind === "upsert" ? createLexicon(body.type, vocabulary) : undefined;
        const feedLexicon = lexicon && vocabSeq !== undefined ? { seq: vocabSeq, lexicon } : undefined;
        assert.equal(hex(encodeCanonical(encodeWireItem(ev, e.wire.prevWall, feedLexicon))), e.wire.item);
        const readItem = viaCborX(e.wire.item) as CborValue[];
        const packedFields = feedLexicon ? { seq: feedLexicon.seq, fields: (readItem[3] as CborValue[])[3] as CborValue } : undefined;
        if (packedFields && vocabulary && body.kind === "upsert") checkPackedFields(packedFields.fields, vocabulary, body.fields);
        const expectedWire: CborValue = [e.hlc.wall - (e.wire.prevWall ?? 0), e.hlc.counter, e.kind, referenceWireBody(body, e.hlc.wall, packedFields), sig];
        assert.deepEqual(readItem, expectedWire, "cbor-x reads the wire item");
        const parsed = parseWireItem(viaOurs(e.wire.item), e.wire.prevWall, (seq) => (seq === vocabSeq ? lexicon : undefined));
        assert.ok(typeof parsed !== "string", `parseWireItem: ${String(parsed)}`);
        assert.deepEqual(parsed.hlc, e.hlc);
        assert.equal(parsed.kind, e.kind);
        assert.deepEqual(plain(parsed.body), plain(body));
        assert.equal(hex(parsed.sig), e.signature);
        const rebuilt = canonicalEventBytes({ author, seq: e.seq, prev, hlc: parsed.hlc, kind: parsed.kind, body: parsed.bodyBytes });
        assert.equal(hex(rebuilt), e.canonical, "the receiver rebuilds the canonical bytes from the wire item and its own prev");
        assert.equal(toEventId(sha256(rebuilt)), e.id);
      });
    }
  });

  describe("stamp order", () => {
    const stamps: Stamp[] = golden.hlcOrder.stamps.map((s, i) => ({ wall: s.wall, counter: s.counter, author: toAuthorId(hexBytes(s.author)), seq: i + 1 }));

    it("sorts by wall, then counter, then author bytes", () => {
      assert.equal(golden.hlcOrder.sorted.length, stamps.length);
      assert.deepEqual([...golden.hlcOrder.sorted].sort((a, b) => a - b), stamps.map((_, i) => i), "sorted is a permutation");
      const order = stamps.map((_, i) => i).sort((a, b) => compareStamp(stamps[a] as Stamp, stamps[b] as Stamp));
      assert.deepEqual(order, golden.hlcOrder.sorted);
    });

    it("includes an exact (wall, counter) tie broken by author", () => {
      const sorted = golden.hlcOrder.sorted.map((i) => stamps[i] as Stamp);
      const ties = sorted.filter((s, k) => k > 0 && compareHlc(s, sorted[k - 1] as Stamp) === 0);
      assert.ok(ties.length >= 2, "at least a three-way tie");
    });

    it("is a strict total order that the 44-byte sort keys reproduce", () => {
      for (const a of stamps) {
        for (const b of stamps) {
          const c = compareStamp(a, b);
          assert.equal(Math.sign(compareStamp(b, a)), 0 - Math.sign(c));
          if (a !== b) assert.notEqual(c, 0);
        }
      }
    });
  });

  describe("canonical CBOR", () => {
    it("covers the RFC 8949 Appendix A examples in the data model", () => {
      assert.ok(golden.cbor.filter((c) => c.note === "RFC 8949 Appendix A").length >= 30);
    });

    for (const c of golden.cbor) {
      it(`${c.note}: ${JSON.stringify(c.value).slice(0, 60)} = ${c.hex.slice(0, 40)}`, () => {
        const value = fromJsonValue(c.value);
        assert.equal(hex(encodeCanonical(value)), c.hex);
        assert.deepEqual(viaOurs(c.hex), value);
        assert.deepEqual(viaCborX(c.hex), value, "cbor-x decodes the same value");
      });
    }
  });
});
