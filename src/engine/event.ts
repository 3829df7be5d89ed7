/**
 * The event: the only thing that is stored, signed and sent. Canonical form
 * (what the id hashes and the author signs) is the deterministic CBOR array
 *
 *   [format, author(32B), seq, prev(32B)|null, hlc.wall, hlc.counter, kind, body]
 *
 * id = SHA-256(canonical bytes); sig = Ed25519(author, SIGNATURE_CONTEXT ‖ id).
 */
import { encodeCanonical, isCborMap, type CborMap, type CborValue } from "./cbor.js";
import { AUTHOR_KEY_BYTES, EVENT_FORMAT_VERSION, MAX_BODY_DEPTH, MAX_EVENT_BODY_BYTES, MAX_NAME_BYTES, SIGNATURE_CONTEXT } from "./constants.js";
import { sha256, verifySignature, type Signer } from "./crypto.js";
import { isValidHlc, type Hlc } from "./hlc.js";
import { hexToBytes, toAuthorId, toEventId, type AuthorId, type EventId, type RecordId, type RecordType } from "./ids.js";
import { parseVocabulary, vocabularyToCbor, type VocabularyField } from "./vocabulary.js";

/** Numeric kind codes, part of the signed bytes: never renumber. */
export const KIND = { upsert: 1, delete: 2, attachment: 3, vocabulary: 4, removal: 5 } as const;

/** A new version of a record: only the fields that changed in it. */
export interface UpsertBody {
  readonly kind: "upsert";
  readonly record: RecordId;
  readonly type: RecordType;
  /** Newest stamp of this record the author had applied when it wrote this version; null for a new record. */
  readonly base: Hlc | null;
  readonly fields: CborMap;
}

/** A tombstone for a record. */
export interface DeleteBody {
  readonly kind: "delete";
  readonly record: RecordId;
  readonly type: RecordType;
  readonly base: Hlc | null;
}

/** Metadata of a file attached to a record field (the bytes travel separately, by policy). */
export interface AttachmentBody {
  readonly kind: "attachment";
  readonly record: RecordId;
  readonly type: RecordType;
  readonly field: string;
  /** SHA-256 of the file. */
  readonly hash: Uint8Array;
  readonly size: number;
  readonly mime: string;
}

/**
 * The field names (and select choices) a site uses for a record type, so the
 * radio can send its upserts compactly (see vocabulary.ts). Changes no record.
 */
export interface VocabularyBody {
  readonly kind: "vocabulary";
  readonly type: RecordType;
  readonly fields: readonly VocabularyField[];
}

/**
 * A member's removal from the network: `member`'s events after seq `after`
 * are void at every site that holds this event (removal-rule.ts). Changes no
 * record directly; its author must be another member (one naming its own
 * author is inert).
 */
export interface RemovalBody {
  readonly kind: "removal";
  readonly member: AuthorId;
  /** The last seq of the member's feed that stays valid (0: none of it). */
  readonly after: number;
}

/** A kind this version does not know: stored and relayed verbatim, never applied. */
export interface UnknownBody {
  readonly kind: "unknown";
  readonly code: number;
  readonly value: CborValue;
}

export type EventBody = UpsertBody | DeleteBody | AttachmentBody | VocabularyBody | RemovalBody | UnknownBody;

/** The bodies that change a record. */
export type RecordBody = UpsertBody | DeleteBody | AttachmentBody;

export function isRecordBody(body: EventBody): body is RecordBody {
  return body.kind === "upsert" || body.kind === "delete" || body.kind === "attachment";
}

/** What folding an event into a record reads: who wrote it, where in the feed, when, and what. */
export type EventFacts = Pick<SignedEvent, "author" | "seq" | "hlc" | "body">;

/** A complete, signed event. Invariant: id and sig match the canonical bytes of the other fields. */
export interface SignedEvent {
  readonly author: AuthorId;
  readonly seq: number;
  readonly prev: EventId | null;
  readonly hlc: Hlc;
  readonly body: EventBody;
  readonly id: EventId;
  readonly sig: Uint8Array;
}

export function kindCode(body: EventBody): number {
  return body.kind === "unknown" ? body.code : KIND[body.kind];
}

function hlcValue(h: Hlc | null): CborValue {
  return h === null ? null : [h.wall, h.counter];
}

/** The body as it appears inside the canonical event. */
export function bodyToCbor(body: EventBody): CborValue {
  switch (body.kind) {
    case "upsert":
      return [body.record, body.type, hlcValue(body.base), body.fields];
    case "delete":
      return [body.record, body.type, hlcValue(body.base)];
    case "attachment":
      return [body.record, body.type, body.field, body.hash, body.size, body.mime];
    case "vocabulary":
      return vocabularyToCbor(body.type, body.fields);
    case "removal":
      return [hexToBytes(body.member), body.after];
    case "unknown":
      return body.value;
  }
}

export type BodyParseFailure = "malformed-body" | "oversized-body";

function isName(v: CborValue | undefined): v is string {
  return typeof v === "string" && v.length > 0 && Buffer.byteLength(v) <= MAX_NAME_BYTES;
}

function parseHlcValue(v: CborValue | undefined): Hlc | null | undefined {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [wall, counter] = v;
  if (typeof wall !== "number" || typeof counter !== "number") return undefined;
  const h = { wall, counter };
  return isValidHlc(h) ? h : undefined;
}

/** True if some value inside `v` sits more than `limit` levels below it. Looks no deeper than that. */
function nestsDeeperThan(v: CborValue | undefined, limit: number): boolean {
  if (limit < 0) return true;
  if (Array.isArray(v)) return v.some((x) => nestsDeeperThan(x, limit - 1));
  if (isCborMap(v)) return Object.values(v).some((x) => nestsDeeperThan(x, limit - 1));
  return false;
}

/** Parses a decoded body for a kind code. Returns a failure, never throws. */
export function parseBody(code: number, v: CborValue): EventBody | BodyParseFailure {
  if (nestsDeeperThan(v, MAX_BODY_DEPTH)) return "malformed-body"; // could never be sent (see MAX_BODY_DEPTH)
  if (code === KIND.upsert || code === KIND.delete) {
    if (!Array.isArray(v) || v.length !== (code === KIND.upsert ? 4 : 3)) return "malformed-body";
    const [record, type, baseV, fields] = v;
    const base = parseHlcValue(baseV);
    if (!isName(record) || !isName(type) || base === undefined) return "malformed-body";
    if (code === KIND.delete) return { kind: "delete", record: record as RecordId, type: type as RecordType, base };
    if (!isCborMap(fields) || Object.keys(fields).some((k) => k.length === 0 || Buffer.byteLength(k) > MAX_NAME_BYTES)) {
      return "malformed-body";
    }
    return { kind: "upsert", record: record as RecordId, type: type as RecordType, base, fields };
  }
  if (code === KIND.attachment) {
    if (!Array.isArray(v) || v.length !== 6) return "malformed-body";
    const [record, type, field, hash, size, mime] = v;
    if (!isName(record) || !isName(type) || !isName(field) || !isName(mime)) return "malformed-body";
    if (!(hash instanceof Uint8Array) || hash.length !== 32) return "malformed-body";
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return "malformed-body";
    return { kind: "attachment", record: record as RecordId, type: type as RecordType, field, hash, size, mime };
  }
  if (code === KIND.vocabulary) {
    const vocabulary = parseVocabulary(v);
    return vocabulary ? { kind: "vocabulary", ...vocabulary } : "malformed-body";
  }
  if (code === KIND.removal) return parseRemoval(v);
  if (!Number.isSafeInteger(code) || code < 0 || code > 255) return "malformed-body";
  return { kind: "unknown", code, value: v };
}

/** [member key (32 bytes), after (unsigned)]. */
function parseRemoval(v: CborValue): RemovalBody | BodyParseFailure {
  if (!Array.isArray(v) || v.length !== 2) return "malformed-body";
  const [member, after] = v;
  if (!(member instanceof Uint8Array) || member.length !== AUTHOR_KEY_BYTES) return "malformed-body";
  if (typeof after !== "number" || !Number.isSafeInteger(after) || after < 0) return "malformed-body";
  return { kind: "removal", member: toAuthorId(member), after };
}

/** Header fields of the canonical form, in bytes ready to hash. */
export interface CanonicalParts {
  readonly author: Uint8Array;
  readonly seq: number;
  readonly prev: Uint8Array | null;
  readonly hlc: Hlc;
  readonly kind: number;
  /** Canonical CBOR of the body. */
  readonly body: Uint8Array;
}

/** The bytes an event id hashes. The body is spliced in already encoded, so it is encoded once per event. */
export function canonicalEventBytes(p: CanonicalParts): Buffer {
  const head = encodeCanonical([EVENT_FORMAT_VERSION, p.author, p.seq, p.prev, p.hlc.wall, p.hlc.counter, p.kind]);
  // head is an array of 7; bump its header to 8 items and append the body as the 8th.
  head[0] = 0x88;
  return Buffer.concat([head, p.body]);
}

const CONTEXT = Buffer.from(SIGNATURE_CONTEXT, "utf8");

export function signingMessage(id: Uint8Array): Buffer {
  return Buffer.concat([CONTEXT, id]);
}

export function encodeBody(body: EventBody): Buffer {
  return encodeCanonical(bodyToCbor(body));
}

/** Creates and signs the next event of a feed. Throws only on programmer misuse (oversized or too deeply nested body). */
export function signEvent(
  signer: Signer,
  header: { seq: number; prev: EventId | null; hlc: Hlc },
  body: EventBody,
): SignedEvent {
  return signEventWithBody(signer, header, body).event;
}

/** signEvent, also handing back the canonical body bytes it encoded (so a store need not encode them again). */
export function signEventWithBody(
  signer: Signer,
  header: { seq: number; prev: EventId | null; hlc: Hlc },
  body: EventBody,
): { event: SignedEvent; bodyBytes: Buffer } {
  const bodyBytes = encodeBody(body);
  if (bodyBytes.length > MAX_EVENT_BODY_BYTES) {
    throw new RangeError(`event body is ${bodyBytes.length} bytes; the limit is ${MAX_EVENT_BODY_BYTES}`);
  }
  // Every peer parses the body back with parseBody: an author must never sign what its own feed could not carry.
  const reparsed = parseBody(kindCode(body), bodyToCbor(body));
  if (typeof reparsed === "string") {
    throw new RangeError(
      `event body is not valid for kind ${kindCode(body)} (names 1..${MAX_NAME_BYTES} bytes, hash 32 bytes, size >= 0, ` +
        `kind code 0..255, nesting <= ${MAX_BODY_DEPTH} levels)`,
    );
  }
  const idBytes = sha256(
    canonicalEventBytes({
      author: signer.publicKey,
      seq: header.seq,
      prev: header.prev === null ? null : hexToBytes(header.prev),
      hlc: header.hlc,
      kind: kindCode(body),
      body: bodyBytes,
    }),
  );
  const event = { author: signer.author, ...header, body, id: toEventId(idBytes), sig: signer.sign(signingMessage(idBytes)) };
  return { event, bodyBytes };
}

/** Recomputes the id from the event's fields and checks it and the signature. */
export function verifyEvent(ev: SignedEvent): boolean {
  const author = hexToBytes(ev.author);
  const idBytes = sha256(
    canonicalEventBytes({
      author,
      seq: ev.seq,
      prev: ev.prev === null ? null : hexToBytes(ev.prev),
      hlc: ev.hlc,
      kind: kindCode(ev.body),
      body: encodeBody(ev.body),
    }),
  );
  return toEventId(idBytes) === ev.id && verifySignature(author, signingMessage(idBytes), ev.sig);
}
