/**
 * Canonical CBOR for meshlogd: RFC 8949 §4.2.1 core deterministic encoding
 * (shortest integer and float forms, definite lengths, map keys sorted by
 * their encoded bytes) over a JSON-like data model, and a strict decoder that
 * refuses anything outside it. Hostile input costs at most O(input length).
 */
import { isUtf8 } from "node:buffer";
import { MAX_CBOR_DEPTH, MAX_CBOR_ITEMS } from "./constants.js";

/** The values events and wire messages are made of. Maps have text keys; numbers are finite. */
export type CborValue = null | boolean | number | string | Uint8Array | CborValue[] | CborMap;
export interface CborMap {
  [key: string]: CborValue;
}

// ---------------------------------------------------------------- encoding

/** Appends CBOR items to a growing buffer. `value` writes any data-model value canonically. */
export class CborWriter {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  head(major: number, n: number): void {
    const m = major << 5;
    if (n < 24) {
      this.ensure(1);
      this.buf[this.pos++] = m | n;
    } else if (n < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = m | 25;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else if (n < 0x100000000) {
      this.ensure(5);
      this.buf[this.pos++] = m | 26;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    } else {
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.buf.writeUInt32BE(Math.floor(n / 0x100000000), this.pos);
      this.buf.writeUInt32BE(n >>> 0, this.pos + 4);
      this.pos += 8;
    }
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  text(s: string): void {
    const n = s.length;
    if (n < 24) {
      // Short ASCII text (the usual field name or answer) is copied byte by byte: no UTF-8 length pass.
      this.ensure(n + 1);
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[start + i] = c;
      }
      if (i === n) {
        this.buf[this.pos] = 0x60 | n;
        this.pos = start + n;
        return;
      }
    }
    const len = Buffer.byteLength(s, "utf8");
    this.head(3, len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  float(v: number): void {
    // Not exact in single precision means not in half either: skip the search.
    const half = Math.fround(v) === v ? toHalfBits(v) : undefined;
    if (half !== undefined) {
      this.ensure(3);
      this.buf[this.pos++] = 0xf9;
      this.buf.writeUInt16BE(half, this.pos);
      this.pos += 2;
    } else if (Math.fround(v) === v) {
      this.ensure(5);
      this.buf[this.pos++] = 0xfa;
      this.buf.writeFloatBE(v, this.pos);
      this.pos += 4;
    } else {
      this.ensure(9);
      this.buf[this.pos++] = 0xfb;
      this.buf.writeDoubleBE(v, this.pos);
      this.pos += 8;
    }
  }

  raw(b: Uint8Array): void {
    this.bytes(b);
  }

  /** Any data-model value, canonically (map keys sorted). */
  value(v: CborValue): void {
    writeValue(this, v, 0);
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Half-precision bits of v if v is exactly representable there, else undefined. */
function toHalfBits(v: number): number | undefined {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a > 65504) return undefined;
  if (a < 2 ** -14) {
    const m = a / 2 ** -24; // subnormal: multiples of 2^-24
    return Number.isInteger(m) ? sign | m : undefined;
  }
  let e = Math.floor(Math.log2(a));
  if (a / 2 ** e < 1) e -= 1; // log2 can round across a power of two
  else if (a / 2 ** e >= 2) e += 1;
  const m = a / 2 ** e - 1; // in [0,1)
  const mBits = m * 1024;
  if (!Number.isInteger(mBits) || e < -14 || e > 15) return undefined;
  return sign | ((e + 15) << 10) | mBits;
}

function compareKeys(a: Buffer, b: Buffer): number {
  return a.length - b.length || Buffer.compare(a, b);
}

function writeValue(w: CborWriter, v: CborValue, depth: number): void {
  if (depth > MAX_CBOR_DEPTH) throw new CborEncodeError(`nesting deeper than ${MAX_CBOR_DEPTH}`);
  if (v === null) return w.raw(SIMPLE_NULL);
  switch (typeof v) {
    case "boolean":
      return w.raw(v ? SIMPLE_TRUE : SIMPLE_FALSE);
    case "number":
      if (!Number.isFinite(v)) throw new CborEncodeError(`non-finite number ${v}`);
      if (Number.isSafeInteger(v)) return v >= 0 ? w.head(0, v) : w.head(1, -1 - v);
      return w.float(v);
    case "string":
      return w.text(v);
    case "object":
      break;
    default:
      throw new CborEncodeError(`cannot encode ${typeof v}`);
  }
  if (v instanceof Uint8Array) {
    w.head(2, v.length);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const item of v) writeValue(w, item, depth + 1);
    return;
  }
  const keys = Object.keys(v).map((k) => {
    // The decoder refuses this key (it would set a prototype): never emit bytes we cannot read back.
    if (k === "__proto__") throw new CborEncodeError(`map key "__proto__" is outside the data model`);
    return { k, enc: Buffer.from(k, "utf8") };
  });
  keys.sort((a, b) => compareKeys(a.enc, b.enc));
  w.head(5, keys.length);
  for (const { k, enc } of keys) {
    w.head(3, enc.length);
    w.bytes(enc);
    writeValue(w, (v as CborMap)[k] as CborValue, depth + 1);
  }
}

const SIMPLE_FALSE = Uint8Array.of(0xf4);
const SIMPLE_TRUE = Uint8Array.of(0xf5);
const SIMPLE_NULL = Uint8Array.of(0xf6);

/** Thrown only for programmer misuse: a value outside the data model was handed to the encoder. */
export class CborEncodeError extends Error {
  override readonly name = "CborEncodeError";
}

/** Deterministic encoding: equal values always give equal bytes. */
export function encodeCanonical(value: CborValue): Buffer {
  const w = new CborWriter();
  w.value(value);
  return w.result();
}

// ---------------------------------------------------------------- decoding

/** Why bytes were not accepted as CBOR of our data model. */
export type CborDecodeFailure =
  | "truncated"
  | "trailing-bytes"
  | "too-deep"
  | "too-many-items"
  | "unsupported-type"
  | "bad-utf8"
  | "bad-map-key"
  | "duplicate-map-key"
  | "integer-out-of-range"
  | "non-finite-float";

export type CborDecodeResult = { ok: true; value: CborValue } | { ok: false; reason: CborDecodeFailure };

class DecodeFailure {
  constructor(readonly reason: CborDecodeFailure) {}
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (n > this.buf.length - this.pos) throw new DecodeFailure("truncated");
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  /** The argument of a head; lengths and integers above 2^53-1 are refused. */
  arg(ai: number): number {
    if (ai < 24) return ai;
    if (ai === 24) return this.u8();
    if (ai === 25) {
      this.need(2);
      const v = this.buf.readUInt16BE(this.pos);
      this.pos += 2;
      return v;
    }
    if (ai === 26) {
      this.need(4);
      const v = this.buf.readUInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (ai === 27) {
      this.need(8);
      const hi = this.buf.readUInt32BE(this.pos);
      const lo = this.buf.readUInt32BE(this.pos + 4);
      this.pos += 8;
      if (hi > 0x1fffff) throw new DecodeFailure("integer-out-of-range");
      return hi * 0x100000000 + lo;
    }
    throw new DecodeFailure("unsupported-type"); // 28-30 reserved, 31 indefinite length
  }

  take(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function readValue(r: Reader, depth: number): CborValue {
  if (depth > MAX_CBOR_DEPTH) throw new DecodeFailure("too-deep");
  const ib = r.u8();
  const major = ib >> 5;
  const ai = ib & 31;
  switch (major) {
    case 0:
      return r.arg(ai);
    case 1: {
      const n = r.arg(ai);
      if (n >= Number.MAX_SAFE_INTEGER) throw new DecodeFailure("integer-out-of-range"); // -1-n below -(2^53-1)
      return -1 - n;
    }
    case 2:
      return new Uint8Array(r.take(r.arg(ai))); // a plain copy: never a view that pins the input buffer
    case 3: {
      const b = r.take(r.arg(ai));
      if (!isUtf8(b)) throw new DecodeFailure("bad-utf8");
      return b.toString("utf8");
    }
    case 4: {
      const n = r.arg(ai);
      if (n > MAX_CBOR_ITEMS) throw new DecodeFailure("too-many-items");
      r.need(n); // every item takes at least one byte: refuses a huge length before allocating
      const out: CborValue[] = new Array<CborValue>(n);
      for (let i = 0; i < n; i++) out[i] = readValue(r, depth + 1);
      return out;
    }
    case 5: {
      const n = r.arg(ai);
      if (n > MAX_CBOR_ITEMS) throw new DecodeFailure("too-many-items");
      r.need(n * 2);
      const out: CborMap = {};
      for (let i = 0; i < n; i++) {
        const kb = r.u8();
        if (kb >> 5 !== 3) throw new DecodeFailure("bad-map-key");
        const kbytes = r.take(r.arg(kb & 31));
        if (!isUtf8(kbytes)) throw new DecodeFailure("bad-utf8");
        const key = kbytes.toString("utf8");
        if (key === "__proto__") throw new DecodeFailure("bad-map-key");
        if (Object.prototype.hasOwnProperty.call(out, key)) throw new DecodeFailure("duplicate-map-key");
        out[key] = readValue(r, depth + 1);
      }
      return out;
    }
    case 7:
      return readSimple(r, ai);
    default:
      throw new DecodeFailure("unsupported-type"); // tags (6) are outside the data model
  }
}

function readSimple(r: Reader, ai: number): CborValue {
  if (ai === 20) return false;
  if (ai === 21) return true;
  if (ai === 22) return null;
  let v: number;
  if (ai === 25) {
    v = halfToNumber(r.take(2).readUInt16BE(0));
  } else if (ai === 26) {
    v = r.take(4).readFloatBE(0);
  } else if (ai === 27) {
    v = r.take(8).readDoubleBE(0);
  } else {
    throw new DecodeFailure("unsupported-type");
  }
  if (!Number.isFinite(v)) throw new DecodeFailure("non-finite-float");
  return v;
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decodes exactly one value filling all of `bytes`. Never throws on bad input. */
export function decodeStrict(bytes: Uint8Array): CborDecodeResult {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    const value = readValue(r, 0);
    if (r.pos !== r.buf.length) return { ok: false, reason: "trailing-bytes" };
    return { ok: true, value };
  } catch (err) {
    if (err instanceof DecodeFailure) return { ok: false, reason: err.reason };
    throw err;
  }
}

/** Type guard helpers for parsing decoded values at the edge. */
export function isCborMap(v: CborValue | undefined): v is CborMap {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
