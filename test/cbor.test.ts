import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Decoder } from "cbor-x";
import fc from "fast-check";
import { CborEncodeError, decodeStrict, encodeCanonical, type CborDecodeFailure, type CborMap, type CborValue } from "../src/engine/cbor.js";
import { MAX_CBOR_DEPTH, MAX_CBOR_ITEMS } from "../src/engine/constants.js";
import { plain } from "./support/plain.js";
import { cborValueArbitrary } from "./support/arbitraries.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const cborx = new Decoder({ mapsAsObjects: true, useRecords: false });

function decoded(h: string | Uint8Array): CborValue {
  const r = decodeStrict(typeof h === "string" ? unhex(h) : h);
  assert.ok(r.ok, `refused: ${r.ok ? "" : r.reason}`);
  return plain(r.value);
}

function refusal(h: string | Uint8Array): CborDecodeFailure | "accepted" {
  const r = decodeStrict(typeof h === "string" ? unhex(h) : h);
  return r.ok ? "accepted" : r.reason;
}

/** `depth` arrays around 0: the 0 sits at depth `depth` (the outermost value is depth 0). */
function nestedArrays(depth: number): CborValue {
  let v: CborValue = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function nestedMaps(depth: number): CborValue {
  let v: CborValue = 0;
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}

/** Sizes passed to `new Array(n)` while fn runs (how the decoder preallocates arrays). */
function arrayAllocations(fn: () => void): number[] {
  const RealArray = globalThis.Array;
  const sizes: number[] = [];
  globalThis.Array = new Proxy(RealArray, {
    construct(target, args, newTarget) {
      if (typeof args[0] === "number") sizes.push(args[0]);
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  try {
    fn();
  } finally {
    globalThis.Array = RealArray;
  }
  return sizes;
}

// ---------------------------------------------------------------- RFC 8949 Appendix A

/** Appendix A examples inside the data model (maps with text keys; numbers that JS keeps apart from integers). */
const APPENDIX_A: [CborValue, string][] = [
  [0, "00"], [1, "01"], [10, "0a"], [23, "17"], [24, "1818"], [25, "1819"], [100, "1864"], [1000, "1903e8"],
  [1000000, "1a000f4240"], [1000000000000, "1b000000e8d4a51000"],
  [-1, "20"], [-10, "29"], [-100, "3863"], [-1000, "3903e7"],
  [1.1, "fb3ff199999999999a"], [1.5, "f93e00"], [3.4028234663852886e38, "fa7f7fffff"], [1.0e300, "fb7e37e43c8800759c"],
  [5.960464477539063e-8, "f90001"], [0.00006103515625, "f90400"], [-4.1, "fbc010666666666666"],
  [false, "f4"], [true, "f5"], [null, "f6"],
  [new Uint8Array(0), "40"], [Uint8Array.of(1, 2, 3, 4), "4401020304"],
  ["", "60"], ["a", "6161"], ["IETF", "6449455446"], ['"\\', "62225c"], ["\u00fc", "62c3bc"], ["\u6c34", "63e6b0b4"],
  ["\ud800\udd51", "64f0908591"],
  [[], "80"], [[1, 2, 3], "83010203"], [[1, [2, 3], [4, 5]], "8301820203820405"],
  [Array.from({ length: 25 }, (_, i) => i + 1), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"],
  [{}, "a0"], [{ a: 1, b: [2, 3] }, "a26161016162820203"], [["a", { b: "c" }], "826161a161626163"],
  [{ a: "A", b: "B", c: "C", d: "D", e: "E" }, "a56161614161626142616361436164614461656145"],
];

describe("canonical CBOR: RFC 8949 Appendix A", () => {
  it("encodes every example in the data model to the RFC's bytes and decodes them back", () => {
    for (const [value, bytes] of APPENDIX_A) {
      assert.equal(hex(encodeCanonical(value)), bytes, JSON.stringify(value));
      assert.deepEqual(decoded(bytes), value, bytes);
    }
  });

  it("gives whole-number floats (1.0, -0.0, 100000.0, ...) the integer form: JS numbers cannot tell them apart", () => {
    // RFC: 0.0 f90000, -0.0 f98000, 1.0 f93c00, 65504.0 f97bff, 100000.0 fa47c35000, -4.0 f9c400.
    const cases: [number, string][] = [[0.0, "00"], [-0.0, "00"], [1.0, "01"], [65504.0, "19ffe0"], [100000.0, "1a000186a0"], [-4.0, "23"]];
    for (const [v, bytes] of cases) assert.equal(hex(encodeCanonical(v)), bytes, String(v));
  });

  it("refuses the examples outside the data model", () => {
    const cases: [string, CborDecodeFailure][] = [
      ["1bffffffffffffffff", "integer-out-of-range"], // 18446744073709551615
      ["3bffffffffffffffff", "integer-out-of-range"], // -18446744073709551616
      ["c249010000000000000000", "unsupported-type"], // bignum
      ["c349010000000000000000", "unsupported-type"],
      ["f97c00", "non-finite-float"], ["f97e00", "non-finite-float"], ["f9fc00", "non-finite-float"],
      ["fa7f800000", "non-finite-float"], ["fa7fc00000", "non-finite-float"], ["faff800000", "non-finite-float"],
      ["fb7ff0000000000000", "non-finite-float"], ["fb7ff8000000000000", "non-finite-float"], ["fbfff0000000000000", "non-finite-float"],
      ["f7", "unsupported-type"], ["f0", "unsupported-type"], ["f8ff", "unsupported-type"], // undefined, simple(16), simple(255)
      ["c074323031332d30332d32315432303a30343a30305a", "unsupported-type"], ["c11a514b67b0", "unsupported-type"],
      ["c1fb41d452d9ec200000", "unsupported-type"], ["d74401020304", "unsupported-type"], ["d818456449455446", "unsupported-type"],
      ["d82076687474703a2f2f7777772e6578616d706c652e636f6d", "unsupported-type"],
      ["5f42010243030405ff", "unsupported-type"], ["7f657374726561646d696e67ff", "unsupported-type"], ["9fff", "unsupported-type"],
      ["9f018202039f0405ffff", "unsupported-type"], ["9f01820203820405ff", "unsupported-type"], ["83018202039f0405ff", "unsupported-type"],
      ["83019f0203ff820405", "unsupported-type"], ["bf61610161629f0203ffff", "unsupported-type"], ["826161bf61626163ff", "unsupported-type"],
      ["bf6346756ef563416d7421ff", "unsupported-type"],
      ["a201020304", "bad-map-key"], // {1: 2, 3: 4}
    ];
    for (const [bytes, reason] of cases) assert.equal(refusal(bytes), reason, bytes);
  });
});

// ---------------------------------------------------------------- deterministic encoding rules

describe("canonical CBOR: deterministic encoding (RFC 8949 §4.2.1)", () => {
  it("uses the shortest head for integers at every boundary", () => {
    const cases: [number, string][] = [
      [23, "17"], [24, "1818"], [255, "18ff"], [256, "190100"], [65535, "19ffff"], [65536, "1a00010000"],
      [0xffffffff, "1affffffff"], [2 ** 32, "1b0000000100000000"], [Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
      [-24, "37"], [-25, "3818"], [-256, "38ff"], [-257, "390100"], [-65536, "39ffff"], [-65537, "3a00010000"],
      [-(2 ** 32), "3affffffff"], [-(2 ** 32) - 1, "3b0000000100000000"], [Number.MIN_SAFE_INTEGER, "3b001ffffffffffffe"],
    ];
    for (const [v, bytes] of cases) {
      assert.equal(hex(encodeCanonical(v)), bytes, String(v));
      assert.equal(decoded(bytes), v);
    }
  });

  it("uses the shortest head for lengths of text, bytes, arrays and maps", () => {
    assert.equal(hex(encodeCanonical("x".repeat(23))).slice(0, 2), "77");
    assert.equal(hex(encodeCanonical("x".repeat(24))).slice(0, 4), "7818");
    assert.equal(hex(encodeCanonical(new Uint8Array(256))).slice(0, 6), "590100");
    assert.equal(hex(encodeCanonical(new Array<CborValue>(24).fill(null))).slice(0, 4), "9818");
    const bigMap: CborMap = {};
    for (let i = 0; i < 256; i++) bigMap[`k${i}`] = i;
    assert.equal(hex(encodeCanonical(bigMap)).slice(0, 6), "b90100");
    assert.equal(hex(encodeCanonical("é".repeat(12))).slice(0, 4), "7818", "text length counts UTF-8 bytes, not UTF-16 units");
  });

  it("uses the shortest float that holds the value exactly", () => {
    const cases: [number, string][] = [
      [0.5, "f93800"], [-0.25, "f9b400"], [1023.5, "f963ff"], [2 ** -24, "f90001"], [3 * 2 ** -24, "f90003"], [2 ** -14, "f90400"],
      [65504.5, "fa477fe080"], [100000.5, "fa47c35040"], [2 ** -149, "fa00000001"], [2 ** -126, "fa00800000"],
      [0.1, "fb3fb999999999999a"], [2 ** -150, "fb3690000000000000"], [Number.MAX_VALUE, "fb7fefffffffffffff"],
      [Number.MIN_VALUE, "fb0000000000000001"], [1 + 2 ** -10, "f93c01"], [1 + 2 ** -11, "fa3f801000"], [1 + 2 ** -24, "fb3ff0000010000000"],
    ];
    for (const [v, bytes] of cases) {
      assert.equal(hex(encodeCanonical(v)), bytes, String(v));
      assert.equal(decoded(bytes), v, bytes);
    }
  });

  it("encodes numbers beyond ±(2^53-1) as floats, since they are not integers of the data model", () => {
    assert.equal(hex(encodeCanonical(2 ** 53)), "fa5a000000");
    assert.equal(hex(encodeCanonical(-(2 ** 53))), "fada000000");
    assert.equal(hex(encodeCanonical(2 ** 64)), "fa5f800000");
    assert.equal(hex(encodeCanonical(2 ** 53 + 2)), "fb4340000000000001");
  });

  it("encodes every finite half-precision value in exactly its half form (or as an integer when whole)", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const h = `f9${bits.toString(16).padStart(4, "0")}`;
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 31) {
        assert.equal(refusal(h), "non-finite-float", h);
        continue;
      }
      const v = decoded(h) as number;
      if (Number.isInteger(v)) assert.equal(encodeCanonical(v)[0]! >> 5 <= 1, true, `${h} = ${v} takes the integer form`);
      else assert.equal(hex(encodeCanonical(v)), h, `${v}`);
    }
  });

  it("sorts map keys by encoded bytes: shorter first, then bytewise, whatever the insertion order", () => {
    const value = { b: 1, a: 2, aa: 3, z: 4, "10": 5, "1": 6, é: 7 };
    const bytes = "a7 6131 06 6161 02 6162 01 617a 04 623130 05 626161 03 62c3a9 07";
    assert.equal(hex(encodeCanonical(value)), bytes.replace(/ /g, ""));
    const reversed = Object.fromEntries(Object.entries(value).reverse());
    assert.equal(hex(encodeCanonical(reversed)), bytes.replace(/ /g, ""));
  });

  it("compares keys as UTF-8 bytes, not as JS (UTF-16) strings", () => {
    // Both keys are 5 UTF-8 bytes; UTF-16 puts U+10000 (d800 dc00) first, UTF-8 puts U+E000 (ee 80 80) first.
    const k1 = "\u{10000}a";
    const k2 = "\ue000\u0080";
    assert.ok(k1 < k2, "JS string order");
    assert.equal(hex(encodeCanonical({ [k1]: 1, [k2]: 2 })), "a265ee8080c2800265f09080806101");
  });

  it("puts a 23-byte key before a 24-byte key whatever their letters", () => {
    const long = "a".repeat(24);
    const short = "z".repeat(23);
    const bytes = hex(encodeCanonical({ [long]: 1, [short]: 2 }));
    assert.equal(bytes, `a277${"7a".repeat(23)}027818${"61".repeat(24)}01`);
  });

  it("sorts nested maps and leaves array order alone", () => {
    assert.equal(hex(encodeCanonical([{ zz: { y: 1, x: 2 }, a: [{ c: 3, bb: 4 }] }, 2, 1])), "83a2616181a261630362626204627a7aa2617802617901" + "0201");
  });
});

// ---------------------------------------------------------------- round trips

describe("canonical CBOR: round trips", () => {
  it("decodes what it encodes for representative values", () => {
    const values: CborValue[] = [
      null, true, false, 0, -1, 42, -42, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0.5, -1.1, 1e-300, 1e300,
      "", "plain", "Ñuñoa — 水井 ✓ 🚰", new Uint8Array(0), Uint8Array.of(0, 255, 128),
      [], [null, [[]], {}], { constructor: 1, toString: "x", hasOwnProperty: [], valueOf: null },
      { record: { geo: { lat: -12.0464, lon: -77.0428 }, photos: [Uint8Array.of(1), Uint8Array.of(2)] } },
    ];
    for (const v of values) {
      const bytes = encodeCanonical(v);
      assert.deepEqual(decoded(bytes), v, hex(bytes));
      assert.deepEqual(encodeCanonical(decoded(bytes)), bytes);
    }
  });

  it("decodes maps with keys such as 'constructor' as own properties without touching any prototype", () => {
    const v = decoded(encodeCanonical({ constructor: { prototype: { polluted: true } }, toString: 1 })) as CborMap;
    assert.ok(Object.prototype.hasOwnProperty.call(v, "constructor"));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  });

  it("accepts nesting down to MAX_CBOR_DEPTH, in both directions", () => {
    for (const v of [nestedArrays(MAX_CBOR_DEPTH), nestedMaps(MAX_CBOR_DEPTH)]) assert.deepEqual(decoded(encodeCanonical(v)), v);
  });

  it("accepts MAX_CBOR_ITEMS items in one array or map", () => {
    const arr = new Array<CborValue>(MAX_CBOR_ITEMS).fill(0);
    assert.deepEqual(decoded(encodeCanonical(arr)), arr);
    const map: CborMap = {};
    for (let i = 0; i < MAX_CBOR_ITEMS; i++) map[`k${i}`] = i;
    assert.deepEqual(decoded(encodeCanonical(map)), map);
  });
});

// ---------------------------------------------------------------- refusals

describe("canonical CBOR: the decoder refuses", () => {
  const table: [string, string, CborDecodeFailure][] = [
    ["tags", "c0 60", "unsupported-type"],
    ["a tag inside an array", "82 01 c1 01", "unsupported-type"],
    ["a tag with a 1-byte number", "d8 20 60", "unsupported-type"],
    ["an indefinite-length byte string", "5f 41 00 ff", "unsupported-type"],
    ["an indefinite-length text string", "7f 61 61 ff", "unsupported-type"],
    ["an indefinite-length array", "9f 01 ff", "unsupported-type"],
    ["an indefinite-length map", "bf 61 61 01 ff", "unsupported-type"],
    ["a lone break", "ff", "unsupported-type"],
    ["reserved additional information 28-30", "1c", "unsupported-type"],
    ["reserved additional information in a length", "5d", "unsupported-type"],
    ["undefined", "f7", "unsupported-type"],
    ["undefined inside an array", "82 f6 f7", "unsupported-type"],
    ["simple values other than false/true/null", "f3", "unsupported-type"],
    ["a one-byte simple value", "f8 20", "unsupported-type"],
    ["an integer map key", "a1 01 02", "bad-map-key"],
    ["a byte-string map key", "a1 41 61 01", "bad-map-key"],
    ["an array map key", "a1 80 01", "bad-map-key"],
    ["a null map key", "a1 f6 01", "bad-map-key"],
    ["a '__proto__' map key", "a1 69 5f5f70726f746f5f5f 01", "bad-map-key"],
    ["a nested '__proto__' map key", "81 a1 69 5f5f70726f746f5f5f a0", "bad-map-key"],
    ["a duplicate map key", "a2 61 61 01 61 61 02", "duplicate-map-key"],
    ["a duplicate map key out of order", "a3 61 61 01 61 62 02 61 61 03", "duplicate-map-key"],
    ["invalid UTF-8 (bad continuation)", "62 c3 28", "bad-utf8"],
    ["invalid UTF-8 (overlong '/')", "62 c0 af", "bad-utf8"],
    ["invalid UTF-8 (an encoded surrogate)", "63 ed a0 80", "bad-utf8"],
    ["invalid UTF-8 (a cut multi-byte sequence)", "61 c3", "bad-utf8"],
    ["invalid UTF-8 (beyond U+10FFFF)", "64 f4 90 80 80", "bad-utf8"],
    ["invalid UTF-8 in a map key", "a1 62 c3 28 01", "bad-utf8"],
    ["an unsigned integer of 2^53", "1b 0020000000000000", "integer-out-of-range"],
    ["an unsigned integer of 2^64-1", "1b ffffffffffffffff", "integer-out-of-range"],
    ["a negative integer of -(2^53)-1", "3b 0020000000000000", "integer-out-of-range"],
    ["a length of 2^53", "5b 0020000000000000", "integer-out-of-range"],
    ["NaN (half)", "f9 7e00", "non-finite-float"],
    ["NaN (single)", "fa 7fc00000", "non-finite-float"],
    ["NaN (double)", "fb 7ff8000000000001", "non-finite-float"],
    ["+Infinity (half)", "f9 7c00", "non-finite-float"],
    ["-Infinity (double)", "fb fff0000000000000", "non-finite-float"],
    ["Infinity inside a map", "a1 61 61 fa 7f800000", "non-finite-float"],
    ["trailing bytes", "00 00", "trailing-bytes"],
    ["trailing bytes after a map", "a0 f6", "trailing-bytes"],
    ["an empty input", "", "truncated"],
    ["a cut integer", "19 01", "truncated"],
    ["a cut float", "fb 3ff1999999", "truncated"],
    ["a cut text string", "63 61 62", "truncated"],
    ["a cut array", "83 01 02", "truncated"],
    ["a map missing its last value", "a1 61 61", "truncated"],
  ];
  for (const [what, bytes, reason] of table) {
    it(`${what} (${reason})`, () => assert.equal(refusal(bytes.replace(/ /g, "")), reason));
  }

  it("every proper prefix of an encoding as truncated", () => {
    const bytes = encodeCanonical({ name: "Ñuñoa 🚰", n: [1, 2 ** 40, -3.5, 1.1], b: Uint8Array.of(9, 8, 7), m: { x: null, y: true } });
    for (let n = 0; n < bytes.length; n++) assert.equal(refusal(bytes.subarray(0, n)), "truncated", `prefix of ${n} bytes`);
    assert.equal(refusal(bytes), "accepted");
  });

  it(`nesting deeper than MAX_CBOR_DEPTH (${MAX_CBOR_DEPTH})`, () => {
    assert.equal(refusal(`${"81".repeat(MAX_CBOR_DEPTH)}00`), "accepted");
    assert.equal(refusal(`${"81".repeat(MAX_CBOR_DEPTH + 1)}00`), "too-deep");
    assert.equal(refusal(`${"a16161".repeat(MAX_CBOR_DEPTH + 1)}00`), "too-deep");
    // A hostile megabyte of nesting is refused at the limit, not by a stack overflow.
    assert.equal(refusal(new Uint8Array(1_000_000).fill(0x81)), "too-deep");
  });

  it("more than MAX_CBOR_ITEMS items in one array or map, even when the bytes are there", () => {
    const n = MAX_CBOR_ITEMS + 1;
    const head = (major: number) => Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    assert.equal(refusal(Buffer.concat([head(4), Buffer.alloc(n, 0)])), "too-many-items");
    const pairs = Buffer.concat(Array.from({ length: n }, (_, i) => encodeCanonical([`k${i}`, 0]).subarray(1)));
    assert.equal(refusal(Buffer.concat([head(5), pairs])), "too-many-items");
  });

  it("a header claiming 2^32 items (or bytes) without allocating for them", () => {
    const hostile: [string, CborDecodeFailure][] = [
      ["9b 0000000100000000", "too-many-items"], // array of 2^32
      ["bb 0000000100000000", "too-many-items"], // map of 2^32
      ["9a ffffffff", "too-many-items"],
      ["9b 001fffffffffffff", "too-many-items"],
      ["5b 0000000100000000", "truncated"], // byte string of 2^32
      ["7a ffffffff", "truncated"], // text string of 2^32-1
      ["99 1000 00", "truncated"], // MAX_CBOR_ITEMS items claimed, one present
      ["b9 1000 61 61 00", "truncated"],
      ["82 99 1000 00", "truncated"],
    ];
    const sizes = arrayAllocations(() => {
      for (const [bytes, reason] of hostile) assert.equal(refusal(bytes.replace(/ /g, "")), reason, bytes);
    });
    assert.deepEqual(sizes.filter((n) => n > 2), [], "no array was preallocated for a claimed length");
    // The spy does see the decoder's allocations when the items are really there.
    assert.deepEqual(arrayAllocations(() => decodeStrict(unhex("83010203"))), [3]);
  });
});

describe("canonical CBOR: the encoder refuses values outside the data model", () => {
  const bad: [string, unknown][] = [
    ["undefined", undefined],
    ["undefined inside an array", [1, undefined]],
    ["a hole in a sparse array", [1, , 3]], // eslint-disable-line no-sparse-arrays
    ["undefined as a map value", { a: undefined }],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity inside a map", { t: Number.NEGATIVE_INFINITY }],
    ["a bigint", 10n],
    ["a function", () => 1],
    ["a symbol", Symbol("s")],
    ["a '__proto__' own key (as JSON.parse makes)", JSON.parse('{"ok": 1, "__proto__": 2}') as unknown],
    ["a nested '__proto__' own key", [JSON.parse('{"__proto__": {}}') as unknown]],
    ["nesting deeper than MAX_CBOR_DEPTH", nestedArrays(MAX_CBOR_DEPTH + 1)],
    ["map nesting deeper than MAX_CBOR_DEPTH", nestedMaps(MAX_CBOR_DEPTH + 1)],
  ];
  for (const [what, v] of bad) {
    it(what, () => assert.throws(() => encodeCanonical(v as CborValue), CborEncodeError));
  }
});

// ---------------------------------------------------------------- properties

const cborValue = cborValueArbitrary({ maxDepth: 8, maxTextLength: 12 });

/** The same value with every map's keys inserted in reverse order. */
function reverseKeys(v: CborValue): CborValue {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  const out: CborMap = {};
  for (const k of Object.keys(v).reverse()) out[k] = reverseKeys(v[k] as CborValue);
  return out;
}

/** Every finite half-precision value that is not a whole number. */
const HALF_VALUES = new Set<number>();
for (let bits = 0; bits < 0x10000; bits++) {
  if (((bits >> 10) & 0x1f) === 31) continue;
  const b = Buffer.alloc(3);
  b[0] = 0xf9;
  b.writeUInt16BE(bits, 1);
  const r = decodeStrict(b);
  if (r.ok && !Number.isInteger(r.value)) HALF_VALUES.add(r.value as number);
}

describe("canonical CBOR: properties", () => {
  it("decodeStrict(encodeCanonical(v)) equals v, re-encodes to the same bytes, and cbor-x reads the same value", () => {
    fc.assert(
      fc.property(cborValue, (v) => {
        const bytes = encodeCanonical(v);
        const r = decodeStrict(bytes);
        assert.ok(r.ok, r.ok ? "" : r.reason);
        assert.deepEqual(plain(r.value), v);
        assert.ok(encodeCanonical(r.value).equals(bytes));
        assert.deepEqual(plain(cborx.decode(bytes)), v);
      }),
      { numRuns: 400 },
    );
  });

  it("map key insertion order never changes the bytes", () => {
    fc.assert(
      fc.property(cborValue, (v) => {
        assert.ok(encodeCanonical(reverseKeys(v)).equals(encodeCanonical(v)));
      }),
      { numRuns: 200 },
    );
  });

  it("integers take the head whose size their magnitude needs", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        const bytes = encodeCanonical(v);
        const m = v >= 0 ? v : -1 - v;
        const size = m < 24 ? 1 : m < 2 ** 8 ? 2 : m < 2 ** 16 ? 3 : m < 2 ** 32 ? 5 : 9;
        assert.equal(bytes.length, size);
        assert.equal(bytes[0]! >> 5, v >= 0 ? 0 : 1);
      }),
      { numRuns: 500 },
    );
  });

  it("non-integer numbers take the shortest float form that holds them exactly", () => {
    const nonInteger = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.float({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(...[...HALF_VALUES].slice(0, 2000)),
    ).filter((d) => !Number.isInteger(d));
    fc.assert(
      fc.property(nonInteger, (d) => {
        const bytes = encodeCanonical(d);
        const expected = HALF_VALUES.has(d) ? 0xf9 : Math.fround(d) === d ? 0xfa : 0xfb;
        assert.equal(bytes[0], expected, `${d} encoded as ${hex(bytes)}`);
        assert.equal(decoded(bytes), d);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodeStrict never throws, and what it accepts re-encodes stably", () => {
    const mutated = fc
      .tuple(cborValue, fc.nat(), fc.integer({ min: 1, max: 255 }))
      .map(([v, at, xor]) => {
        const b = Uint8Array.from(encodeCanonical(v));
        b[at % b.length] = (b[at % b.length] as number) ^ xor;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 48 }), mutated), (bytes) => {
        const r = decodeStrict(bytes);
        if (!r.ok) return;
        const once = encodeCanonical(r.value);
        const again = decodeStrict(once);
        assert.ok(again.ok);
        assert.ok(encodeCanonical(again.value).equals(once));
      }),
      { numRuns: 1000 },
    );
  });
});
