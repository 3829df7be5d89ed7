/**
 * Chunks of a bundle (layout in bundle-format.ts): the exporter's assembler
 * packs encoded events into framed, compressed and sealed chunks; the
 * importer's opener turns a chunk payload back into encoded events. Both are
 * pure and synchronous; the files' I/O lives in export-bundle.ts and
 * bundle-reader.ts.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import {
  CHUNK_FINAL, CHUNK_HEAD_BYTES, CHUNK_KEY_INFO, CHUNK_TARGET_BYTES, EVENT_LENGTH_BYTES, MAX_CHUNK_BYTES, MAX_ENCODED_EVENT_BYTES,
  SEAL_TAG_BYTES, type BundleCompression,
} from "./bundle-format.js";

/** Bytes of a network key (a ChaCha20 key), as the config's parseNetworkKey returns it. */
export const NETWORK_KEY_BYTES = 32;

const CIPHER = "chacha20-poly1305";
/** ChaCha20-Poly1305 nonce (RFC 8439): 11 bytes of chunk index, 1 byte final flag. */
const NONCE_BYTES = 12;

/** deflate level: 1 keeps export fast; survey events compress mostly from repeated field names, which level 1 finds. */
const DEFLATE_LEVEL = 1;

/** The key that seals one bundle's chunks (see bundle-format.ts). Throws RangeError on a key that is not 32 bytes. */
export function deriveChunkKey(networkKey: Uint8Array, preambleHash: Uint8Array): Buffer {
  if (networkKey.length !== NETWORK_KEY_BYTES) {
    throw new RangeError(`network key must be ${NETWORK_KEY_BYTES} bytes, got ${networkKey.length}`);
  }
  return Buffer.from(hkdfSync("sha256", networkKey, preambleHash, CHUNK_KEY_INFO, NETWORK_KEY_BYTES));
}

function nonceOf(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(NONCE_BYTES);
  n.writeUInt32BE(Math.floor(index / 0x100000000), 3);
  n.writeUInt32BE(index >>> 0, 7);
  n[11] = final ? 1 : 0;
  return n;
}

/** How a bundle's chunks are packed: the chunk key (null: unsealed) and the compression. */
export interface ChunkCodec {
  readonly key: Buffer | null;
  readonly compression: BundleCompression;
}

/** Frames chunk `index`: flags, length, and the compressed (and sealed) plain bytes. */
export function frameChunk(codec: ChunkCodec, index: number, final: boolean, plain: Buffer): Buffer {
  const packed = codec.compression === "deflate-raw" ? deflateRawSync(plain, { level: DEFLATE_LEVEL }) : plain;
  let payload = packed;
  if (codec.key) {
    const cipher = createCipheriv(CIPHER, codec.key, nonceOf(index, final), { authTagLength: SEAL_TAG_BYTES });
    payload = Buffer.concat([cipher.update(packed), cipher.final(), cipher.getAuthTag()]);
  }
  const head = Buffer.alloc(CHUNK_HEAD_BYTES);
  head[0] = final ? CHUNK_FINAL : 0;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Gathers encoded events into chunks of about CHUNK_TARGET_BYTES. */
export interface ChunkAssembler {
  /** Adds one encoded event; returns the previous chunk, framed, when this event did not fit in it. */
  add(event: Uint8Array): Buffer | null;
  /** The last chunk, framed and flagged final (empty if no event was added since the previous chunk). */
  finish(): Buffer;
  /** Chunks framed so far. */
  readonly chunks: number;
}

export function createChunkAssembler(codec: ChunkCodec, targetBytes = CHUNK_TARGET_BYTES): ChunkAssembler {
  let parts: Uint8Array[] = [];
  let size = 0;
  let index = 0;
  const close = (final: boolean): Buffer => {
    const framed = frameChunk(codec, index++, final, Buffer.concat(parts, size));
    parts = [];
    size = 0;
    return framed;
  };
  return {
    add(event) {
      if (event.length > MAX_ENCODED_EVENT_BYTES) throw new RangeError(`an encoded event of ${event.length} bytes exceeds ${MAX_ENCODED_EVENT_BYTES}`);
      const out = size > 0 && size + EVENT_LENGTH_BYTES + event.length > targetBytes ? close(false) : null;
      const len = Buffer.alloc(EVENT_LENGTH_BYTES);
      len.writeUInt32BE(event.length);
      parts.push(len, event);
      size += EVENT_LENGTH_BYTES + event.length;
      return out;
    },
    finish: () => close(true),
    get chunks() {
      return index;
    },
  };
}

/** Why a chunk's payload did not give events: "sealed-tag" (wrong key or altered), "inflate" or "framing" (malformed plain bytes). */
export type ChunkOpenFailure = "sealed-tag" | "inflate" | "framing";

export type ChunkOpenResult = { ok: true; events: Buffer[] } | { ok: false; reason: ChunkOpenFailure };

/** Unseals, inflates and splits chunk `index`'s payload into encoded events. Never throws on bad input. */
export function openChunk(codec: ChunkCodec, index: number, final: boolean, payload: Buffer): ChunkOpenResult {
  let packed = payload;
  if (codec.key) {
    if (payload.length < SEAL_TAG_BYTES) return { ok: false, reason: "sealed-tag" };
    const at = payload.length - SEAL_TAG_BYTES;
    const decipher = createDecipheriv(CIPHER, codec.key, nonceOf(index, final), { authTagLength: SEAL_TAG_BYTES });
    decipher.setAuthTag(payload.subarray(at));
    try {
      packed = Buffer.concat([decipher.update(payload.subarray(0, at)), decipher.final()]);
    } catch {
      return { ok: false, reason: "sealed-tag" };
    }
  }
  let plain = packed;
  if (codec.compression === "deflate-raw") {
    try {
      plain = inflateRawSync(packed, { maxOutputLength: MAX_CHUNK_BYTES });
    } catch {
      return { ok: false, reason: "inflate" }; // corrupt stream, or one that inflates beyond a chunk (a deflate bomb)
    }
  }
  const events = splitEvents(plain);
  return events ? { ok: true, events } : { ok: false, reason: "framing" };
}

/** The length-prefixed events of a chunk's plain bytes, or null if the lengths do not tile it exactly. */
function splitEvents(plain: Buffer): Buffer[] | null {
  const events: Buffer[] = [];
  let at = 0;
  while (at < plain.length) {
    if (at + EVENT_LENGTH_BYTES > plain.length) return null;
    const len = plain.readUInt32BE(at);
    at += EVENT_LENGTH_BYTES;
    if (len === 0 || len > MAX_ENCODED_EVENT_BYTES || at + len > plain.length) return null;
    events.push(plain.subarray(at, at + len));
    at += len;
  }
  return events;
}
