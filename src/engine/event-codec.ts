/**
 * The full, self-contained encoding of a signed event (used by bundles, the
 * gap buffer and fork evidence): the canonical array with the signature
 * appended as a ninth item. Decoding recomputes the id; it never trusts one.
 */
import { decodeStrict, encodeCanonical, type CborDecodeFailure } from "./cbor.js";
import { AUTHOR_KEY_BYTES, EVENT_FORMAT_VERSION, EVENT_ID_BYTES, MAX_EVENT_BODY_BYTES, SIGNATURE_BYTES } from "./constants.js";
import { sha256 } from "./crypto.js";
import { bodyToCbor, canonicalEventBytes, kindCode, parseBody, type BodyParseFailure, type SignedEvent } from "./event.js";
import { isValidHlc } from "./hlc.js";
import { hexToBytes, toAuthorId, toEventId } from "./ids.js";

export function encodeSignedEvent(ev: SignedEvent): Buffer {
  return encodeCanonical([
    EVENT_FORMAT_VERSION,
    hexToBytes(ev.author),
    ev.seq,
    ev.prev === null ? null : hexToBytes(ev.prev),
    ev.hlc.wall,
    ev.hlc.counter,
    kindCode(ev.body),
    bodyToCbor(ev.body),
    ev.sig,
  ]);
}

export type EventDecodeFailure = CborDecodeFailure | BodyParseFailure | "malformed-event";

export type EventDecodeResult = { ok: true; event: SignedEvent } | { ok: false; reason: EventDecodeFailure };

/** Parses a full event and computes its id. Does not verify the signature (the store does, once). */
export function decodeSignedEvent(bytes: Uint8Array): EventDecodeResult {
  const r = decodeStrict(bytes);
  if (!r.ok) return r;
  const v = r.value;
  if (!Array.isArray(v) || v.length !== 9) return { ok: false, reason: "malformed-event" };
  const [format, author, seq, prev, wall, counter, kind, bodyV, sig] = v;
  if (format !== EVENT_FORMAT_VERSION) return { ok: false, reason: "malformed-event" };
  if (!(author instanceof Uint8Array) || author.length !== AUTHOR_KEY_BYTES) return { ok: false, reason: "malformed-event" };
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return { ok: false, reason: "malformed-event" };
  if (prev !== null && (!(prev instanceof Uint8Array) || prev.length !== EVENT_ID_BYTES)) return { ok: false, reason: "malformed-event" };
  if ((seq === 1) !== (prev === null)) return { ok: false, reason: "malformed-event" };
  if (typeof wall !== "number" || typeof counter !== "number" || !isValidHlc({ wall, counter })) return { ok: false, reason: "malformed-event" };
  if (typeof kind !== "number" || !(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES) return { ok: false, reason: "malformed-event" };
  if (bodyV === undefined) return { ok: false, reason: "malformed-event" };
  const body = parseBody(kind, bodyV);
  if (typeof body === "string") return { ok: false, reason: body };
  const bodyBytes = encodeCanonical(bodyToCbor(body));
  if (bodyBytes.length > MAX_EVENT_BODY_BYTES) return { ok: false, reason: "oversized-body" };
  const id = sha256(canonicalEventBytes({ author, seq, prev, hlc: { wall, counter }, kind, body: bodyBytes }));
  return {
    ok: true,
    event: {
      author: toAuthorId(author),
      seq,
      prev: prev === null ? null : toEventId(prev),
      hlc: { wall, counter },
      body,
      id: toEventId(id),
      sig,
    },
  };
}
