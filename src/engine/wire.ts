/**
 * The compact form of an event on the air. It leaves out everything the
 * receiver derives from its own copy of the feed, and re-derives it on ingest:
 *
 * - author: named once per message by its short tag (sync messages);
 * - seq: implied by the message's start seq and the item's position;
 * - prev and id: recomputed from the receiver's event at seq-1;
 * - HLC wall: sent as the difference from the previous event's wall;
 * - `uuid:` record ids (Kobo/ODK instanceIDs): sent as their 16 bytes;
 * - an upsert's base: sent relative to the event's own HLC wall;
 * - an upsert's field names and choice names: replaced, when the feed holds an
 *   earlier vocabulary event for the record type, by that event's seq in place
 *   of the type and the packed fields of vocabulary.ts — with a vocabulary
 *   that has formats, a bit stream of typed answers (typed-pack.ts), its times
 *   and dates relative to the event's own HLC wall.
 *
 * item = [wallDelta, counter, kind, body, sig]
 */
import { encodeCanonical, type CborValue } from "./cbor.js";
import { MAX_EVENT_BODY_BYTES, SIGNATURE_BYTES } from "./constants.js";
import { bodyToCbor, kindCode, parseBody, type EventBody, type SignedEvent } from "./event.js";
import { isValidHlc, type Hlc } from "./hlc.js";
import { packFields, unpackFields, type Lexicon } from "./vocabulary.js";

/** A vocabulary of the item's own feed, at an earlier seq, that an upsert may be packed with. */
export interface FeedLexicon {
  readonly seq: number;
  readonly lexicon: Lexicon;
}

/** The vocabulary at `seq` of the item's feed, if it holds one there (only seqs before the item's own are asked). */
export type LexiconAt = (seq: number) => Lexicon | undefined;

const UUID_RECORD = /^uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

function packRecordId(id: string): CborValue {
  const m = UUID_RECORD.exec(id);
  return m ? Buffer.from(m.slice(1).join(""), "hex") : id;
}

function unpackRecordId(v: CborValue | undefined): CborValue | undefined {
  if (!(v instanceof Uint8Array)) return v;
  if (v.length !== 16) return undefined;
  const h = Buffer.from(v).toString("hex");
  return `uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function packBase(base: Hlc | null, own: Hlc): CborValue {
  return base === null ? null : [own.wall - base.wall, base.counter];
}

function unpackBase(v: CborValue | undefined, own: Hlc): CborValue | undefined {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "number") return undefined;
  return [own.wall - v[0], v[1] ?? null];
}

function packBody(body: EventBody, hlc: Hlc, vocabulary: FeedLexicon | undefined): CborValue {
  switch (body.kind) {
    case "upsert":
      if (vocabulary && vocabulary.lexicon.type === body.type) {
        const packed = packFields(body.fields, vocabulary.lexicon, { wall: hlc.wall });
        return [packRecordId(body.record), vocabulary.seq, packBase(body.base, hlc), packed];
      }
      return [packRecordId(body.record), body.type, packBase(body.base, hlc), body.fields];
    case "delete":
      return [packRecordId(body.record), body.type, packBase(body.base, hlc)];
    case "attachment":
      return [packRecordId(body.record), body.type, body.field, body.hash, body.size, body.mime];
    case "vocabulary":
    case "removal":
      return bodyToCbor(body);
    case "unknown":
      return body.value;
  }
}

/**
 * The wire item of `ev`; prevWall is the HLC wall of event seq-1 (null for
 * seq 1); `vocabulary`, a vocabulary event of the same feed before `ev`.
 */
export function encodeWireItem(ev: SignedEvent, prevWall: number | null, vocabulary?: FeedLexicon): CborValue {
  if (vocabulary && vocabulary.seq >= ev.seq) throw new RangeError("an item can only use a vocabulary from earlier in its feed");
  return [ev.hlc.wall - (prevWall ?? 0), ev.hlc.counter, kindCode(ev.body), packBody(ev.body, ev.hlc, vocabulary), ev.sig];
}

/** An event as rebuilt from the air, still missing prev, id and verification. */
export interface WireEvent {
  readonly hlc: Hlc;
  readonly kind: number;
  readonly body: EventBody;
  /** Canonical CBOR of the body, as hashed. */
  readonly bodyBytes: Buffer;
  readonly sig: Uint8Array;
}

/** Bytes a body packed with a vocabulary may exceed the body limit by before it is refused unseen (see wireItemPrecheck). */
const VOCABULARY_SLACK_BYTES = 4096;

export type WireItemFailure = "malformed-item" | "malformed-body" | "oversized-body";

/**
 * The checks of parseWireItem that do not depend on the wall of the event
 * before the item: an item failing them is refused whatever that wall, so it
 * need not wait in the gap buffer for it.
 */
export function wireItemPrecheck(item: CborValue): WireItemFailure | undefined {
  if (!Array.isArray(item) || item.length !== 5) return "malformed-item";
  const [delta, counter, kind, packed, sig] = item;
  if (typeof delta !== "number" || typeof counter !== "number" || typeof kind !== "number") return "malformed-item";
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES || packed === undefined) return "malformed-item";
  // The wall is prevWall + delta, prevWall a valid wall (or 0): it is valid only if delta is.
  if (!isValidHlc({ wall: delta, counter })) return "malformed-item";
  if (!Number.isSafeInteger(kind) || kind < 0 || kind > 255) return "malformed-body";
  // Packing shrinks a body (uuid record ids, vocabularies) or grows it by at most 8 bytes (a base wall
  // sent as a delta) — or, under a vocabulary, also by its bitmap and literal-wrapped choice values.
  const packedWithVocabulary = kind === 1 && Array.isArray(packed) && typeof packed[1] === "number";
  const slack = packedWithVocabulary ? VOCABULARY_SLACK_BYTES : 8;
  if (encodeCanonical(packed).length > MAX_EVENT_BODY_BYTES + slack) return "oversized-body";
  return undefined;
}


/**
 * Rebuilds an event's canonical parts from a wire item, given the wall of the
 * event before it and the feed's vocabularies before it.
 */
export function parseWireItem(item: CborValue, prevWall: number | null, lexiconAt: LexiconAt = () => undefined): WireEvent | WireItemFailure {
  if (!Array.isArray(item) || item.length !== 5) return "malformed-item";
  const [delta, counter, kind, packed, sig] = item;
  if (typeof delta !== "number" || typeof counter !== "number" || typeof kind !== "number") return "malformed-item";
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES || packed === undefined) return "malformed-item";
  const hlc = { wall: (prevWall ?? 0) + delta, counter };
  if (delta < 0 || !isValidHlc(hlc)) return "malformed-item";
  let bodyV: CborValue = packed;
  if ((kind === 1 || kind === 2 || kind === 3) && Array.isArray(packed)) {
    const [rid, second, third, ...rest] = packed;
    const record = unpackRecordId(rid);
    if (record === undefined) return "malformed-body";
    const base = kind === 3 ? third : unpackBase(third, hlc);
    if (base === undefined) return "malformed-body";
    let type = second ?? null;
    if (kind === 1 && typeof second === "number") {
      const lexicon = Number.isSafeInteger(second) ? lexiconAt(second) : undefined;
      const fields = lexicon && rest.length === 1 ? unpackFields(rest[0] as CborValue, lexicon, { wall: hlc.wall }) : undefined;
      if (!lexicon || !fields) return "malformed-body";
      type = lexicon.type;
      rest[0] = fields;
    }
    bodyV = [record, type, base, ...rest];
  }
  const body = parseBody(kind, bodyV);
  if (typeof body === "string") return body;
  const bodyBytes = encodeCanonical(bodyToCbor(body));
  if (bodyBytes.length > MAX_EVENT_BODY_BYTES) return "oversized-body";
  return { hlc, kind, body, bodyBytes, sig };
}
