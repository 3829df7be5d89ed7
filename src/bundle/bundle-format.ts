/**
 * The bundle file: one site's feeds on a USB stick, for when the radio is
 * down. Written by `exportBundle`, read by `importBundle`; both stream, so a
 * site of a million events needs no more memory than one chunk. Big-endian:
 *
 *   bytes 0-7    magic "MLOGBNDL"
 *   byte 8       format version (1)
 *   bytes 9-12   header length H (u32)
 *   13..13+H     header: canonical CBOR array (see BundleHeader), readable without any key
 *   chunks, at least one, the last flagged final:
 *     flags (1)    bit 0 = final; other bits 0
 *     length (4)   payload bytes (u32)
 *     payload      sealed: ChaCha20-Poly1305(plain) ‖ tag (16); unsealed: plain
 *   signature (64) Ed25519 of the exporter over "meshlogd/bundle/v1" ‖ SHA-256(every byte before it)
 *   end of file (anything after the signature is refused)
 *
 * A chunk's plain bytes are deflate-raw (header says; "none" if not) of
 * events, each as u32 length ‖ full signed event (encodeSignedEvent: the
 * canonical array plus its signature), feed after feed in header order, seq
 * ascending. An empty bundle has one empty final chunk.
 *
 * Sealing (when the exporting site has a network key): chunk key =
 * HKDF-SHA256(network key, salt = SHA-256(bytes 0..13+H), info
 * "meshlogd/bundle/v1/chunk-key"); the header holds 16 random bytes, so every
 * bundle has its own key. Nonce = chunk index (11 bytes) ‖ final flag (1), as
 * in the STREAM construction: a chunk moved, dropped, duplicated or promoted to
 * final fails its tag, and so does any chunk under a changed header. The
 * header stays clear (network name, exporter key, seq ranges, time; no record
 * data), so `import` can say whose bundle it is before it has the right key.
 */
import { decodeStrict, encodeCanonical } from "../engine/cbor.js";
import { AUTHOR_KEY_BYTES, MAX_EVENT_BODY_BYTES } from "../engine/constants.js";
import { toAuthorId, hexToBytes, type AuthorId } from "../engine/ids.js";

/** First bytes of every bundle: lets `import` say "not a bundle" rather than "damaged". */
export const BUNDLE_MAGIC = Buffer.from("MLOGBNDL", "ascii");

/** The format this code writes and reads; bumped on any change to the layout above. */
export const BUNDLE_FORMAT_VERSION = 1;

/** Magic, version byte and header length. */
export const PREAMBLE_BYTES = BUNDLE_MAGIC.length + 1 + 4;

/** Largest header accepted: a network has tens of members (40 bytes each); bounds a hostile length field. */
export const MAX_HEADER_BYTES = 256 * 1024;

/** Flags byte and payload length before every chunk. */
export const CHUNK_HEAD_BYTES = 5;

/** Chunk flag: the last chunk; the signature follows it. */
export const CHUNK_FINAL = 0x01;

/**
 * Plain bytes gathered before a chunk is closed: a few hundred survey events,
 * so the 21 bytes of framing and tag per chunk vanish, deflate finds the
 * repeated field names, and one chunk is all a reader holds.
 */
export const CHUNK_TARGET_BYTES = 64 * 1024;

/**
 * Largest encoded event accepted inside a chunk: the largest body plus the
 * event's fixed fields (author, prev, signature, numbers) with room to spare.
 */
export const MAX_ENCODED_EVENT_BYTES = MAX_EVENT_BODY_BYTES + 1024;

/**
 * Largest chunk payload, and largest plain chunk after inflating: a chunk never
 * exceeds the target plus one event (deflate adds a little on incompressible
 * data); bounds memory against a hostile length field or a deflate bomb.
 */
export const MAX_CHUNK_BYTES = 4 * CHUNK_TARGET_BYTES;

/** Bytes before each event inside a chunk's plain bytes. */
export const EVENT_LENGTH_BYTES = 4;

/** Bytes of the Poly1305 tag on a sealed chunk: a file is not airtime-bound, so the full tag. */
export const SEAL_TAG_BYTES = 16;

/** Bytes of the exporter's Ed25519 signature that ends the file. */
export const BUNDLE_SIGNATURE_BYTES = 64;

/** Domain-separation tag signed before the file's hash, so a bundle signature is never an event signature. */
export const BUNDLE_SIGNATURE_CONTEXT = "meshlogd/bundle/v1";

/** HKDF info of the chunk key: independent of the radio's frame key derived from the same network key. */
export const CHUNK_KEY_INFO = "meshlogd/bundle/v1/chunk-key";

/** Random bytes in every header: gives each bundle its own chunk key, so nonces never repeat under one key. */
export const BUNDLE_ID_BYTES = 16;

/** Longest network name kept in a header, in UTF-8 bytes. */
export const MAX_NETWORK_NAME_BYTES = 256;

/** How chunk plain bytes are compressed; the code is part of the header. */
export type BundleCompression = "none" | "deflate-raw";
const COMPRESSION_CODES: readonly BundleCompression[] = ["none", "deflate-raw"];

/** One author's events in a bundle: seq `from` to `to`, both inclusive, contiguous. */
export interface BundleFeed {
  readonly author: AuthorId;
  readonly from: number;
  readonly to: number;
}

/** What a bundle says about itself, before any key. Invariant: feeds have distinct authors and from <= to. */
export interface BundleHeader {
  /** The exporting site's network name, or null if it had none configured. */
  readonly network: string | null;
  /** The exporting site: its events' author key, which signs the file. */
  readonly exporter: AuthorId;
  /** When the bundle was written (ms since the epoch, the exporter's clock). */
  readonly createdMs: number;
  readonly bundleId: Uint8Array;
  readonly sealed: boolean;
  readonly compression: BundleCompression;
  /** In file order: the chunks hold these feeds' events one feed after the other. */
  readonly feeds: readonly BundleFeed[];
}

/** Events in these feeds. */
export function feedEventCount(feeds: readonly BundleFeed[]): number {
  return feeds.reduce((n, f) => n + (f.to - f.from + 1), 0);
}

/** Events a header announces. */
export function headerEventCount(header: BundleHeader): number {
  return feedEventCount(header.feeds);
}

/** The file's first bytes: magic, version, header length and header. */
export function encodePreamble(header: BundleHeader): Buffer {
  const body = encodeCanonical([
    header.network,
    hexToBytes(header.exporter),
    header.createdMs,
    header.bundleId,
    header.sealed,
    COMPRESSION_CODES.indexOf(header.compression),
    header.feeds.map((f) => [hexToBytes(f.author), f.from, f.to]),
  ]);
  const pre = Buffer.alloc(PREAMBLE_BYTES);
  BUNDLE_MAGIC.copy(pre, 0);
  pre[BUNDLE_MAGIC.length] = BUNDLE_FORMAT_VERSION;
  pre.writeUInt32BE(body.length, BUNDLE_MAGIC.length + 1);
  return Buffer.concat([pre, body]);
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Parses header bytes (after the preamble). Returns null for anything this version does not write. */
export function parseHeader(bytes: Uint8Array): BundleHeader | null {
  const d = decodeStrict(bytes);
  if (!d.ok || !Array.isArray(d.value) || d.value.length !== 7) return null;
  const [network, exporter, createdMs, bundleId, sealed, compression, feedsV] = d.value;
  if (network !== null && (typeof network !== "string" || Buffer.byteLength(network) > MAX_NETWORK_NAME_BYTES)) return null;
  if (!(exporter instanceof Uint8Array) || exporter.length !== AUTHOR_KEY_BYTES || !isCount(createdMs)) return null;
  if (!(bundleId instanceof Uint8Array) || bundleId.length !== BUNDLE_ID_BYTES || typeof sealed !== "boolean") return null;
  const codec = isCount(compression) ? COMPRESSION_CODES[compression] : undefined;
  if (codec === undefined || !Array.isArray(feedsV)) return null;
  const feeds: BundleFeed[] = [];
  const seen = new Set<string>();
  for (const f of feedsV) {
    if (!Array.isArray(f) || f.length !== 3) return null;
    const [author, from, to] = f;
    if (!(author instanceof Uint8Array) || author.length !== AUTHOR_KEY_BYTES || !isCount(from) || !isCount(to)) return null;
    const id = toAuthorId(author);
    if (from < 1 || to < from || seen.has(id)) return null;
    seen.add(id);
    feeds.push({ author: id, from, to });
  }
  return { network, exporter: toAuthorId(exporter), createdMs, bundleId, sealed, compression: codec, feeds };
}
