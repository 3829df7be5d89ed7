/** fast-check generators shared by the property tests. */
import fc from "fast-check";
import type { CborMap, CborValue } from "../../src/engine/cbor.js";

const normalizeZero = (d: number): number => (Object.is(d, -0) ? 0 : d);

/** Values of the CBOR data model: text, safe ints, finite floats (no -0), bools, null, bytes, arrays, text-keyed maps. */
export function cborValueArbitrary(options: { maxDepth: number; maxTextLength: number }): fc.Arbitrary<CborValue> {
  return fc.letrec<{ value: CborValue; leaf: CborValue; array: CborValue[]; map: CborMap }>((tie) => ({
    value: fc.oneof({ depthSize: "small", maxDepth: options.maxDepth, withCrossShrink: true }, tie("leaf"), tie("array"), tie("map")),
    leaf: fc.oneof(
      fc.string({ unit: "binary", maxLength: options.maxTextLength }),
      fc.string({ maxLength: options.maxTextLength + 10 }),
      fc.maxSafeInteger(),
      fc.integer({ min: -300, max: 300 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(normalizeZero),
      fc.float({ noNaN: true, noDefaultInfinity: true }).map(normalizeZero),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 24 }),
    ),
    array: fc.array(tie("value"), { maxLength: 5 }),
    map: fc.dictionary(
      fc.string({ unit: "binary", maxLength: 8 }).filter((k) => k !== "__proto__"),
      tie("value"),
      { maxKeys: 6, noNullPrototype: true },
    ),
  })).value;
}
