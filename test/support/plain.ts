/**
 * Decoders' output as plain data-model values, for deep equality: cbor-x
 * returns 64-bit integers as bigint, and both it and decodeStrict return byte
 * strings as Buffers (a Uint8Array subclass that deepStrictEqual tells apart).
 */
import assert from "node:assert/strict";
import type { CborValue } from "../../src/engine/cbor.js";

export function plain(x: unknown): CborValue {
  if (typeof x === "bigint") {
    assert.ok(x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER), `bigint ${x} beyond the safe range`);
    return Number(x);
  }
  if (x instanceof Uint8Array) return new Uint8Array(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === "object") {
    assert.equal(Object.getPrototypeOf(x), Object.prototype, "a decoded map is not a plain object");
    const out: { [k: string]: CborValue } = {};
    for (const [k, v] of Object.entries(x)) out[k] = plain(v);
    return out;
  }
  assert.ok(x === null || ["boolean", "number", "string"].includes(typeof x), `unexpected ${typeof x} in a decoded value`);
  return x as CborValue;
}
