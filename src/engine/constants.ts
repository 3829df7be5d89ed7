/**
 * Engine defaults, each with the reason it has the value it has. Protocol code
 * imports these rather than repeating numbers.
 */

/** Version of the canonical event encoding; part of every event's signed bytes. */
export const EVENT_FORMAT_VERSION = 1;

/** Version byte that opens every sync message on the wire. */
export const WIRE_VERSION = 1;

/** Bytes of an author's public key (Ed25519). */
export const AUTHOR_KEY_BYTES = 32;

/** Bytes of an event id (SHA-256 of the canonical encoding). */
export const EVENT_ID_BYTES = 32;

/** Bytes of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;

/**
 * Bytes of the short author tag used on the wire instead of the 32-byte key.
 * Members are few (tens); a collision among configured members is refused when
 * the member list is loaded, so 4 bytes are enough and save 28 bytes a frame.
 */
export const AUTHOR_SHORT_BYTES = 4;

/** Bytes of the frontier digest carried by beacons: enough to make a false "equal" negligible. */
export const DIGEST_BYTES = 8;

/**
 * Largest canonical event body accepted. A 200-question assessment form is a
 * few KiB; anything far beyond that is hostile or a mistake.
 */
export const MAX_EVENT_BODY_BYTES = 32 * 1024;

/** Deepest nesting accepted in CBOR input (repeat groups inside groups are ~4 deep). */
export const MAX_CBOR_DEPTH = 16;

/** Most items accepted in one CBOR array or map: bounds memory of a hostile length header. */
export const MAX_CBOR_ITEMS = 4096;

/**
 * Deepest nesting inside an event body (a scalar body is depth 0). An events
 * message carries each body three levels down (message, item list, item) and
 * must itself stay within MAX_CBOR_DEPTH: a deeper body could be stored, but
 * no sync message could carry it.
 */
export const MAX_BODY_DEPTH = MAX_CBOR_DEPTH - 3;

/** Gap buffer bound (events waiting for a predecessor), whole store. Beyond it, frames are re-requested later. */
export const MAX_GAP_BUFFER_EVENTS = 10_000;

/** Gap buffer bound per author, so one noisy feed cannot take the whole buffer. */
export const MAX_GAP_BUFFER_PER_AUTHOR = 2_000;

/** Candidates kept per (author, seq) slot in the gap buffer; a forged frame cannot crowd out the real one. */
export const MAX_GAP_CANDIDATES_PER_SLOT = 4;

/** Domain-separation tag prefixed to the event id before signing, so an event signature cannot be replayed as anything else. */
export const SIGNATURE_CONTEXT = "meshlogd/event/v1";

/** An event created or received within this window is "fresh" and is sent before backfill. */
export const FRESH_WINDOW_MS = 10 * 60 * 1000;

/** Largest accepted HLC wall component: 2^48 ms is year 10889, and it keeps stamps within safe integers. */
export const MAX_HLC_WALL = 2 ** 48 - 1;

/** Largest HLC counter: far beyond what one millisecond of local events can need. */
export const MAX_HLC_COUNTER = 2 ** 31 - 1;

/** Longest record id, record type, field name or mime type accepted, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;

/** Smallest batch whose signatures go to the verify pool; below it the hand-off costs more than it saves. */
export const PARALLEL_VERIFY_MIN_BATCH = 8;
