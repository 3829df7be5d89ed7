/**
 * Sync messages: CBOR arrays opened by a version byte and a type. Parsed into
 * typed values once, here; everything else trusts the types.
 *
 *   beacon   [v, 1, digest, total]
 *   frontier [v, 2, digest, page, pages, [short, seq, short, seq, …]]
 *   request  [v, 3, [short, from, to, short, from, to, …]]
 *   events   [v, 4, short, start, [item, item, …]]
 */
import { decodeStrict, encodeCanonical, type CborValue } from "../cbor.js";
import { AUTHOR_SHORT_BYTES, DIGEST_BYTES, WIRE_VERSION } from "../constants.js";

export const MESSAGE_TYPE = { beacon: 1, frontier: 2, request: 3, events: 4 } as const;

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
  readonly to: number;
}

export interface RequestMessage {
  readonly type: "request";
  readonly ranges: readonly RangeRequest[];
}

export interface EventsMessage {
  readonly type: "events";
  readonly short: Uint8Array;
  readonly start: number;
  readonly items: readonly CborValue[];
}

export type SyncMessage = BeaconMessage | FrontierMessage | RequestMessage | EventsMessage;

export function encodeMessage(m: SyncMessage): Buffer {
  switch (m.type) {
    case "beacon":
      return encodeCanonical([WIRE_VERSION, MESSAGE_TYPE.beacon, m.digest, m.total]);
    case "frontier":
      return encodeCanonical([
        WIRE_VERSION, MESSAGE_TYPE.frontier, m.digest, m.page, m.pages, m.entries.flatMap((e) => [e.short, e.seq]),
      ]);
    case "request":
      return encodeCanonical([WIRE_VERSION, MESSAGE_TYPE.request, m.ranges.flatMap((r) => [r.short, r.from, r.to])]);
    case "events":
      return encodeCanonical([WIRE_VERSION, MESSAGE_TYPE.events, m.short, m.start, [...m.items]]);
  }
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
      const [, , flat] = v;
      if (v.length !== 3 || !Array.isArray(flat) || flat.length % 3 !== 0) return bad;
      const ranges: RangeRequest[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        const short = flat[i];
        const from = flat[i + 1];
        const to = flat[i + 2];
        if (!isShort(short) || !isSeq(from) || !isSeq(to) || to < from) return bad;
        ranges.push({ short, from, to });
      }
      return { ok: true, message: { type: "request", ranges } };
    }
    case MESSAGE_TYPE.events: {
      const [, , short, start, items] = v;
      if (v.length !== 5 || !isShort(short) || !isSeq(start) || !Array.isArray(items) || items.length === 0) return bad;
      return { ok: true, message: { type: "events", short, start, items } };
    }
    default:
      return { ok: false, reason: "bad-type" };
  }
}
