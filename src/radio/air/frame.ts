/**
 * One frame on air: the clear header, a body, and its integrity check.
 *
 *   unsealed: version(1) network(2) type(1) sender(4) | body | crc32(4)
 *   sealed:   version(1) network(2) type|0x80(1) sender(4) | counter(8) | ChaCha20(body) | tag(8)
 *
 * The CRC-32 covers header and body. Sealed frames use ChaCha20-Poly1305 with
 * the header as associated data and nonce = sender(4) ‖ counter(8), so any
 * change to header, counter, ciphertext or tag fails authentication.
 * `openFrame` checks in order of cost: length, version, network, sealing
 * policy, kind, then CRC or tag; it never throws.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { crc32 } from "node:zlib";
import {
  AIR_VERSION, CRC_BYTES, FRAME_KIND, HEADER_BYTES, KIND_MASK, NONCE_COUNTER_BYTES, OFFSET,
  SEALED_FLAG, SEALED_OVERHEAD, STATION_ID_BYTES, TAG_BYTES, UNSEALED_OVERHEAD,
} from "./constants.js";

export type FrameKind = keyof typeof FRAME_KIND;

/** Why a frame was dropped before its body was read. */
export type FrameDropReason =
  | "too-short" | "too-long" | "bad-version" | "foreign-network" | "bad-type"
  | "unsealed-refused" | "no-key" | "bad-integrity" | "auth-failed";

/** A frame that passed every check: its kind, its sender and the clear body. */
export interface OpenedFrame {
  readonly kind: FrameKind;
  readonly sender: Uint8Array;
  readonly body: Uint8Array;
  readonly sealed: boolean;
}

export type OpenResult = ({ ok: true } & OpenedFrame) | { ok: false; reason: FrameDropReason };

/** What the frame layer needs to know about this station and its network. */
export interface FrameConfig {
  readonly networkId: number;
  readonly stationId: Uint8Array;
  /** Derived frame key (see deriveFrameKey); null when the network has none. */
  readonly frameKey: Buffer | null;
  /** Refuse unsealed frames (needs a key). */
  readonly requireSealed: boolean;
  /** Longest frame accepted. */
  readonly mtu: number;
  /** First nonce counter value (8 random bytes); must come from a cryptographic source in production. */
  readonly nonceStart: Uint8Array;
}

/** Builds and opens frames for one station; sealed when it has a key. */
export interface FrameCodec {
  /** Bytes a frame adds around its body. */
  readonly overhead: number;
  /** The frame carrying `body`; the caller keeps the body within mtu − overhead. */
  build(kind: FrameKind, body: Uint8Array): Uint8Array;
  open(frame: Uint8Array): OpenResult;
}

const KIND_BY_CODE = new Map<number, FrameKind>(
  Object.entries(FRAME_KIND).map(([name, code]) => [code, name as FrameKind]),
);
const CIPHER = "chacha20-poly1305";
const COUNTER_MASK = (1n << BigInt(NONCE_COUNTER_BYTES * 8)) - 1n;

export function createFrameCodec(config: FrameConfig): FrameCodec {
  const { frameKey } = config;
  let counter = Buffer.from(config.nonceStart).readBigUInt64BE(0);
  const header = (kind: FrameKind, sealed: boolean): Buffer => {
    const h = Buffer.alloc(HEADER_BYTES);
    h[OFFSET.version] = AIR_VERSION;
    h.writeUInt16BE(config.networkId, OFFSET.network);
    h[OFFSET.type] = FRAME_KIND[kind] | (sealed ? SEALED_FLAG : 0);
    h.set(config.stationId, OFFSET.sender);
    return h;
  };
  const nextCounter = (): Buffer => {
    const c = Buffer.alloc(NONCE_COUNTER_BYTES);
    c.writeBigUInt64BE(counter);
    counter = (counter + 1n) & COUNTER_MASK;
    return c;
  };
  return {
    overhead: frameKey ? SEALED_OVERHEAD : UNSEALED_OVERHEAD,
    build(kind, body) {
      if (!frameKey) return withCrc(header(kind, false), body);
      return seal(frameKey, header(kind, true), nextCounter(), body);
    },
    open: (frame) => openFrame(config, frame),
  };
}

function withCrc(header: Buffer, body: Uint8Array): Uint8Array {
  const out = Buffer.alloc(header.length + body.length + CRC_BYTES);
  header.copy(out, 0);
  out.set(body, header.length);
  out.writeUInt32BE(crc32(out.subarray(0, out.length - CRC_BYTES)), out.length - CRC_BYTES);
  return out;
}

function seal(key: Buffer, header: Buffer, counter: Buffer, body: Uint8Array): Uint8Array {
  const cipher = createCipheriv(CIPHER, key, nonceOf(header, counter), { authTagLength: TAG_BYTES });
  cipher.setAAD(header, { plaintextLength: body.length });
  const encrypted = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([header, counter, encrypted, cipher.getAuthTag()]);
}

function nonceOf(header: Uint8Array, counter: Uint8Array): Buffer {
  return Buffer.concat([header.subarray(OFFSET.sender, OFFSET.sender + STATION_ID_BYTES), counter]);
}

/** Checks a received frame and returns its clear body, or why it was dropped. Never throws. */
export function openFrame(config: FrameConfig, frame: Uint8Array): OpenResult {
  if (frame.length < HEADER_BYTES) return { ok: false, reason: "too-short" };
  if (frame.length > config.mtu) return { ok: false, reason: "too-long" };
  const f = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (f[OFFSET.version] !== AIR_VERSION) return { ok: false, reason: "bad-version" };
  if (f.readUInt16BE(OFFSET.network) !== config.networkId) return { ok: false, reason: "foreign-network" };
  const type = f[OFFSET.type] ?? 0;
  const sealed = (type & SEALED_FLAG) !== 0;
  if (!sealed && config.requireSealed) return { ok: false, reason: "unsealed-refused" };
  const kind = KIND_BY_CODE.get(type & KIND_MASK);
  if (!kind) return { ok: false, reason: "bad-type" };
  const sender = new Uint8Array(f.subarray(OFFSET.sender, OFFSET.sender + STATION_ID_BYTES));
  if (!sealed) {
    if (f.length < UNSEALED_OVERHEAD) return { ok: false, reason: "too-short" };
    const end = f.length - CRC_BYTES;
    if (crc32(f.subarray(0, end)) !== f.readUInt32BE(end)) return { ok: false, reason: "bad-integrity" };
    return { ok: true, kind, sender, body: new Uint8Array(f.subarray(HEADER_BYTES, end)), sealed };
  }
  if (!config.frameKey) return { ok: false, reason: "no-key" };
  if (f.length < SEALED_OVERHEAD) return { ok: false, reason: "too-short" };
  const body = unseal(config.frameKey, f);
  return body ? { ok: true, kind, sender, body, sealed } : { ok: false, reason: "auth-failed" };
}

function unseal(key: Buffer, f: Buffer): Uint8Array | null {
  const header = f.subarray(0, HEADER_BYTES);
  const counter = f.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_COUNTER_BYTES);
  const tagAt = f.length - TAG_BYTES;
  const decipher = createDecipheriv(CIPHER, key, nonceOf(header, counter), { authTagLength: TAG_BYTES });
  decipher.setAAD(header, { plaintextLength: tagAt - HEADER_BYTES - NONCE_COUNTER_BYTES });
  decipher.setAuthTag(f.subarray(tagAt));
  const body = decipher.update(f.subarray(HEADER_BYTES + NONCE_COUNTER_BYTES, tagAt));
  try {
    decipher.final(); // throws when the tag does not match: an expected outcome here, so a value
  } catch {
    return null;
  }
  return new Uint8Array(body);
}
