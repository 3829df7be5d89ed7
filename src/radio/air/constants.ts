/**
 * Protocol numbers and defaults of the air framing, each with the reason it
 * has the value it has. A LoRa frame of 254 bytes takes ~1.3 s at SF9/125 kHz,
 * so every byte here is paid for in airtime (~4.5 ms a byte at SF9).
 */
import { AUTHOR_SHORT_BYTES } from "../../engine/constants.js";

/** Version of the air frame format; the first byte of every frame. A station drops other versions unread. */
export const AIR_VERSION = 1;

/**
 * Bytes of the clear header: version (1) + network id (2, big-endian) +
 * type (1) + sender station id (4). The version and network id come first so
 * a station drops foreign traffic after reading three bytes, before any
 * integrity or crypto work.
 */
export const HEADER_BYTES = 8;

/**
 * Offsets inside the header. The sender is the station whose content the
 * frame carries: a fragment re-sent to answer a nack is the original frame,
 * byte for byte, so its sender is the origin even when another station
 * transmitted it.
 */
export const OFFSET = { version: 0, network: 1, type: 3, sender: 4 } as const;

/** Bytes of the sender station id: the site's author short tag (unique among members, see AUTHOR_SHORT_BYTES). */
export const STATION_ID_BYTES = AUTHOR_SHORT_BYTES;

/** Largest network id: it travels in 2 bytes (65 536 networks; a clash only costs a failed CRC/tag check). */
export const MAX_NETWORK_ID = 0xffff;

/**
 * Bit 7 of the type byte: the frame is sealed (AEAD). Kept in the clear so a
 * station that requires sealing refuses unsealed frames without guessing.
 */
export const SEALED_FLAG = 0x80;

/** Bits 0-6 of the type byte: the frame kind (room for 127 kinds). */
export const KIND_MASK = 0x7f;

/** Frame kinds (the low 7 bits of the type byte). 0 is never sent, so a zeroed frame is a bad type. */
export const FRAME_KIND = {
  /** A whole sync message. */
  message: 1,
  /** One fragment of a sync message too long for one frame. */
  fragment: 2,
  /** A re-request of missing fragments of someone's message. */
  nack: 3,
} as const;

/** Unsealed integrity check: CRC-32 (IEEE, as zlib) over header + payload, big-endian, at the end. */
export const CRC_BYTES = 4;

/**
 * Bytes of the per-frame nonce counter carried in sealed frames. The 12-byte
 * ChaCha20-Poly1305 nonce is sender id (4, from the header) + this counter (8).
 * The counter starts at a random 64-bit value per process and increments per
 * frame, so within a process it never repeats, and two runs of one station
 * collide only if their random starts fall within one run's frame count of
 * each other: with N frames a run (a year at 1 % duty cycle is < 10^6 frames)
 * and R runs, the chance is below R²·N / 2^64 ≈ 5·10^-8 even for R = 1000.
 * Six bytes would make that 65 536 times likelier (~3·10^-3): not worth 2 bytes.
 */
export const NONCE_COUNTER_BYTES = 8;

/** Bytes of the ChaCha20-Poly1305 nonce (RFC 8439). */
export const NONCE_BYTES = STATION_ID_BYTES + NONCE_COUNTER_BYTES;

/**
 * Bytes of the Poly1305 tag kept (node allows truncation; the first 8 bytes of
 * the full tag). A forger succeeds with chance ~2^-64 per try, and the channel
 * allows at most a few thousand tries an hour; the events inside are also
 * Ed25519-signed, so the tag guards confidentiality and drops foreign frames,
 * not the data's authenticity. Eight bytes saved per frame is ~3 % of airtime.
 */
export const TAG_BYTES = 8;

/** Bytes of the configured network key (ChaCha20 key size). */
export const NETWORK_KEY_BYTES = 32;

/** HKDF info string: the frame key is derived from the configured key, so the key can later serve other uses. */
export const FRAME_KEY_INFO = "meshlogd/air-frame-key/v1";

/** Prefix hashed with the network name for its id, so the id cannot be confused with any other hash of the name. */
export const NETWORK_ID_CONTEXT = "meshlogd/network-id/v1:";

/** Unsealed frame overhead: header + CRC-32. */
export const UNSEALED_OVERHEAD = HEADER_BYTES + CRC_BYTES;

/** Sealed frame overhead: header + nonce counter + tag. */
export const SEALED_OVERHEAD = HEADER_BYTES + NONCE_COUNTER_BYTES + TAG_BYTES;

/** Fragment header: message id (2, big-endian) + index (1) + count (1). */
export const FRAGMENT_HEADER_BYTES = 4;

/**
 * CRC-32 of the whole message, appended before splitting (so it rides in the
 * last fragment). It catches a message stitched from fragments of two
 * messages that shared an id (the 16-bit id wrapped, or the sender restarted),
 * which no per-frame check can see. 4 bytes per fragmented message, < 1 %.
 */
export const MESSAGE_CHECK_BYTES = 4;

/** Most fragments of one message: the count is one byte, which bounds the largest message. */
export const MAX_FRAGMENTS = 255;

/** Message ids are 16-bit per sender; a sender has far fewer than 65 536 messages in flight. */
export const MESSAGE_ID_MODULUS = 0x10000;

/** Nack body before the bitmap: origin station id (4) + message id (2) + count (1). */
export const NACK_FIXED_BYTES = STATION_ID_BYTES + 2 + 1;

/**
 * The wait before a repeated nack doubles per nack sent, at most this many
 * times (32 × stallMs, ~2 min at SF9): long enough to outlast a sender held
 * by its duty-cycle budget without letting a stalled message idle for hours.
 */
export const NACK_BACKOFF_MAX_DOUBLINGS = 5;

/**
 * Nacks for a partial message whose first fragment is missing: without it the
 * station cannot tell whether it needs the message, and a sender that knows it
 * does not need it stays silent; two nacks ride out one lost nack or re-send.
 */
export const NACKS_WITHOUT_FIRST = 2;

/** Default frame size: one LoRa packet through an RNode (255 minus the firmware's own header byte). */
export const DEFAULT_MTU = 254;

/** Smallest frame size accepted: a sealed nack naming 255 fragments (8 + 8 + 7 + 32 + 8 = 63 bytes) must fit. */
export const MIN_MTU = 64;

/** Largest frame size accepted: the RNode host MTU (two LoRa packets; works, but doubles loss exposure). */
export const MAX_MTU = 508;
