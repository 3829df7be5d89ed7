/**
 * From a candidate for ingest to the canonical parts of an event: a full
 * signed event is re-encoded, a wire item is rebuilt against the predecessor
 * it follows (its prev, its stamp delta, its vocabulary), and the event id is
 * computed either way. Pure apart from reading vocabularies; the signature
 * check lives here too, so the inline path and the verify pool agree on what
 * is checked.
 */
import type { CborValue } from "../cbor.js";
import { MAX_EVENT_BODY_BYTES } from "../constants.js";
import { sha256, verifySignature } from "../crypto.js";
import { canonicalEventBytes, encodeBody, kindCode, signingMessage, type EventBody, type SignedEvent } from "../event.js";
import type { Hlc } from "../hlc.js";
import { hexToBytes } from "../ids.js";
import type { Lexicon } from "../vocabulary.js";
import { parseWireItem } from "../wire.js";
import type { AuthorRow } from "./author-registry.js";
import type { RefusalReason } from "./ingest-types.js";
import type { VocabularyIndex } from "./vocabulary-index.js";

/** A candidate for ingest: a full signed event, or a wire item whose prev is derived here. */
export type Candidate =
  | { form: "full"; author: AuthorRow; event: SignedEvent }
  | { form: "wire"; author: AuthorRow; seq: number; item: CborValue };

/** A candidate's slot in the ingest: a candidate, or why it was refused before it got one. */
export type Offered = Candidate | { refused: RefusalReason };

/** Parts of a candidate once its place in the feed is known. */
export interface Resolved {
  seq: number;
  prev: Buffer | null;
  hlc: Hlc;
  kind: number;
  body: EventBody;
  bodyBytes: Buffer;
  sig: Uint8Array;
  id: Buffer;
  /** The prev the event itself claims (full events only). */
  claimedPrev?: Buffer | null;
}

/**
 * Rebuilds canonical parts and the id for a candidate whose predecessor is
 * `prev`. `pending` holds vocabularies earlier in the same batch, not stored yet.
 */
export function resolveCandidate(
  c: Candidate,
  prev: { id: Buffer; wall: number } | null,
  vocabularies: VocabularyIndex,
  pending?: ReadonlyMap<number, Lexicon>,
): Resolved | RefusalReason {
  if (c.form === "full") {
    const ev = c.event;
    const bodyBytes = encodeBody(ev.body);
    if (bodyBytes.length > MAX_EVENT_BODY_BYTES) return "oversized-body";
    return {
      seq: ev.seq, prev: prev?.id ?? null, hlc: ev.hlc, kind: kindCode(ev.body), body: ev.body, bodyBytes, sig: ev.sig,
      id: hexToBytes(ev.id), claimedPrev: ev.prev === null ? null : hexToBytes(ev.prev),
    };
  }
  const ix = c.author.ix;
  const w = parseWireItem(c.item, prev?.wall ?? null, (at) => (at < c.seq ? (pending?.get(at) ?? vocabularies.at(ix, at)) : undefined));
  if (typeof w === "string") return w === "oversized-body" ? "oversized-body" : "malformed";
  const id = sha256(canonicalEventBytes({ author: c.author.key, seq: c.seq, prev: prev?.id ?? null, hlc: w.hlc, kind: w.kind, body: w.bodyBytes }));
  return { seq: c.seq, prev: prev?.id ?? null, hlc: w.hlc, kind: w.kind, body: w.body, bodyBytes: w.bodyBytes, sig: w.sig, id };
}

/** Checks the signature inline. For a full event the id is recomputed over its own claimed prev, so the signature checks its own history. */
export function checkSignature(a: AuthorRow, r: Resolved): boolean {
  if (r.claimedPrev !== undefined) {
    const id = sha256(canonicalEventBytes({ author: a.key, seq: r.seq, prev: r.claimedPrev, hlc: r.hlc, kind: r.kind, body: r.bodyBytes }));
    if (!id.equals(r.id)) return false;
  }
  return verifySignature(a.key, signingMessage(r.id), r.sig);
}

/** The key of a resolved event's signature verdict: author row, seq and id. */
export function verdictKey(authorIx: number, r: Resolved): string {
  return `${authorIx}:${r.seq}:${r.id.toString("hex")}`;
}

export function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
