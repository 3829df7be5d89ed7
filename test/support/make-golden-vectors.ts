/**
 * Generates test/fixtures/golden-vectors.json, the byte-level golden vectors
 * of meshlogd's formats: canonical CBOR, canonical event bytes, event ids,
 * Ed25519 signatures, full encoded events, wire items, and the stamp order.
 *
 * Regenerate (only when a format change is intended, and say so in the commit):
 *
 *   npx tsc -p tsconfig.json
 *   node dist/test/support/make-golden-vectors.js > test/fixtures/golden-vectors.json
 *
 * Everything here is deterministic: seeds and stamps are fixed and Ed25519
 * signatures are deterministic (RFC 8032), so running it again gives the same
 * file. test/golden-vectors.test.ts recomputes every vector from its inputs and
 * cross-checks them with independent implementations (@noble/ed25519,
 * @noble/hashes, cbor-x).
 *
 * This file sits under test/, so `node --test dist/test/` also runs it; it
 * prints only when it is the main module and not run by the test runner.
 */
import { pathToFileURL } from "node:url";
import { encodeCanonical, type CborMap, type CborValue } from "../../src/engine/cbor.js";
import { EVENT_FORMAT_VERSION, MAX_HLC_COUNTER, MAX_HLC_WALL, SIGNATURE_CONTEXT } from "../../src/engine/constants.js";
import { sha256, signerFromSeed, type Signer } from "../../src/engine/crypto.js";
import { canonicalEventBytes, encodeBody, kindCode, signEvent, type EventBody, type SignedEvent } from "../../src/engine/event.js";
import { encodeSignedEvent } from "../../src/engine/event-codec.js";
import type { Hlc } from "../../src/engine/hlc.js";
import { hexToBytes, recordId, recordType, type EventId } from "../../src/engine/ids.js";
import { createLexicon, type VocabularyField } from "../../src/engine/vocabulary.js";
import { encodeWireItem, type FeedLexicon } from "../../src/engine/wire.js";
import {
  bodyToJson,
  hex,
  toJsonValue,
  type GoldenCbor,
  type GoldenEvent,
  type GoldenIdentity,
  type GoldenStamp,
  type GoldenVectors,
} from "./golden-format.js";

/** Seeds of RFC 8032 §7.1 TEST 1, 2 and 3, so the public keys can be checked against the RFC too. */
const IDENTITY_SEEDS: readonly [string, string][] = [
  ["alice", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"],
  ["bruno", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"],
  ["chidi", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"],
];

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z in ms: walls are above 2^32, as in real use
const UUID_REC = recordId("uuid:6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b");
const SITE_REC = recordId("site-0007");
const WATER = recordType("water_point");
const VISIT = recordType("site_visit");

/** Field values covering the data model; keys of several lengths so their order is exercised. */
const RICH_FIELDS: CborMap = {
  name: "Pozo comunal Ñuñoa — 水井 ✓ 🚰",
  ascii: "plain text",
  empty: "",
  n: 7,
  zero: 0,
  big_int: 2 ** 40, // > 2^32: 9-byte head
  u32_max: 0xffffffff,
  two_pow_32: 2 ** 32,
  max_safe: Number.MAX_SAFE_INTEGER,
  neg: -42,
  neg_big: -300_000,
  neg_min_safe: Number.MIN_SAFE_INTEGER,
  ph_half: 1.5, // half precision
  depth_single: 100_000.5, // single precision
  flow_double: 1.1, // double precision
  temp_neg_double: -4.1,
  tiny_half_subnormal: 2 ** -24,
  functional: true,
  abandoned: false,
  comment: null,
  repeat_group: [1, "two", [3, null], { k: false }],
  geo: { lat: -12.0464, lon: -77.0428, alt_m: 154, acc: { h: 4.5, v: 12 } },
  sensor_blob: Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x00, 0xff),
  "10": "integer-like key",
  "2": "integer-like key",
  é: "two-byte key",
};

/** A vocabulary with every format, a first-version choice field and a field without format. */
const WATER_VOCABULARY: VocabularyField[] = [
  { name: "@submitted", format: "datetime" },
  { name: "name", format: "text" },
  { name: "functional", format: "boolean" },
  { name: "flow_double", format: "decimal" },
  { name: "n", format: "int" },
  { name: "surveyed", format: "date" },
  { name: "pump", format: "select_one", choices: ["hand", "solar", "motor"] },
  { name: "uses", format: "select_multiple", choices: ["drinking", "washing", "livestock", "irrigation"] },
  { name: "geo", format: "geopoint" },
  { name: "path", format: "geotrace" },
  {
    name: "readings", format: "repeat",
    fields: [{ name: "at", format: "datetime" }, { name: "ph", format: "decimal" }, { name: "by", format: "text" }],
  },
  { name: "status", choices: ["ok", "broken"] },
  { name: "sensor_blob" },
];

/** Answers for WATER_VOCABULARY: most fit their formats; "pump" and one "ph" do not (literals); "extra" is not listed. */
const TYPED_FIELDS: CborMap = {
  "@submitted": "2026-01-01T00:00:05Z",
  name: "Pozo Nuevo",
  functional: true,
  flow_double: 2.4,
  n: -3,
  surveyed: 20_453,
  pump: "rope and washer",
  uses: ["drinking", "livestock"],
  geo: [-12.0464, -77.0428, 154, 4.5],
  path: [[-12.0464, -77.0428], [-12.0465, -77.043, 155.5]],
  readings: [{ at: "2025-12-31T19:02:00.5-05:00", ph: 7.2, by: "Chidi" }, { at: "2025-12-31T19:40:00-05:00", ph: "n/a" }],
  status: "ok",
  sensor_blob: Uint8Array.of(1, 2),
  extra: "a field the vocabulary does not list",
};

interface Spec {
  identity: string;
  hlc: Hlc;
  body: EventBody;
}

function feedSpecs(): Spec[] {
  const photoHash = sha256(Buffer.from("photo of the pump, 48213 bytes", "utf8"));
  return [
    // alice: a new record with every kind of value, an attachment, a delete and an edit after it
    { identity: "alice", hlc: { wall: T0, counter: 0 }, body: { kind: "upsert", record: UUID_REC, type: WATER, base: null, fields: RICH_FIELDS } },
    {
      identity: "alice", hlc: { wall: T0 + 1500, counter: 0 },
      body: { kind: "attachment", record: UUID_REC, type: WATER, field: "photo", hash: photoHash, size: 48_213, mime: "image/jpeg" },
    },
    { identity: "alice", hlc: { wall: T0 + 1500, counter: 1 }, body: { kind: "delete", record: SITE_REC, type: VISIT, base: { wall: T0 - 5000, counter: 3 } } },
    {
      identity: "alice", hlc: { wall: T0 + 90_000, counter: 0 },
      body: { kind: "upsert", record: SITE_REC, type: VISIT, base: { wall: T0 + 1500, counter: 1 }, fields: { status: "reopened", visits: 2 } },
    },
    // bruno: concurrent edit of alice's record, an unknown kind, a large counter
    {
      identity: "bruno", hlc: { wall: T0 - 5000, counter: 3 },
      body: { kind: "upsert", record: SITE_REC, type: VISIT, base: null, fields: { status: "visited", visits: 1, notes: "Wasser trüb" } },
    },
    { identity: "bruno", hlc: { wall: T0 + 2000, counter: 0 }, body: { kind: "unknown", code: 42, value: { note: "from a future version", v: [1, 2.5, Uint8Array.of(1)] } } },
    {
      identity: "bruno", hlc: { wall: T0 + 2000, counter: 2_000_000 },
      body: { kind: "upsert", record: UUID_REC, type: WATER, base: { wall: T0, counter: 0 }, fields: { functional: false, flow_double: 0.333 } },
    },
    // chidi: a delete of the uuid record, then an edit whose base is newer than its own wall (clock behind)
    { identity: "chidi", hlc: { wall: T0 + 1000, counter: 0 }, body: { kind: "delete", record: UUID_REC, type: WATER, base: { wall: T0, counter: 0 } } },
    { identity: "chidi", hlc: { wall: T0 + 1000, counter: 1 }, body: { kind: "unknown", code: 200, value: null } },
    {
      identity: "chidi", hlc: { wall: T0 + 1001, counter: 0 },
      body: { kind: "upsert", record: UUID_REC, type: WATER, base: { wall: T0 + 2000, counter: 2_000_000 }, fields: { name: "Pozo nuevo", n: -1 } },
    },
    // chidi then publishes a vocabulary with formats, and an upsert goes packed with it
    { identity: "chidi", hlc: { wall: T0 + 3000, counter: 0 }, body: { kind: "vocabulary", type: WATER, fields: WATER_VOCABULARY } },
    {
      identity: "chidi", hlc: { wall: T0 + 7000, counter: 0 },
      body: { kind: "upsert", record: UUID_REC, type: WATER, base: { wall: T0 + 1001, counter: 0 }, fields: TYPED_FIELDS },
    },
  ];
}

/** The newest vocabulary of `ev`'s record type earlier in its feed, as wire.ts packs with it. */
function vocabularyFor(ev: SignedEvent, vocabularies: readonly SignedEvent[]): FeedLexicon | undefined {
  if (ev.body.kind !== "upsert") return undefined;
  const type = ev.body.type;
  const v = vocabularies.filter((x) => x.author === ev.author && x.body.kind === "vocabulary" && x.body.type === type).at(-1);
  return v?.body.kind === "vocabulary" ? { seq: v.seq, lexicon: createLexicon(type, v.body.fields) } : undefined;
}

function buildEvents(signers: Map<string, Signer>): GoldenEvent[] {
  const heads = new Map<string, SignedEvent>();
  const vocabularies: SignedEvent[] = [];
  const out: GoldenEvent[] = [];
  for (const spec of feedSpecs()) {
    const signer = signers.get(spec.identity) as Signer;
    const prevEv = heads.get(spec.identity);
    const seq = (prevEv?.seq ?? 0) + 1;
    const prev: EventId | null = prevEv?.id ?? null;
    const ev = signEvent(signer, { seq, prev, hlc: spec.hlc }, spec.body);
    const canonical = canonicalEventBytes({
      author: signer.publicKey,
      seq,
      prev: prev === null ? null : hexToBytes(prev),
      hlc: spec.hlc,
      kind: kindCode(spec.body),
      body: encodeBody(spec.body),
    });
    const prevWall = prevEv?.hlc.wall ?? null;
    const vocabulary = vocabularyFor(ev, vocabularies);
    if (ev.body.kind === "vocabulary") vocabularies.push(ev);
    out.push({
      identity: spec.identity,
      seq,
      prev,
      hlc: spec.hlc,
      body: bodyToJson(spec.body),
      kind: kindCode(spec.body),
      canonical: hex(canonical),
      id: ev.id,
      signature: hex(ev.sig),
      encoded: hex(encodeSignedEvent(ev)),
      wire: {
        prevWall, item: hex(encodeCanonical(encodeWireItem(ev, prevWall, vocabulary))), ...(vocabulary ? { vocabularySeq: vocabulary.seq } : {}),
      },
    });
    heads.set(spec.identity, ev);
  }
  return out;
}

/** Stamps whose order is stated by hand below, independently of compareStamp. */
function hlcOrder(ids: string[]): GoldenVectors["hlcOrder"] {
  const [a, b, c] = ids as [string, string, string];
  // Author ids sort as their bytes: check the order of the three keys here rather than assume it.
  const byKey = [...ids].sort();
  const [lo, mid, hi] = byKey as [string, string, string];
  const stamps: GoldenStamp[] = [
    { wall: T0, counter: 0, author: hi }, // 0
    { wall: T0, counter: 10, author: lo }, // 1: counter 10 > 9 numerically (not as text)
    { wall: T0, counter: 0, author: lo }, // 2
    { wall: 2 ** 32, counter: 0, author: a }, // 3: wall crosses 2^32
    { wall: T0, counter: 9, author: hi }, // 4
    { wall: 0, counter: 0, author: b }, // 5
    { wall: T0 - 1, counter: MAX_HLC_COUNTER, author: c }, // 6: wall dominates counter
    { wall: MAX_HLC_WALL, counter: 0, author: a }, // 7
    { wall: T0, counter: 0, author: mid }, // 8: three-way tie on (wall, counter)
    { wall: 2 ** 32 - 1, counter: 5, author: b }, // 9
    { wall: 9, counter: 0, author: c }, // 10: 9 < 10 as numbers
    { wall: 10, counter: 0, author: c }, // 11
  ];
  const sorted = [5, 10, 11, 9, 3, 6, 2, 8, 0, 4, 1, 7];
  return {
    about:
      "Writes are totally ordered by (HLC wall, HLC counter, author), walls and counters compared as numbers and authors as bytes of the public key; sorted lists indices into stamps in ascending order.",
    stamps,
    sorted,
  };
}

function cborVectors(): GoldenCbor[] {
  const rfc = "RFC 8949 Appendix A";
  const v = (note: string, value: CborValue): GoldenCbor => ({ note, value: toJsonValue(value), hex: hex(encodeCanonical(value)) });
  const arr25 = Array.from({ length: 25 }, (_, i) => i + 1);
  return [
    // RFC 8949 Appendix A examples that lie in the data model (JS numbers: 1.0, -0.0, 65504.0 are integers here).
    v(rfc, 0), v(rfc, 1), v(rfc, 10), v(rfc, 23), v(rfc, 24), v(rfc, 25), v(rfc, 100), v(rfc, 1000), v(rfc, 1_000_000),
    v(rfc, 1_000_000_000_000), v(rfc, -1), v(rfc, -10), v(rfc, -100), v(rfc, -1000),
    v(rfc, 1.1), v(rfc, 1.5), v(rfc, 3.4028234663852886e38), v(rfc, 1.0e300), v(rfc, 5.960464477539063e-8), v(rfc, 0.00006103515625),
    v(rfc, -4.1), v(rfc, false), v(rfc, true), v(rfc, null), v(rfc, new Uint8Array(0)), v(rfc, Uint8Array.of(1, 2, 3, 4)),
    v(rfc, ""), v(rfc, "a"), v(rfc, "IETF"), v(rfc, '"\\'), v(rfc, "\u00fc"), v(rfc, "\u6c34"), v(rfc, "\ud800\udd51"),
    v(rfc, []), v(rfc, [1, 2, 3]), v(rfc, [1, [2, 3], [4, 5]]), v(rfc, arr25), v(rfc, {}), v(rfc, { a: 1, b: [2, 3] }),
    v(rfc, ["a", { b: "c" }]), v(rfc, { a: "A", b: "B", c: "C", d: "D", e: "E" }),
    // Shortest integer heads at every boundary.
    v("int head boundary", 255), v("int head boundary", 256), v("int head boundary", 65_535), v("int head boundary", 65_536),
    v("int head boundary", 0xffffffff), v("int head boundary", 2 ** 32), v("largest integer: 2^53-1", Number.MAX_SAFE_INTEGER),
    v("negative boundary", -24), v("negative boundary", -25), v("negative boundary", -256), v("negative boundary", -257),
    v("negative boundary", -(2 ** 32)), v("negative boundary", -(2 ** 32) - 1), v("smallest integer: -(2^53-1)", Number.MIN_SAFE_INTEGER),
    // Shortest float forms.
    v("half", 0.5), v("half", -0.25), v("half, largest non-integer", 1023.5), v("half subnormal 3*2^-24", 3 * 2 ** -24),
    v("single: not exact in half (65504.5 > half max)", 65_504.5), v("single", 100_000.5),
    v("single subnormal: 2^-149", 2 ** -149), v("double: 2^-150 is below single", 2 ** -150), v("double", 0.1),
    v("double: largest finite", Number.MAX_VALUE), v("double", -1e-300),
    v("whole numbers beyond 2^53-1 are floats in this data model: 2^53", 2 ** 53), v("2^64 as a float", 2 ** 64),
    // Map keys: shorter encoded key first, then bytewise (RFC 8949 §4.2.1).
    v("map keys: length first, then bytes", { b: 1, a: 2, aa: 3, z: 4, "10": 5, "1": 6, é: 7 }),
    v("map keys: UTF-8 bytes, not UTF-16 code units (U+E000 U+0080 before U+10000 'a')", { "\u{10000}a": 1, "\ue000\u0080": 2 }),
    v("map keys: a 23-byte key before a 24-byte one", { ["a".repeat(24)]: 1, ["k".repeat(23)]: 2 }),
    v("nested maps are sorted too", [{ zz: { y: 1, x: 2 }, a: [{ c: 3, bb: 4 }] }]),
    v("bytes and text are distinct", [Uint8Array.of(0x61, 0x61), "aa"]),
    v("non-ASCII text", "Ñuñoa — 水井 ✓ 🚰"),
  ];
}

export function makeGoldenVectors(): GoldenVectors {
  const signers = new Map<string, Signer>();
  const identities: GoldenIdentity[] = IDENTITY_SEEDS.map(([name, seed]) => {
    const s = signerFromSeed(Buffer.from(seed, "hex"));
    signers.set(name, s);
    return { name, seed, publicKey: s.author };
  });
  return {
    about: [
      "Golden vectors of meshlogd's byte formats. Generated by test/support/make-golden-vectors.ts; checked by test/golden-vectors.test.ts.",
      "Regenerate: npx tsc -p tsconfig.json && node dist/test/support/make-golden-vectors.js > test/fixtures/golden-vectors.json",
      'CBOR values are JSON, except a byte string, written {"$bytes": "<hex>"}. Whole JSON numbers within +-(2^53-1) are integers; other numbers are floats.',
      "Identity seeds are those of RFC 8032 section 7.1 TEST 1-3. sig = Ed25519(seed, utf8(signatureContext) || id).",
      "canonical = CBOR [format, author(32B), seq, prev(32B)|null, wall, counter, kind, body]; id = SHA-256(canonical); encoded = the same array plus sig as a ninth item.",
      "wire item = CBOR [wall - prevWall, counter, kind, packed body, sig]: uuid: record ids as 16 bytes, an upsert/delete base as [wall - base.wall, base.counter].",
      "vocabulary body = [type, [entry, ...]], entry = name | [name, [choice, ...]] | [name, formatCode] | [name, formatCode, [choice, ...]] (selects) | [name, formatCode, [entry, ...]] (repeat); format codes: text 1, int 2, decimal 3, date 4, datetime 5, boolean 6, select_one 7, select_multiple 8, geopoint 9, geotrace 10, repeat 11.",
      "An upsert after a vocabulary of its type in the same feed (wire.vocabularySeq) is packed with it: [rid, vocabularySeq, base, packed fields]; with formats, packed = bits | [bits, [literal, ...]] | [bits, [literal, ...], {extra fields}], bits starting with 1 if every vocabulary field is present, else 0 and one presence bit per vocabulary field (src/engine/typed-pack.ts).",
    ],
    signatureContext: SIGNATURE_CONTEXT,
    eventFormatVersion: EVENT_FORMAT_VERSION,
    identities,
    events: buildEvents(signers),
    hlcOrder: hlcOrder(identities.map((i) => i.publicKey)),
    cbor: cborVectors(),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.env.NODE_TEST_CONTEXT === undefined) {
  process.stdout.write(`${JSON.stringify(makeGoldenVectors(), null, 2)}\n`);
}
