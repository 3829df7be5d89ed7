/**
 * Hostile input for radio tests, from a seeded source so a failure replays:
 * frame edits (bit flips, truncation, extension, header fields rewritten with
 * the CRC fixed up), structural edits of real sync messages (any node of the
 * decoded CBOR tree replaced, removed or duplicated) and CBOR bombs (deep
 * nesting, lengths that promise gigabytes, indefinite lengths, tags).
 */
import { crc32 } from "node:zlib";
import { CborEncodeError, decodeStrict, encodeCanonical, isCborMap, type CborValue } from "../../src/engine/cbor.js";
import { seededRandom } from "../../src/engine/random.js";
import { CRC_BYTES, OFFSET, SEALED_FLAG, STATION_ID_BYTES } from "../../src/radio/air/constants.js";

/** A seeded source of choices. */
export interface Fuzz {
  readonly rng: () => number;
  /** Uniform in 0..n-1. */
  int(n: number): number;
  bytes(n: number): Uint8Array;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function fuzzSource(seed: number): Fuzz {
  const rng = seededRandom(seed);
  const int = (n: number): number => Math.floor(rng() * n);
  return {
    rng, int,
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T,
    chance: (p) => rng() < p,
  };
}

/** True for a frame built unsealed (the sealed flag clear in its type byte). */
export function isUnsealed(frame: Uint8Array): boolean {
  return ((frame[OFFSET.type] ?? 0) & SEALED_FLAG) === 0;
}

/** The frame with its trailing CRC-32 recomputed over everything before it (for unsealed frames). */
export function fixCrc(frame: Uint8Array): Uint8Array {
  const out = Buffer.from(frame);
  if (out.length < CRC_BYTES) return out;
  const end = out.length - CRC_BYTES;
  out.writeUInt32BE(crc32(out.subarray(0, end)), end);
  return new Uint8Array(out);
}

export interface HeaderEdit {
  readonly version?: number;
  readonly network?: number;
  readonly type?: number;
  readonly sender?: Uint8Array;
}

/** The frame with header fields rewritten; an unsealed frame's CRC is fixed up, so only the edit is wrong. */
export function editHeader(frame: Uint8Array, edit: HeaderEdit): Uint8Array {
  const out = Buffer.from(frame);
  if (edit.version !== undefined) out[OFFSET.version] = edit.version;
  if (edit.network !== undefined) out.writeUInt16BE(edit.network, OFFSET.network);
  if (edit.type !== undefined) out[OFFSET.type] = edit.type;
  if (edit.sender) out.set(edit.sender.subarray(0, STATION_ID_BYTES), OFFSET.sender);
  return isUnsealed(frame) ? fixCrc(out) : new Uint8Array(out);
}

/** `bytes` with 1..most distinct bits flipped (never the same bit twice, so the result always differs). */
export function flipBits(f: Fuzz, bytes: Uint8Array, most = 8): Uint8Array {
  const out = Uint8Array.from(bytes);
  if (out.length === 0) return out;
  const bits = new Set<number>();
  const k = 1 + f.int(Math.min(most, out.length * 8));
  while (bits.size < k) bits.add(f.int(out.length * 8));
  for (const bit of bits) out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

export function truncate(f: Fuzz, bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, f.int(bytes.length));
}

export function extend(f: Fuzz, bytes: Uint8Array, most = 40): Uint8Array {
  return Buffer.concat([bytes, f.bytes(1 + f.int(most))]);
}

/** What `encode` returns, or undefined when it met a value outside the encoder's data model (too deep). */
export function attemptEncode<T>(encode: () => T): T | undefined {
  try {
    return encode();
  } catch (err) {
    if (err instanceof CborEncodeError) return undefined;
    throw err;
  }
}

/** Values a mutated node may become: edges of every type the decoders check. */
function oddValue(f: Fuzz, like: CborValue): CborValue {
  const same = like instanceof Uint8Array ? flipBits(f, like, 3) : typeof like === "number" ? like + f.pick([-1, 1, 2 ** 31, -(2 ** 31)]) : null;
  return f.pick<CborValue>([
    same, 0, 1, -1, 255, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5, 1e300, true, null, "", "x".repeat(f.int(300)),
    f.bytes(f.pick([0, 4, 8, 16, 32, 64])), [], {}, { "=": 0 }, { "#h": f.bytes(16) }, [[[[[[[[[[[[[[0]]]]]]]]]]]]]],
  ]);
}

/** `v` with one node of its tree replaced, removed or duplicated (chosen uniformly among the nodes). */
export function mutateValue(f: Fuzz, v: CborValue): CborValue {
  let count = 0;
  const countNodes = (x: CborValue): void => {
    count++;
    if (Array.isArray(x)) x.forEach(countNodes);
    else if (isCborMap(x)) Object.values(x).forEach(countNodes);
  };
  countNodes(v);
  let target = f.int(count);
  const walk = (x: CborValue): CborValue => {
    if (target-- === 0) return oddValue(f, x);
    if (Array.isArray(x)) {
      const out: CborValue[] = [];
      for (const item of x) {
        const hit = target === 0 && f.chance(0.3);
        const next = walk(item);
        if (hit && f.chance(0.5)) continue; // removed
        out.push(next);
        if (hit) out.push(next); // duplicated
      }
      return out;
    }
    if (isCborMap(x)) return Object.fromEntries(Object.entries(x).map(([k, item]) => [k, walk(item)]));
    return x;
  };
  return walk(v);
}

/** A real message edited: structurally (decoded, one node changed, re-encoded) or as bytes. */
export function mutateMessage(f: Fuzz, message: Uint8Array): Uint8Array {
  const d = decodeStrict(message);
  if (d.ok && f.chance(0.7)) {
    const edited = attemptEncode(() => encodeCanonical(mutateValue(f, d.value)));
    if (edited) return edited;
  }
  switch (f.int(3)) {
    case 0:
      return flipBits(f, message);
    case 1:
      return truncate(f, message);
    default:
      return extend(f, message);
  }
}

/** A head of major type `major` announcing `n` (up to 2^64-1) items or bytes. */
function head(major: number, n: bigint): Uint8Array {
  const out = Buffer.alloc(9);
  out[0] = (major << 5) | 27;
  out.writeBigUInt64BE(n, 1);
  return out;
}

/** `depth` copies of `unit` (one level of nesting each), closed by a 0. */
function nested(unit: readonly number[], depth: number): Uint8Array {
  const out = Buffer.alloc(depth * unit.length + 1);
  for (let i = 0; i < depth; i++) out.set(unit, i * unit.length);
  return out;
}

/**
 * Bytes that try to make a CBOR decoder allocate, recurse or loop: nesting
 * thousands deep, lengths far beyond the input, indefinite lengths, tags,
 * reserved and non-finite simple values. Half are wrapped in an events
 * message header so the bomb sits where an item belongs. Built once; `pick`
 * returns one (at most `maxBytes` long).
 */
export function createCborBombs(maxBytes: number): (f: Fuzz, shorts: readonly Uint8Array[]) => Uint8Array {
  const depths = [17, 18, 64, 240, 5_000, 50_000].map((d) => Math.min(d, Math.floor((maxBytes - 16) / 3)));
  const bombs: Uint8Array[] = [
    ...depths.map((d) => nested([0x81], d)),
    ...depths.map((d) => nested([0xa1, 0x61, 0x6b], d)),
    ...[2, 3, 4, 5].flatMap((major) => [0xffffffffffffffffn, 0x1fffffffffffffn, 0xffffffffn, 4097n, 4096n].map((n) => head(major, n))),
    Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff, 0x00),
    Uint8Array.of(0x5a, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02),
    Uint8Array.of(0x9f, 0x01, 0x02, 0xff),
    Uint8Array.of(0x5f, 0x41, 0x00, 0xff),
    Uint8Array.of(0xc1, 0x1a, 0x5e, 0xed, 0x00, 0x00),
    ...[0xf7, 0xf0, 0xf8, 0xfc, 0xff].map((b) => Uint8Array.of(b, 0x20)),
    Uint8Array.of(0xf9, 0x7e, 0x00),
    Uint8Array.of(0xfb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0),
    Uint8Array.of(0x1c),
    Uint8Array.of(0xa2, 0x61, 0x61, 0x00, 0x61, 0x61, 0x01),
    Uint8Array.of(0xa1, 0x69, ...Buffer.from("__proto__"), 0xa0),
    Uint8Array.of(0x62, 0xc3, 0x28),
    Buffer.concat([Uint8Array.of(0x99, 0x10, 0x00), Buffer.alloc(Math.min(4096, maxBytes - 16), 0x80)]),
  ];
  return (f, shorts) => {
    const bomb = f.pick(bombs);
    if (f.chance(0.5)) return bomb.subarray(0, maxBytes);
    // [1, 4, short, 1, [bomb]]: an events message whose one item is the bomb.
    const short = f.chance(0.5) ? f.pick(shorts) : f.bytes(4);
    return Buffer.concat([Uint8Array.of(0x85, 0x01, 0x04, 0x44), short, Uint8Array.of(0x01, 0x81), bomb]).subarray(0, maxBytes);
  };
}
