/**
 * The protocol framing on air: sync messages in radio frames of at most one
 * LoRa packet (254 bytes through an RNode, whose firmware adds its own byte).
 * A 254-byte frame takes ~1.3 s at SF9/125 kHz, ~4.5 ms a byte, so each
 * byte of overhead below is there for a reason.
 *
 * Frame (frame.ts), big-endian:
 *
 *   byte 0     version (1)        AIR_VERSION; other versions dropped unread
 *   bytes 1-2  network id (2)     networkIdFromName; foreign frames dropped before any crypto
 *   byte 3     type (1)           bit 7 = sealed, bits 0-6 = kind (1 message, 2 fragment, 3 nack)
 *   bytes 4-7  sender (4)         station id = the site's author short tag; keys reassembly, builds the nonce
 *   unsealed:  body | CRC-32 (4) over header + body            → 12 bytes overhead, 242 payload
 *   sealed:    counter (8) | ChaCha20(body) | Poly1305 tag (8)  → 24 bytes overhead, 230 payload
 *
 * Sealed frames authenticate the header as associated data and use nonce =
 * sender (4) ‖ counter (8); the counter starts at a random 64-bit value per
 * process and increments per frame (constants.ts argues why that never
 * repeats a nonce in practice). The version, network id and type stay clear
 * so a station drops foreign or unsealed frames cheaply; nothing of a record
 * is readable. The tag is truncated to 8 bytes (node allows it; forgery
 * ~2^-64 per try on a channel that allows thousands of tries an hour, and the
 * events inside carry Ed25519 signatures anyway).
 *
 * Fragment body (fragments.ts): message id (2) index (1) count (1) | chunk,
 * so 4 more bytes per fragment (238 unsealed / 226 sealed bytes of chunk).
 * The chunks carry message ‖ CRC-32(message): 4 bytes per fragmented message,
 * which catches fragments of two messages that shared an id (id wrap, sender
 * restart), which no per-frame check can see, sealed or not. At most 255
 * fragments: the largest message is 60 686 bytes unsealed, 57 626 sealed.
 *
 * Nack body: origin (4) message id (2) count (1) | bitmap of missing
 * fragments (ceil(count / 8)). A stalled partial is nacked after a randomized
 * wait; a nack overheard that asks for all we miss postpones ours; the origin
 * re-sends at once, others holding the message after a random delay, and a
 * re-send overheard strikes the same fragment from everyone else's queue.
 * Re-sent frames are the original bytes, so they stay valid under the
 * origin's seal.
 *
 * Reassembly is bounded per sender, overall, and in bytes (a partial reserves
 * its worst case on admission), partials that stop growing expire, and every
 * frame received is either decoded or counted as dropped by reason.
 */
export { createAirCodec, type AirCodec, type AirCodecOptions, type AirReceiveResult, type AirUsage } from "./codec.js";
export {
  DEFAULT_MTU, FRAGMENT_HEADER_BYTES, MESSAGE_CHECK_BYTES, SEALED_OVERHEAD, UNSEALED_OVERHEAD,
} from "./constants.js";
export { NetworkKeyError, generateNetworkKey, networkIdFromName, parseNetworkKey } from "./network-key.js";
export { DEFAULT_LIMITS, DEFAULT_TIMING, type AirLimits, type AirTiming } from "./options.js";
export type { AirDropReason, AirStats, PartialDropReason } from "./stats.js";
