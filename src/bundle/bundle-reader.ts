/**
 * Reads a bundle's structure (bundle-format.ts) from a byte stream, one part
 * at a time: the header, each chunk as stored, and the signature with the
 * hash it must sign. Checks layout only (magic, version, lengths, flags, end
 * of file); what the parts mean is for verify-bundle.ts and import-bundle.ts.
 */
import { createHash } from "node:crypto";
import { createByteReader, type ByteReader } from "./byte-reader.js";
import {
  BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, BUNDLE_SIGNATURE_BYTES, CHUNK_FINAL, CHUNK_HEAD_BYTES, MAX_CHUNK_BYTES, MAX_HEADER_BYTES,
  PREAMBLE_BYTES, SEAL_TAG_BYTES, parseHeader, type BundleHeader,
} from "./bundle-format.js";

/** A layout fault: the file cannot be read on (a truncated copy, bytes that are not a bundle, a damaged length or flag). */
export interface LayoutFault {
  readonly kind: "fault";
  readonly problem: "not-a-bundle" | "unsupported-version" | "truncated" | "damaged";
  /** Byte offset where reading stopped. */
  readonly at: number;
  readonly detail: string;
}

/** One part of a bundle, in file order. A stream of parts ends with "end" or a fault. */
export type BundlePart =
  | { readonly kind: "header"; readonly header: BundleHeader; readonly preambleHash: Buffer }
  | {
      readonly kind: "chunk";
      readonly index: number;
      readonly final: boolean;
      readonly payload: Buffer;
      /** SHA-256 of the chunk as stored (flags, length, payload): a second read can check it got the same bytes. */
      readonly digest: Buffer;
      /** Bytes read so far, this chunk included. */
      readonly offset: number;
    }
  | { readonly kind: "end"; readonly signature: Buffer; readonly signedHash: Buffer; readonly bytes: number }
  | LayoutFault;

const fault = (problem: LayoutFault["problem"], at: number, detail: string): LayoutFault => ({ kind: "fault", problem, at, detail });

/** The parts of the bundle in `source`. Stops (and releases the source) after "end" or a fault, or when the caller stops. */
export async function* readBundleParts(source: AsyncIterable<Uint8Array>): AsyncGenerator<BundlePart, void, undefined> {
  const r = createByteReader(source);
  try {
    const f = yield* readParts(r);
    if (f) yield f;
  } finally {
    await r.close();
  }
}

/** Yields the parts up to the signature; returns the fault that stopped it, if any. */
async function* readParts(r: ByteReader): AsyncGenerator<BundlePart, LayoutFault | null, undefined> {
  const whole = createHash("sha256");
  const pre = await r.read(PREAMBLE_BYTES);
  const magic = pre.subarray(0, BUNDLE_MAGIC.length);
  if (!BUNDLE_MAGIC.subarray(0, magic.length).equals(magic)) return fault("not-a-bundle", 0, "it does not start with the bundle marker");
  if (pre.length < PREAMBLE_BYTES) return fault("truncated", r.offset, "in the header");
  const version = pre[BUNDLE_MAGIC.length] as number;
  if (version !== BUNDLE_FORMAT_VERSION) return fault("unsupported-version", BUNDLE_MAGIC.length, `format version ${version}`);
  const headerLength = pre.readUInt32BE(BUNDLE_MAGIC.length + 1);
  if (headerLength > MAX_HEADER_BYTES) return fault("damaged", BUNDLE_MAGIC.length + 1, `a header length of ${headerLength} bytes`);
  const headerBytes = await r.read(headerLength);
  if (headerBytes.length < headerLength) return fault("truncated", r.offset, "in the header");
  const header = parseHeader(headerBytes);
  if (!header) return fault("damaged", PREAMBLE_BYTES, "an unreadable header");
  whole.update(pre).update(headerBytes);
  yield { kind: "header", header, preambleHash: createHash("sha256").update(pre).update(headerBytes).digest() };
  for (let index = 0; ; index++) {
    const part = await readChunk(r, index);
    if (part.kind === "fault") return part;
    whole.update(part.head).update(part.payload);
    yield { kind: "chunk", index, final: part.final, payload: part.payload, digest: part.digest, offset: r.offset };
    if (part.final) break;
  }
  const signedHash = whole.digest();
  const signature = await r.read(BUNDLE_SIGNATURE_BYTES);
  if (signature.length < BUNDLE_SIGNATURE_BYTES) return fault("truncated", r.offset, "in the signature");
  if (!(await r.atEnd())) return fault("damaged", r.offset, "bytes after the signature");
  yield { kind: "end", signature, signedHash, bytes: r.offset };
  return null;
}

type RawChunk = { kind: "chunk"; final: boolean; head: Buffer; payload: Buffer; digest: Buffer } | LayoutFault;

async function readChunk(r: ByteReader, index: number): Promise<RawChunk> {
  const head = await r.read(CHUNK_HEAD_BYTES);
  if (head.length < CHUNK_HEAD_BYTES) return fault("truncated", r.offset, `before the end of chunk ${index}`);
  const flags = head[0] as number;
  if ((flags & ~CHUNK_FINAL) !== 0) return fault("damaged", r.offset - CHUNK_HEAD_BYTES, `unknown flags on chunk ${index}`);
  const length = head.readUInt32BE(1);
  if (length > MAX_CHUNK_BYTES + SEAL_TAG_BYTES) return fault("damaged", r.offset - 4, `a chunk length of ${length} bytes`);
  const payload = await r.read(length);
  if (payload.length < length) return fault("truncated", r.offset, `in chunk ${index}`);
  const digest = createHash("sha256").update(head).update(payload).digest();
  return { kind: "chunk", final: (flags & CHUNK_FINAL) !== 0, head, payload, digest };
}
