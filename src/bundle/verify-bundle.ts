/**
 * The check a bundle passes before any of it is ingested: one full read that
 * follows the layout, opens every chunk (unseal, inflate, split), counts the
 * events against the header, and verifies the exporter's signature over the
 * whole file; then that the exporter is a member of this network (this site
 * itself is one: a store registers its own identity as a member). The
 * events' own signatures and chains are checked by the store when ingesting.
 */
import { verifySignature } from "../engine/crypto.js";
import { hexToBytes, type AuthorId } from "../engine/ids.js";
import { deriveChunkKey, openChunk, type ChunkCodec, type ChunkOpenFailure } from "./bundle-chunks.js";
import { BUNDLE_SIGNATURE_CONTEXT, headerEventCount, type BundleCompression, type BundleFeed, type BundleHeader } from "./bundle-format.js";
import { BundleReadError, openBundleInput, type BundleInput, type ReadableBundle } from "./bundle-input.js";
import { problemMessage, type BundleProblem } from "./bundle-problems.js";
import type { ProgressListener } from "./bundle-progress.js";
import { readBundleParts, type BundlePart, type LayoutFault } from "./bundle-reader.js";

/** Whom this site accepts bundles from (SqliteStore has it). */
export interface BundleMembership {
  isMember(author: AuthorId): boolean;
}

export interface VerifyOptions {
  /** This site's network key; null if it has none (then only unsealed bundles can be read). */
  readonly networkKey: Uint8Array | null;
  /** This site's network name; a bundle naming another network is refused. Unset or null: not checked. */
  readonly network?: string | null;
  readonly onProgress?: ProgressListener;
}

/** What a bundle holds, from its header. */
export interface BundleSummary {
  readonly network: string | null;
  readonly exporter: AuthorId;
  readonly createdMs: number;
  readonly sealed: boolean;
  readonly compression: BundleCompression;
  readonly feeds: readonly BundleFeed[];
  readonly events: number;
  readonly bytes: number;
}

export type VerifyResult =
  | { readonly ok: true; readonly summary: BundleSummary; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problem: BundleProblem; readonly message: string; readonly summary: BundleSummary | null };

/** A passed check, with what the ingest pass needs to read the same file again. */
export type CheckedBundle = Extract<VerifyResult, { ok: true }> & {
  readonly header: BundleHeader;
  readonly codec: ChunkCodec;
  /** Per chunk, the SHA-256 the ingest pass must see again. */
  readonly chunkDigests: readonly Buffer[];
};

/** Warning given when an unsealed bundle is imported. */
export const UNSEALED_IMPORT_WARNING =
  "the bundle was not sealed (its exporting site has no network key): its records were readable by anyone holding the file";

/** Checks the bundle in `input` without ingesting anything (a dry run of import). Never throws for a bad bundle. */
export async function verifyBundle(membership: BundleMembership, input: BundleInput, options: VerifyOptions): Promise<VerifyResult> {
  let bundle: ReadableBundle;
  try {
    bundle = await openBundleInput(input, options.onProgress);
  } catch (err) {
    return unreadable(err, input.name);
  }
  try {
    const r = await checkBundle(bundle, membership, options);
    return r.ok ? { ok: true, summary: r.summary, warnings: r.warnings } : r;
  } catch (err) {
    return unreadable(err, input.name);
  } finally {
    await bundle.release();
  }
}

/** The refusal for a bundle whose bytes could not be read (named `name`, else by the error); rethrows anything else. */
export function unreadable(err: unknown, name?: string): Extract<VerifyResult, { ok: false }> {
  if (!(err instanceof BundleReadError)) throw err;
  const detail = err.cause instanceof Error ? err.cause.message : String(err.cause);
  return { ok: false, problem: "unreadable", message: problemMessage("unreadable", { name: name ?? err.file, detail }), summary: null };
}

/** What one read of the whole file found. */
interface Scan {
  header: BundleHeader | null;
  codec: ChunkCodec | null;
  fault: LayoutFault | null;
  end: Extract<BundlePart, { kind: "end" }> | null;
  chunkFailure: { index: number; reason: ChunkOpenFailure } | null;
  events: number;
  digests: Buffer[];
}

/** Reads `bundle` once and decides. Throws BundleReadError if its bytes cannot be read. */
export async function checkBundle(
  bundle: ReadableBundle,
  membership: BundleMembership,
  options: VerifyOptions,
): Promise<CheckedBundle | Extract<VerifyResult, { ok: false }>> {
  const s = await scan(bundle, options);
  const summary = s.header ? summarize(s.header, bundle.size) : null;
  const refuse = (problem: BundleProblem, detail?: string, at?: number) => ({
    ok: false as const, problem, summary,
    message: problemMessage(problem, {
      name: bundle.name, at, detail, exporter: s.header?.exporter, bundleNetwork: s.header?.network, siteNetwork: options.network,
    }),
  });
  if (s.fault || !s.header || !s.end || !s.codec || !summary) {
    return s.fault ? refuse(s.fault.problem, s.fault.detail, s.fault.at) : refuse("truncated");
  }
  const h = s.header;
  const message = Buffer.concat([Buffer.from(BUNDLE_SIGNATURE_CONTEXT, "utf8"), s.end.signedHash]);
  if (!verifySignature(hexToBytes(h.exporter), message, s.end.signature)) return refuse("bad-signature");
  const siteNetwork = options.network ?? null;
  if (siteNetwork !== null && h.network !== null && siteNetwork !== h.network) return refuse("foreign-network");
  if (!membership.isMember(h.exporter)) return refuse("non-member");
  if (h.sealed && !options.networkKey) return refuse("no-key");
  // The key that opens no chunk is another key; a chunk that fails after others opened was moved or altered by the signer.
  if (s.chunkFailure?.reason === "sealed-tag" && s.chunkFailure.index === 0) return refuse("wrong-key");
  if (s.chunkFailure) return refuse("malformed-content", `chunk ${s.chunkFailure.index}: ${s.chunkFailure.reason}`);
  if (s.events !== summary.events) return refuse("malformed-content", `the header announces ${summary.events} events, the chunks hold ${s.events}`);
  const warnings = h.sealed ? [] : [UNSEALED_IMPORT_WARNING];
  return { ok: true, summary, warnings, header: h, codec: s.codec, chunkDigests: s.digests };
}

async function scan(bundle: ReadableBundle, options: VerifyOptions): Promise<Scan> {
  const s: Scan = { header: null, codec: null, fault: null, end: null, chunkFailure: null, events: 0, digests: [] };
  let total = 0;
  const report = (bytes: number) =>
    options.onProgress?.({ phase: "verify", events: Math.min(s.events, total), totalEvents: total, bytes, totalBytes: bundle.size });
  for await (const part of readBundleParts(bundle.open())) {
    if (part.kind === "header") {
      s.header = part.header;
      total = headerEventCount(part.header);
      const key = part.header.sealed && options.networkKey ? deriveChunkKey(options.networkKey, part.preambleHash) : null;
      s.codec = { key, compression: part.header.compression };
    } else if (part.kind === "chunk") {
      s.digests.push(part.digest);
      // A sealed bundle at a site without a key is refused as such once the signature is checked.
      const opens = s.codec !== null && (s.codec.key !== null || !s.header?.sealed);
      if (opens && s.codec && !s.chunkFailure) {
        const r = openChunk(s.codec, part.index, part.final, part.payload);
        if (r.ok) s.events += r.events.length;
        else s.chunkFailure = { index: part.index, reason: r.reason };
      }
      report(part.offset);
    } else if (part.kind === "end") {
      s.end = part;
      report(part.bytes);
    } else {
      s.fault = part;
    }
  }
  return s;
}

function summarize(h: BundleHeader, bytes: number): BundleSummary {
  return {
    network: h.network, exporter: h.exporter, createdMs: h.createdMs, sealed: h.sealed, compression: h.compression,
    feeds: h.feeds, events: headerEventCount(h), bytes,
  };
}
