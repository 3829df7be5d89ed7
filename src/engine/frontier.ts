/**
 * Frontier: per-author high-water marks. Feeds are contiguous, so one number
 * per author says exactly which events a store holds.
 */
import { AUTHOR_SHORT_BYTES, DIGEST_BYTES } from "./constants.js";
import { sha256 } from "./crypto.js";
import { hexToBytes, type AuthorId } from "./ids.js";

/** author → highest seq held (all of 1..seq are held). Authors with nothing held are absent. */
export type Frontier = ReadonlyMap<AuthorId, number>;

/**
 * A compact digest of a frontier: the first DIGEST_BYTES of SHA-256 over the
 * sorted (author key ‖ seq as 8 bytes big-endian) entries. Equal frontiers
 * give equal digests on every station.
 */
export function frontierDigest(frontier: Frontier): Buffer {
  const authors = [...frontier.entries()].filter(([, seq]) => seq > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(authors.length * 40);
  authors.forEach(([author, seq], i) => {
    hexToBytes(author).copy(buf, i * 40);
    buf.writeUInt32BE(Math.floor(seq / 0x100000000), i * 40 + 32);
    buf.writeUInt32BE(seq >>> 0, i * 40 + 36);
  });
  return sha256(buf).subarray(0, DIGEST_BYTES);
}

/** The short tag that names an author on the wire: the first bytes of its key. */
export function shortTag(author: AuthorId): Buffer {
  return hexToBytes(author).subarray(0, AUTHOR_SHORT_BYTES);
}

/** A range of one author's feed, both ends inclusive. */
export interface FeedRange {
  readonly author: AuthorId;
  readonly from: number;
  readonly to: number;
}

/** What `theirs` holds that `ours` lacks, as ranges. */
export function missingFrom(ours: Frontier, theirs: Frontier): FeedRange[] {
  const out: FeedRange[] = [];
  for (const [author, seq] of theirs) {
    const have = ours.get(author) ?? 0;
    if (seq > have) out.push({ author, from: have + 1, to: seq });
  }
  return out;
}

/** Total events a frontier covers. */
export function frontierTotal(frontier: Frontier): number {
  let n = 0;
  for (const seq of frontier.values()) n += seq;
  return n;
}
