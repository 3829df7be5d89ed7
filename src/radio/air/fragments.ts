/**
 * Bodies of fragment and nack frames, and how a message is cut into chunks.
 *
 *   fragment body: messageId(2, big-endian) index(1) count(1) | chunk
 *   nack body:     origin(4) messageId(2) count(1) | bitmap(ceil(count/8))
 *
 * A fragmented message is `message ‖ crc32(message)` cut into chunks of equal
 * size (the last may be shorter); 2 ≤ count ≤ 255 and index < count. In the
 * nack bitmap, bit i (byte i >> 3, mask 1 << (i & 7)) set means fragment i is
 * missing; bits at or past count are zero and at least one bit is set.
 * Decoders return null for anything else (a malformed body), never throw.
 */
import { crc32 } from "node:zlib";
import { FRAGMENT_HEADER_BYTES, MAX_FRAGMENTS, MESSAGE_CHECK_BYTES, NACK_FIXED_BYTES, STATION_ID_BYTES } from "./constants.js";

export interface FragmentBody {
  readonly messageId: number;
  readonly index: number;
  readonly count: number;
  readonly chunk: Uint8Array;
}

export interface NackBody {
  /** Station whose message it is. */
  readonly origin: Uint8Array;
  readonly messageId: number;
  readonly count: number;
  /** Indices of the missing fragments, ascending, non-empty, each below count. */
  readonly missing: readonly number[];
}

export function encodeFragmentBody(f: FragmentBody): Uint8Array {
  const out = Buffer.alloc(FRAGMENT_HEADER_BYTES + f.chunk.length);
  out.writeUInt16BE(f.messageId, 0);
  out[2] = f.index;
  out[3] = f.count;
  out.set(f.chunk, FRAGMENT_HEADER_BYTES);
  return out;
}

export function decodeFragmentBody(body: Uint8Array): FragmentBody | null {
  if (body.length <= FRAGMENT_HEADER_BYTES) return null; // an empty chunk carries nothing
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const index = b[2] ?? 0;
  const count = b[3] ?? 0;
  if (count < 2 || index >= count) return null; // one fragment would be a whole message
  return { messageId: b.readUInt16BE(0), index, count, chunk: body.subarray(FRAGMENT_HEADER_BYTES) };
}

export function encodeNackBody(n: NackBody): Uint8Array {
  const out = Buffer.alloc(NACK_FIXED_BYTES + Math.ceil(n.count / 8));
  out.set(n.origin, 0);
  out.writeUInt16BE(n.messageId, STATION_ID_BYTES);
  out[STATION_ID_BYTES + 2] = n.count;
  for (const i of n.missing) out[NACK_FIXED_BYTES + (i >> 3)] = (out[NACK_FIXED_BYTES + (i >> 3)] ?? 0) | (1 << (i & 7));
  return out;
}

export function decodeNackBody(body: Uint8Array): NackBody | null {
  if (body.length < NACK_FIXED_BYTES) return null;
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const count = b[STATION_ID_BYTES + 2] ?? 0;
  if (count < 2 || b.length !== NACK_FIXED_BYTES + Math.ceil(count / 8)) return null;
  const missing: number[] = [];
  for (let i = 0; i < (b.length - NACK_FIXED_BYTES) * 8; i++) {
    if (((b[NACK_FIXED_BYTES + (i >> 3)] ?? 0) & (1 << (i & 7))) === 0) continue;
    if (i >= count) return null;
    missing.push(i);
  }
  if (missing.length === 0) return null;
  return {
    origin: new Uint8Array(b.subarray(0, STATION_ID_BYTES)),
    messageId: b.readUInt16BE(STATION_ID_BYTES),
    count,
    missing,
  };
}

/** Most message bytes that fit in MAX_FRAGMENTS chunks of `chunkBytes` (the whole-message check takes the rest). */
export function maxFragmentedBytes(chunkBytes: number): number {
  return MAX_FRAGMENTS * chunkBytes - MESSAGE_CHECK_BYTES;
}

/**
 * The chunks of `message ‖ crc32(message)`, each `chunkBytes` long but the
 * last. Throws RangeError when they would be more than MAX_FRAGMENTS (a
 * programmer error: the sync layer sizes its messages).
 */
export function splitMessage(message: Uint8Array, chunkBytes: number): Uint8Array[] {
  if (message.length > maxFragmentedBytes(chunkBytes)) {
    throw new RangeError(
      `message of ${message.length} bytes exceeds the ${maxFragmentedBytes(chunkBytes)} bytes that ${MAX_FRAGMENTS} fragments carry`,
    );
  }
  const whole = Buffer.alloc(message.length + MESSAGE_CHECK_BYTES);
  whole.set(message, 0);
  whole.writeUInt32BE(crc32(message), message.length);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < whole.length; at += chunkBytes) chunks.push(whole.subarray(at, at + chunkBytes));
  return chunks;
}

/** The message the chunks carry, or null when its whole-message check fails. */
export function joinChunks(chunks: readonly Uint8Array[]): Uint8Array | null {
  const whole = Buffer.concat(chunks);
  if (whole.length < MESSAGE_CHECK_BYTES) return null;
  const end = whole.length - MESSAGE_CHECK_BYTES;
  return crc32(whole.subarray(0, end)) === whole.readUInt32BE(end) ? new Uint8Array(whole.subarray(0, end)) : null;
}

/** The key of one message in reassembly and in the resend caches: its origin and id. */
export function messageKey(origin: Uint8Array, messageId: number): string {
  return `${Buffer.from(origin).toString("hex")}/${messageId}`;
}
