/**
 * Sync messages for attachment bytes (blobs), each small enough for one air
 * frame, sealed or not:
 *
 *   blob-want  [v, 5, prefix, [from, to, from, to, …]]
 *   blob-chunk [v, 6, prefix, index, bytes]
 *
 * `prefix` is the first BLOB_PREFIX_BYTES of the blob's SHA-256 (the hash an
 * attachment event names); chunk `index` holds the bytes from
 * index × BLOB_CHUNK_BYTES on, BLOB_CHUNK_BYTES of them but for the last. A
 * want lists the chunks its sender lacks as inclusive ranges, ascending,
 * neither overlapping nor touching. Parsed strictly: anything else is a malformed message.
 */
import type { CborValue } from "../cbor.js";
import { WIRE_VERSION } from "../constants.js";
import type { RangeSet } from "./range-set.js";

/** Type numbers of the blob messages (after the event messages' 1–4). */
export const BLOB_MESSAGE_TYPE = { want: 5, chunk: 6 } as const;

/**
 * Bytes of the hash carried to name a blob: a station holds a few hundred
 * blobs at most, so a false match among them (2^-64 a pair) is negligible,
 * and one is caught anyway when the joined chunks fail the full hash.
 */
export const BLOB_PREFIX_BYTES = 8;

/**
 * Bytes of blob per chunk: a sealed 254-byte frame carries 230 bytes of
 * message (8 header, 8 nonce counter, 8 tag), and a chunk message around its
 * bytes takes at most 19 (array, version, type, 9 of prefix, 5 of index, 2 of
 * byte-string head). The same everywhere: chunk indices must agree.
 */
export const BLOB_CHUNK_BYTES = 211;

/** Most chunks of a blob: 2^20 × 211 bytes ≈ 221 MB, far above any mapping's max_bytes (16 MiB). */
export const MAX_BLOB_CHUNKS = 2 ** 20;

export interface BlobWantMessage {
  readonly type: "blob-want";
  readonly prefix: Uint8Array;
  /** Chunks lacking, as inclusive ranges, ascending and disjoint (at least one). */
  readonly ranges: RangeSet;
}

export interface BlobChunkMessage {
  readonly type: "blob-chunk";
  readonly prefix: Uint8Array;
  readonly index: number;
  readonly bytes: Uint8Array;
}

export type BlobMessage = BlobWantMessage | BlobChunkMessage;

/** The CBOR array of a blob message (the caller encodes it canonically). */
export function blobMessageArray(m: BlobMessage): CborValue[] {
  if (m.type === "blob-chunk") return [WIRE_VERSION, BLOB_MESSAGE_TYPE.chunk, m.prefix, m.index, m.bytes];
  return [WIRE_VERSION, BLOB_MESSAGE_TYPE.want, m.prefix, m.ranges.flatMap(([a, b]) => [a, b])];
}

/** Chunks a blob of `size` bytes has. */
export function chunkCount(size: number): number {
  return Math.ceil(size / BLOB_CHUNK_BYTES);
}

/** Bytes chunk `index` of a blob of `size` bytes holds. */
export function chunkLength(size: number, index: number): number {
  return Math.max(0, Math.min(BLOB_CHUNK_BYTES, size - index * BLOB_CHUNK_BYTES));
}

/**
 * The want for the first of `missing` that fit a message of `mtu` bytes
 * (a range takes at most 10 bytes; the rest are asked for next time).
 */
export function blobWantMessage(prefix: Uint8Array, missing: RangeSet, mtu: number): BlobWantMessage {
  // header: array, version, type, 9 of prefix, up to 3 of array head.
  const fit = Math.max(1, Math.floor((mtu - 15) / 10));
  return { type: "blob-want", prefix, ranges: missing.slice(0, fit) };
}

const isIndex = (v: CborValue | undefined): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v < MAX_BLOB_CHUNKS;
const isPrefix = (v: CborValue | undefined): v is Uint8Array => v instanceof Uint8Array && v.length === BLOB_PREFIX_BYTES;

/** A blob message from a decoded array whose version and type were checked; undefined when malformed. */
export function parseBlobMessage(v: readonly CborValue[]): BlobMessage | undefined {
  const [, type, prefix, a, b] = v;
  if (!isPrefix(prefix)) return undefined;
  if (type === BLOB_MESSAGE_TYPE.chunk) {
    if (v.length !== 5 || !isIndex(a) || !(b instanceof Uint8Array) || b.length === 0 || b.length > BLOB_CHUNK_BYTES) return undefined;
    return { type: "blob-chunk", prefix, index: a, bytes: b };
  }
  if (v.length !== 4 || !Array.isArray(a) || a.length === 0 || a.length % 2 !== 0) return undefined;
  const ranges: [number, number][] = [];
  let next = 0;
  for (let i = 0; i < a.length; i += 2) {
    const from = a[i];
    const to = a[i + 1];
    if (!isIndex(from) || !isIndex(to) || from < next || to < from) return undefined;
    ranges.push([from, to]);
    next = to + 2; // ranges neither overlap nor touch: a set keeps touching ones as one
  }
  return { type: "blob-want", prefix, ranges };
}
