/**
 * Sync messages: CBOR arrays opened by a version byte and a type. Parsed into
 * typed values once, here; everything else trusts the types.
 *
 *   beacon   [v, 1, digest, total]
 *   frontier [v, 2, digest, page, pages, [short, seq, short, seq, …]]
 *   request  [v, 3, [short, from, to, short, from, to, …]]
 *            [v, 3, [short, from, to, …], responder]
 *   events   [v, 4, short, start, [item, item, …]]
 *   blob-want, blob-chunk: see blob-messages.ts
 *
 * A request may name the one station asked to answer (its station id, the
 * 4-byte short tag); others stay quiet. A range whose `to` is 0 on the wire
 * is open: everything from `from` the responder holds, and what it receives
 * later (a relay forwards a feed its asker cannot hear from the origin).
 */
import { decodeStrict, encodeCanonical, type CborValue } from "../cbor.js";
import { AUTHOR_SHORT_BYTES, DIGEST_BYTES, WIRE_VERSION } from "../constants.js";
import { BLOB_MESSAGE_TYPE, blobMessageArray, parseBlobMessage, type BlobMessage } from "./blob-messages.js";

export const MESSAGE_TYPE = { beacon: 1, frontier: 2, request: 3, events: 4, blobWant: BLOB_MESSAGE_TYPE.want, blobChunk: BLOB_MESSAGE_TYPE.chunk } as const;

export interface BeaconMessage {
  readonly type: "beacon";
  readonly digest: Uint8Array;
  /** Events the sender holds in all: a hint of who is ahead. */
  readonly total: number;
}

export interface FrontierEntry {
  readonly short: Uint8Array;
  readonly seq: number;
}

export interface FrontierMessage {
  readonly type: "frontier";
  readonly digest: Uint8Array;
  readonly page: number;
  readonly pages: number;
  readonly entries: readonly FrontierEntry[];
}

export interface RangeRequest {
  readonly short: Uint8Array;
  readonly from: number;
  /** Last seq wanted; null for an open range: all the responder holds from `from`, and what it gets later. */
  readonly to: number | null;
}

export interface RequestMessage {
  readonly type: "request";
  readonly ranges: readonly RangeRequest[];
  /** The station asked to answer; absent: whoever holds the events answers, after a back-off. */
  readonly responder?: Uint8Array;
}

/** `to` of an open range on the wire (a seq is never 0). */
const OPEN_TO = 0;

export interface EventsMessage {
  readonly type: "events";
  readonly short: Uint8Array;
  readonly start: number;
  readonly items: readonly CborValue[];
}

export type SyncMessage = BeaconMessage | FrontierMessage | RequestMessage | EventsMessage | BlobMessage;

export function encodeMessage(m: SyncMessage): Buffer {
  switch (m.type) {
    case "beacon":
      return encodeCanonical([WIRE_VERSION, MESSAGE_TYPE.beacon, m.digest, m.total]);
    case "frontier":
      return encodeCanonical([
        WIRE_VERSION, MESSAGE_TYPE.frontier, m.digest, m.page, m.pages, m.entries.flatMap((e) => [e.short, e.seq]),
      ]);
    case "request": {
      const flat = m.ranges.flatMap((r) => [r.short, r.from, r.to ?? OPEN_TO]);
      return encodeCanonical([WIRE_VERSION, MESSAGE_TYPE.request, flat, ...(m.responder ? [m.responder] : [])]);
    }
    case "events":
      return encodeCanonical([WIRE_VERSION, MESSAGE_TYPE.events, m.short, m.start, [...m.items]]);
    case "blob-want":
    case "blob-chunk":
      return encodeCanonical(blobMessageArray(m));
  }
}

/** Our frontier as frontier messages of at most `mtu` bytes each (pages, when the members are many). */
export function frontierPages(digest: Uint8Array, entries: readonly FrontierEntry[], mtu: number): FrontierMessage[] {
  // digest 9 + header ~8 bytes; an entry is 5 bytes of tag plus up to 5 of seq.
  const perPage = Math.max(1, Math.floor((mtu - 20) / 10));
  const pages = Math.max(1, Math.ceil(entries.length / perPage));
  return Array.from({ length: pages }, (_, p) => ({
    type: "frontier", digest, page: p, pages, entries: entries.slice(p * perPage, (p + 1) * perPage),
  }));
}

/** Requests for `ranges`, those naming one responder together, as many ranges a message as fit `mtu`. */
export function requestMessages(ranges: readonly (RangeRequest & { responder?: Uint8Array })[], mtu: number): RequestMessage[] {
  const byResponder = new Map<string, { responder: Uint8Array | undefined; ranges: RangeRequest[] }>();
  for (const { responder, ...range } of ranges) {
    const key = responder ? Buffer.from(responder).toString("hex") : "";
    const group = byResponder.get(key) ?? { responder, ranges: [] };
    byResponder.set(key, group);
    group.ranges.push(range);
  }
  // header ~10 bytes with a responder; a range is 5 bytes of tag plus up to 10 of seqs.
  const perMsg = Math.max(1, Math.floor((mtu - 10) / 16));
  const out: RequestMessage[] = [];
  for (const g of byResponder.values()) {
    for (let i = 0; i < g.ranges.length; i += perMsg) {
      out.push({ type: "request", ranges: g.ranges.slice(i, i + perMsg), ...(g.responder ? { responder: g.responder } : {}) });
    }
  }
  return out;
}

export type MessageDropReason = "undecodable" | "bad-version" | "bad-type" | "malformed-message";

export type MessageParseResult = { ok: true; message: SyncMessage } | { ok: false; reason: MessageDropReason };

const isCount = (v: CborValue | undefined): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isSeq = (v: CborValue | undefined): v is number => isCount(v) && v >= 1;
const isShort = (v: CborValue | undefined): v is Uint8Array => v instanceof Uint8Array && v.length === AUTHOR_SHORT_BYTES;
const isDigest = (v: CborValue | undefined): v is Uint8Array => v instanceof Uint8Array && v.length === DIGEST_BYTES;

export function decodeMessage(bytes: Uint8Array): MessageParseResult {
  const d = decodeStrict(bytes);
  if (!d.ok) return { ok: false, reason: "undecodable" };
  const v = d.value;
  if (!Array.isArray(v) || v.length < 2) return { ok: false, reason: "malformed-message" };
  if (v[0] !== WIRE_VERSION) return { ok: false, reason: "bad-version" };
  const bad = { ok: false, reason: "malformed-message" } as const;
  switch (v[1]) {
    case MESSAGE_TYPE.beacon: {
      const [, , digest, total] = v;
      if (v.length !== 4 || !isDigest(digest) || !isCount(total)) return bad;
      return { ok: true, message: { type: "beacon", digest, total } };
    }
    case MESSAGE_TYPE.frontier: {
      const [, , digest, page, pages, flat] = v;
      if (v.length !== 6 || !isDigest(digest) || !isCount(page) || !isSeq(pages) || page >= pages) return bad;
      if (!Array.isArray(flat) || flat.length % 2 !== 0) return bad;
      const entries: FrontierEntry[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const short = flat[i];
        const seq = flat[i + 1];
        if (!isShort(short) || !isCount(seq)) return bad;
        entries.push({ short, seq });
      }
      return { ok: true, message: { type: "frontier", digest, page, pages, entries } };
    }
    case MESSAGE_TYPE.request: {
      const [, , flat, responder] = v;
      if ((v.length !== 3 && v.length !== 4) || !Array.isArray(flat) || flat.length % 3 !== 0) return bad;
      if (v.length === 4 && !isShort(responder)) return bad;
      const ranges: RangeRequest[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        const short = flat[i];
        const from = flat[i + 1];
        const to = flat[i + 2];
        if (!isShort(short) || !isSeq(from) || !isCount(to) || (to !== OPEN_TO && to < from)) return bad;
        ranges.push({ short, from, to: to === OPEN_TO ? null : to });
      }
      return { ok: true, message: { type: "request", ranges, ...(isShort(responder) ? { responder } : {}) } };
    }
    case MESSAGE_TYPE.events: {
      const [, , short, start, items] = v;
      if (v.length !== 5 || !isShort(short) || !isSeq(start) || !Array.isArray(items) || items.length === 0) return bad;
      return { ok: true, message: { type: "events", short, start, items } };
    }
    case MESSAGE_TYPE.blobWant:
    case MESSAGE_TYPE.blobChunk: {
      const message = parseBlobMessage(v);
      return message ? { ok: true, message } : bad;
    }
    default:
      return { ok: false, reason: "bad-type" };
  }
}

/** Author tag and seq range of an events message, read from its first bytes (a first fragment); undefined if not an events message. */
export function peekEventsRange(prefix: Uint8Array): { short: Uint8Array; start: number; end: number } | undefined {
  const r = { at: 0 };
  if (readHead(prefix, r, 4) !== 5 || readHead(prefix, r, 0) !== WIRE_VERSION || readHead(prefix, r, 0) !== MESSAGE_TYPE.events) return undefined;
  if (readHead(prefix, r, 2) !== AUTHOR_SHORT_BYTES) return undefined;
  const short = prefix.subarray(r.at, r.at + AUTHOR_SHORT_BYTES);
  r.at += AUTHOR_SHORT_BYTES;
  const start = readHead(prefix, r, 0);
  const count = readHead(prefix, r, 4);
  if (short.length !== AUTHOR_SHORT_BYTES || start === undefined || start < 1 || !count) return undefined;
  return { short: Uint8Array.from(short), start, end: start + count - 1 };
}

/** Reads one CBOR head of major type `major` at r.at: its argument (up to 4 bytes of it), or undefined. */
function readHead(bytes: Uint8Array, r: { at: number }, major: number): number | undefined {
  const first = bytes[r.at];
  if (first === undefined || first >> 5 !== major) return undefined;
  const info = first & 0x1f;
  const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : -1;
  if (size < 0 || r.at + 1 + size > bytes.length) return undefined;
  let value = info < 24 ? info : 0;
  for (let i = 1; i <= size; i++) value = value * 256 + (bytes[r.at + i] as number);
  r.at += 1 + size;
  return value;
}
