/**
 * The total order of writes: (HLC wall, HLC counter, author). An author's own
 * stamps strictly increase along its feed, so no two events share a stamp.
 */
import { compareHlc } from "./hlc.js";
import { hexToBytes, type AuthorId } from "./ids.js";
import type { CborValue } from "./cbor.js";

/** Who wrote what, when: an event's position in the total order plus its feed position. */
export interface Stamp {
  readonly wall: number;
  readonly counter: number;
  readonly author: AuthorId;
  readonly seq: number;
}

export function compareStamp(a: Stamp, b: Stamp): number {
  const h = compareHlc(a, b);
  if (h !== 0) return h;
  // Hex of equal-length keys sorts like the bytes.
  return a.author < b.author ? -1 : a.author > b.author ? 1 : 0;
}

export function maxStamp(a: Stamp | null, b: Stamp | null): Stamp | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareStamp(a, b) >= 0 ? a : b;
}

/** Stamp as a CBOR value for the canonical view: [wall, counter, author(32B), seq]. */
export function stampToCbor(s: Stamp | null): CborValue {
  return s === null ? null : [s.wall, s.counter, hexToBytes(s.author), s.seq];
}
