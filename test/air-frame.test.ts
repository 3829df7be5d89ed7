/**
 * Air frames: exact header bytes, overhead per frame as the docs state it,
 * round trips sealed and unsealed, and every corrupt, foreign, tampered or
 * unsealed-when-refused frame dropped and counted by reason.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "node:zlib";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { createAirCodec, type AirCodec, type AirCodecOptions } from "../src/radio/air/codec.js";
import {
  FRAME_KIND, HEADER_BYTES, NONCE_COUNTER_BYTES, SEALED_OVERHEAD, TAG_BYTES, UNSEALED_OVERHEAD,
} from "../src/radio/air/constants.js";
import {
  NetworkKeyError, generateNetworkKey, networkIdFromName, parseNetworkKey,
} from "../src/radio/air/network-key.js";
import { totalDropped } from "../src/radio/air/stats.js";

const A = Uint8Array.of(0x0a, 0x0a, 0x0a, 0x01);
const B = Uint8Array.of(0xb0, 0xb0, 0xb0, 0xb2);
const NET = networkIdFromName("test-net");
const KEY = parseNetworkKey("11".repeat(32));
const KNOWN_KINDS = new Set<number>(Object.values(FRAME_KIND));
const NONCE_START = Uint8Array.of(0, 0, 0, 0, 0, 0, 0xff, 0xfe);

function codec(station: Uint8Array, extra: Partial<AirCodecOptions> = {}): AirCodec {
  return createAirCodec({
    networkId: NET, stationId: station, clock: { now: () => 0 }, random: () => 0.5,
    randomBytes: (n) => NONCE_START.subarray(0, n), ...extra,
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (n: number, fill = 0x5a): Uint8Array => new Uint8Array(n).fill(fill);
const flip = (f: Uint8Array, bit: number): Uint8Array => {
  const g = new Uint8Array(f);
  g[bit >> 3] = (g[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return g;
};

describe("air frame layout", () => {
  it("an unsealed frame is version, network, type, sender, payload, CRC-32", () => {
    const payload = bytes(20);
    const [frame] = codec(A, { networkKey: null }).encode(payload);
    assert.ok(frame);
    assert.equal(frame.length, HEADER_BYTES + payload.length + 4);
    assert.deepEqual([...frame.subarray(0, HEADER_BYTES)], [1, NET >> 8, NET & 0xff, FRAME_KIND.message, ...A]);
    assert.equal(hex(frame.subarray(HEADER_BYTES, HEADER_BYTES + payload.length)), hex(payload));
    assert.equal(Buffer.from(frame).readUInt32BE(frame.length - 4), crc32(frame.subarray(0, frame.length - 4)));
  });

  it("a sealed frame is the header with the sealed bit, the nonce counter, ciphertext and an 8-byte tag", () => {
    const a = codec(A, { networkKey: KEY });
    const [f1] = a.encode(bytes(20));
    const [f2] = a.encode(bytes(20));
    assert.ok(f1 && f2);
    assert.equal(f1.length, HEADER_BYTES + NONCE_COUNTER_BYTES + 20 + TAG_BYTES);
    assert.deepEqual([...f1.subarray(0, HEADER_BYTES)], [1, NET >> 8, NET & 0xff, 0x80 | FRAME_KIND.message, ...A]);
    assert.equal(hex(f1.subarray(HEADER_BYTES, HEADER_BYTES + 8)), hex(NONCE_START));
    assert.deepEqual([...f2.subarray(HEADER_BYTES, HEADER_BYTES + 8)], [0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    assert.notEqual(hex(f1.subarray(16, 36)), hex(bytes(20)), "the payload is encrypted");
  });

  it("overhead is 12 bytes unsealed and 24 sealed; fragments add 4, and the message check 4 per message", () => {
    for (const [networkKey, overhead] of [[null, 12], [KEY, 24]] as const) {
      const a = codec(A, { networkKey });
      assert.equal(overhead, networkKey ? SEALED_OVERHEAD : UNSEALED_OVERHEAD);
      const capacity = a.payloadCapacity();
      assert.equal(capacity, 254 - overhead);
      assert.equal(a.encode(bytes(capacity))[0]?.length, 254);
      assert.equal(a.encode(bytes(7))[0]?.length, 7 + overhead);
      const n = capacity * 3;
      const frames = a.encode(bytes(n));
      const chunk = capacity - 4;
      assert.equal(frames.length, Math.ceil((n + 4) / chunk));
      const sent = frames.reduce((s, f) => s + f.length, 0);
      assert.equal(sent, n + 4 + frames.length * (overhead + 4));
      assert.ok(frames.every((f) => f.length <= 254));
      assert.equal(a.maxMessageBytes(), 255 * chunk - 4);
      assert.throws(() => a.encode(bytes(a.maxMessageBytes() + 1)), RangeError);
      assert.equal(a.encode(bytes(a.maxMessageBytes())).length, 255);
    }
  });

  it("the nonce counter never repeats within a run", () => {
    const a = codec(A, { networkKey: KEY, randomBytes: () => Buffer.from("fffffffffffffff0", "hex") });
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const [f] = a.encode(bytes(5));
      assert.ok(f);
      seen.add(Buffer.from(f.subarray(HEADER_BYTES, HEADER_BYTES + 8)).toString("hex"));
    }
    assert.equal(seen.size, 1000, "it wraps at 2^64 and keeps counting");
  });
});

describe("air frame round trip", () => {
  for (const networkKey of [null, KEY]) {
    it(`delivers message and sender (${networkKey ? "sealed" : "unsealed"})`, () => {
      const a = codec(A, { networkKey });
      const b = codec(B, { networkKey });
      for (const n of [0, 1, 100, a.payloadCapacity()]) {
        const message = bytes(n, n & 0xff);
        const frames = a.encode(message);
        assert.equal(frames.length, 1);
        assert.deepEqual(b.receive(frames[0] ?? new Uint8Array()), { kind: "message", from: A, message });
      }
      assert.equal(b.stats.framesDecoded, 4);
      assert.equal(b.stats.messagesDelivered, 4);
    });
  }

  it("with sealing on, a known plaintext does not appear on air (and does without)", () => {
    const item = ["household", "uuid:6b1c", { name: "Amina Yusuf", village: "Kalobeyei" }];
    const small = encodeMessage({ type: "events", short: A, start: 1, items: [item] });
    const big = encodeMessage({ type: "events", short: A, start: 1, items: Array.from({ length: 40 }, () => item) });
    const needle = Buffer.from("Amina Yusuf");
    const onAir = (networkKey: Uint8Array | null): Buffer[] =>
      [small, big].flatMap((m) => codec(A, { networkKey }).encode(m)).map((f) => Buffer.from(f));
    assert.ok(onAir(null).some((f) => f.includes(needle)), "the test would see it unsealed");
    for (const f of onAir(KEY)) {
      assert.equal(f.includes(needle), false);
      assert.equal(f.includes(Buffer.from("Amina")), false);
      assert.equal(f.includes(Buffer.from("Kalobeyei")), false);
    }
  });
});

describe("air frame drops", () => {
  it("every single-bit flip of a sealed frame is dropped with the reason its position implies", () => {
    const frame = codec(A, { networkKey: KEY }).encode(bytes(40))[0] ?? new Uint8Array();
    const b = codec(B, { networkKey: KEY });
    const expected = (bit: number): string => {
      const byte = bit >> 3;
      if (byte === 0) return "bad-version";
      if (byte <= 2) return "foreign-network";
      if (bit === 3 * 8 + 7) return "unsealed-refused";
      if (byte === 3) return KNOWN_KINDS.has(FRAME_KIND.message ^ (1 << (bit & 7))) ? "auth-failed" : "bad-type";
      return "auth-failed";
    };
    for (let bit = 0; bit < frame.length * 8; bit++) {
      assert.deepEqual(b.receive(flip(frame, bit)), { kind: "dropped", reason: expected(bit) }, `bit ${bit}`);
    }
    assert.equal(b.stats.framesDecoded, 0);
    assert.equal(totalDropped(b.stats), frame.length * 8);
    assert.ok(b.stats.dropped["auth-failed"] > frame.length * 8 - 40);
  });

  it("every single-bit flip of an unsealed frame fails the CRC (or an earlier check)", () => {
    const frame = codec(A).encode(bytes(40))[0] ?? new Uint8Array();
    const b = codec(B);
    for (let bit = 0; bit < frame.length * 8; bit++) assert.equal(b.receive(flip(frame, bit)).kind, "dropped");
    assert.equal(b.stats.framesDecoded, 0);
    assert.ok(b.stats.dropped["bad-integrity"] > frame.length * 8 - 40);
  });

  it("drops frames of another network, another key, no key, and unsealed ones when sealing is required", () => {
    const other = codec(A, { networkId: networkIdFromName("elsewhere"), networkKey: KEY }).encode(bytes(9))[0];
    const otherKey = codec(A, { networkKey: parseNetworkKey("22".repeat(32)) }).encode(bytes(9))[0];
    const sealed = codec(A, { networkKey: KEY }).encode(bytes(9))[0];
    const plain = codec(A).encode(bytes(9))[0];
    assert.ok(other && otherKey && sealed && plain);
    const b = codec(B, { networkKey: KEY });
    assert.deepEqual(b.receive(other), { kind: "dropped", reason: "foreign-network" });
    assert.deepEqual(b.receive(otherKey), { kind: "dropped", reason: "auth-failed" });
    assert.deepEqual(b.receive(plain), { kind: "dropped", reason: "unsealed-refused" });
    assert.deepEqual(codec(B).receive(sealed), { kind: "dropped", reason: "no-key" });
    const lenient = codec(B, { networkKey: KEY, requireSealed: false });
    assert.equal(lenient.receive(plain).kind, "message", "a migrating network may accept both");
    assert.equal(lenient.receive(sealed).kind, "message");
  });

  it("drops short, long, own and unknown-version frames", () => {
    const b = codec(B, { networkKey: KEY });
    const [own] = codec(B, { networkKey: KEY }).encode(bytes(3));
    assert.ok(own);
    assert.deepEqual(b.receive(new Uint8Array()), { kind: "dropped", reason: "too-short" });
    assert.deepEqual(b.receive(own.subarray(0, 20)), { kind: "dropped", reason: "too-short" });
    assert.deepEqual(b.receive(new Uint8Array(255)), { kind: "dropped", reason: "too-long" });
    assert.deepEqual(b.receive(Uint8Array.of(2, ...own.subarray(1))), { kind: "dropped", reason: "bad-version" });
    assert.deepEqual(b.receive(own), { kind: "dropped", reason: "own-echo" });
    assert.equal(b.stats.framesReceived, totalDropped(b.stats));
  });
});

describe("network id and key", () => {
  it("derives a stable 2-byte id from the network name", () => {
    assert.equal(networkIdFromName("test-net"), NET);
    assert.ok(Number.isInteger(NET) && NET >= 0 && NET <= 0xffff);
    assert.notEqual(networkIdFromName("test-net-2"), NET);
    assert.throws(() => networkIdFromName(""), RangeError);
  });

  it("parses 32-byte keys in hex and base64, and names the expected form otherwise", () => {
    const raw = Buffer.from([...Array(32).keys()].map((i) => i * 7 + 3));
    for (const text of [raw.toString("hex"), raw.toString("hex").toUpperCase(), raw.toString("base64"),
      raw.toString("base64url"), ` ${raw.toString("base64")}\n`, raw.toString("base64").replace(/=$/, "")]) {
      assert.deepEqual(Buffer.from(parseNetworkKey(text)), raw, text);
    }
    assert.equal(parseNetworkKey(generateNetworkKey()).length, 32);
    for (const bad of ["", "abc", "11".repeat(31), "11".repeat(33), raw.subarray(0, 24).toString("base64"),
      Buffer.alloc(48, 0xff).toString("base64"), "!".repeat(44)]) {
      assert.throws(() => parseNetworkKey(bad, "site.yaml: radio.networkKey"), (e: unknown) =>
        e instanceof NetworkKeyError && /site\.yaml: radio\.networkKey/.test(e.message) &&
        /64 hex digits/.test(e.message) && /base64/.test(e.message));
    }
  });

  it("refuses misconfiguration at creation", () => {
    assert.throws(() => codec(Uint8Array.of(1, 2, 3)), RangeError);
    assert.throws(() => codec(A, { requireSealed: true }), RangeError);
    assert.throws(() => codec(A, { networkId: 70_000 }), RangeError);
    assert.throws(() => codec(A, { mtu: 40 }), RangeError);
    assert.throws(() => codec(A, { networkKey: new Uint8Array(16) }), RangeError);
    assert.throws(() => codec(A, { limits: { maxPartials: 0 } }), RangeError);
  });
});
