/**
 * Frames for running the seed prototype's messages over a Link of small MTU.
 * The prototype hands whole messages to Reticulum, which sends a large one
 * as an RNS Resource (segments with hashes, a proof, link encryption, and at
 * least Reticulum's 19-byte packet header on every packet). Here a message is
 * instead cut into frames with the least a shared channel needs, so the
 * comparison is generous to the prototype:
 *
 *   dest (1) | src (1) | message id (2, BE) | index (2, BE) | count (2, BE) | body
 *
 * `count` is the number of frames of the message; an announce ("I am src",
 * how the stations learn who they can reach) is a lone header with count 0
 * sent to SEED_BROADCAST. No acknowledgements or retransmissions: a message
 * with a lost frame is lost, and the next gossip round repairs it.
 */

/** Bytes of header on every frame. */
export const SEED_FRAME_HEADER_BYTES = 8;
/** The destination every station accepts. */
export const SEED_BROADCAST = 0xff;
/** Largest station address (one byte; 0xff is broadcast). */
export const SEED_MAX_ADDRESS = 0xfe;
const MAX_U16 = 0xffff;
/** Partial messages a reassembler keeps before dropping the oldest (a lost frame leaves one behind forever). */
const MAX_PARTIAL_MESSAGES = 32;

/** One decoded frame. */
export interface SeedFrame {
  readonly dest: number;
  readonly src: number;
  readonly messageId: number;
  /** 0-based position of this frame in its message. */
  readonly index: number;
  /** Frames in the message; 0 for an announce. */
  readonly count: number;
  readonly body: Uint8Array;
}

function header(dest: number, src: number, messageId: number, index: number, count: number): Uint8Array {
  const h = new Uint8Array(SEED_FRAME_HEADER_BYTES);
  const v = new DataView(h.buffer);
  v.setUint8(0, dest);
  v.setUint8(1, src);
  v.setUint16(2, messageId);
  v.setUint16(4, index);
  v.setUint16(6, count);
  return h;
}

/**
 * The frames of one message, each at most `mtu` bytes.
 * @throws RangeError if `mtu` leaves no room for a body or the message needs more than 65,535 frames.
 */
export function encodeSeedFrames(dest: number, src: number, messageId: number, message: Uint8Array, mtu: number): Uint8Array[] {
  const room = mtu - SEED_FRAME_HEADER_BYTES;
  if (room < 1) throw new RangeError(`an mtu of ${mtu} bytes leaves no room after the ${SEED_FRAME_HEADER_BYTES}-byte seed frame header`);
  const count = Math.max(1, Math.ceil(message.length / room));
  if (count > MAX_U16) throw new RangeError(`a ${message.length}-byte message needs ${count} frames, more than a seed frame can number`);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const body = message.subarray(i * room, (i + 1) * room);
    const frame = new Uint8Array(SEED_FRAME_HEADER_BYTES + body.length);
    frame.set(header(dest, src, messageId & MAX_U16, i, count));
    frame.set(body, SEED_FRAME_HEADER_BYTES);
    frames.push(frame);
  }
  return frames;
}

/** The announce frame of station `src`. */
export function encodeSeedAnnounce(src: number): Uint8Array {
  return header(SEED_BROADCAST, src, 0, 0, 0);
}

/** A frame's parts, or undefined for bytes that are not a seed frame. */
export function decodeSeedFrame(bytes: Uint8Array): SeedFrame | undefined {
  if (bytes.length < SEED_FRAME_HEADER_BYTES) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frame = {
    dest: v.getUint8(0),
    src: v.getUint8(1),
    messageId: v.getUint16(2),
    index: v.getUint16(4),
    count: v.getUint16(6),
    body: bytes.subarray(SEED_FRAME_HEADER_BYTES),
  };
  const announce = frame.count === 0 && frame.index === 0 && frame.body.length === 0;
  return announce || frame.index < frame.count ? frame : undefined;
}

interface Partial {
  readonly parts: (Uint8Array | undefined)[];
  have: number;
}

/** Puts messages back together from frames in any order; duplicates are ignored. */
export class SeedReassembler {
  private readonly partial = new Map<string, Partial>();

  /** The whole message once `frame` completes it, else undefined. */
  accept(frame: SeedFrame): Uint8Array | undefined {
    if (frame.count === 0) return undefined;
    if (frame.count === 1) return frame.body;
    const key = `${frame.src}:${frame.messageId}`;
    let p = this.partial.get(key);
    if (!p || p.parts.length !== frame.count) {
      p = { parts: new Array<Uint8Array | undefined>(frame.count), have: 0 };
      this.partial.delete(key);
      this.partial.set(key, p);
      this.evictOldest();
    }
    if (p.parts[frame.index] !== undefined) return undefined;
    p.parts[frame.index] = frame.body;
    p.have++;
    if (p.have < frame.count) return undefined;
    this.partial.delete(key);
    return Buffer.concat(p.parts as Uint8Array[]);
  }

  /** Messages still waiting for frames. */
  pending(): number {
    return this.partial.size;
  }

  private evictOldest(): void {
    if (this.partial.size <= MAX_PARTIAL_MESSAGES) return;
    const oldest = this.partial.keys().next();
    if (!oldest.done) this.partial.delete(oldest.value);
  }
}
