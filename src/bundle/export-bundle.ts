/**
 * `meshlogd export`: writes this site's copy of every member's feed (or only
 * what another site's frontier lacks) to a bundle file or stream, page by
 * page, in bounded memory. Layout and sealing: bundle-format.ts.
 */
import { createHash, randomBytes as nodeRandomBytes } from "node:crypto";
import type { Signer } from "../engine/crypto.js";
import type { SignedEvent } from "../engine/event.js";
import { encodeSignedEvent } from "../engine/event-codec.js";
import type { Frontier } from "../engine/frontier.js";
import type { AuthorId } from "../engine/ids.js";
import { StoreCorruptError } from "../engine/store/store-corrupt-error.js";
import { createChunkAssembler, deriveChunkKey } from "./bundle-chunks.js";
import {
  BUNDLE_ID_BYTES, BUNDLE_SIGNATURE_CONTEXT, CHUNK_TARGET_BYTES, encodePreamble, headerEventCount, type BundleFeed, type BundleHeader,
} from "./bundle-format.js";
import { openByteSink, type BundleOutput, type ByteSink } from "./bundle-output.js";
import type { ProgressListener } from "./bundle-progress.js";

/** What export reads from the store (SqliteStore has it). */
export interface BundleExportStore {
  frontier(): Frontier;
  readEvents(author: AuthorId, from: number, to: number): SignedEvent[];
  localAuthor(): AuthorId;
}

export interface ExportOptions {
  /** This site's identity: it must be the store's own author (it signs the file). */
  readonly signer: Signer;
  /** The network key (parseNetworkKey); null writes an unsealed bundle, with a warning in the result. */
  readonly networkKey: Uint8Array | null;
  /** The network's name from the config, recorded so another network's site refuses the bundle; null if none. */
  readonly network: string | null;
  /** Export only what a site at this frontier lacks (e.g. the other site's, from its status). Default: everything. */
  readonly since?: Frontier;
  /** Deflate the chunks (default true): survey events shrink to about a third. */
  readonly compress?: boolean;
  /** Plain bytes per chunk, 1..CHUNK_TARGET_BYTES (default the maximum); smaller only to test multi-chunk files cheaply. */
  readonly chunkBytes?: number;
  readonly now?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
  readonly onProgress?: ProgressListener;
}

export interface ExportResult {
  readonly events: number;
  /** Size of the bundle. */
  readonly bytes: number;
  readonly chunks: number;
  readonly feeds: readonly BundleFeed[];
  readonly sealed: boolean;
  /** Things the user should know (an unsealed bundle). */
  readonly warnings: readonly string[];
}

/** Thrown when export is called with a signer that is not the store's own identity (programmer misuse). */
export class BundleSignerError extends Error {
  override readonly name = "BundleSignerError";
  constructor(
    readonly signer: AuthorId,
    readonly storeAuthor: AuthorId,
  ) {
    super(`a bundle must be signed by the store's own identity ${storeAuthor}, not ${signer}`);
  }
}

/** Events read from the store at a time: bounds memory, and is large enough that each read is cheap. */
export const EXPORT_PAGE_EVENTS = 1000;

/** Warning given with an unsealed bundle. */
export const UNSEALED_WARNING =
  "the bundle is not sealed: this site has no network key, so anyone holding the file can read its records; " +
  "set the network key in the config (the same at every site) to seal bundles and radio frames";

/** The feeds a bundle holds: every feed of `frontier` beyond what `since` holds, by author. */
export function feedsToExport(frontier: Frontier, since?: Frontier): BundleFeed[] {
  const feeds: BundleFeed[] = [];
  for (const [author, head] of frontier) {
    const from = (since?.get(author) ?? 0) + 1;
    if (head >= from) feeds.push({ author, from, to: head });
  }
  return feeds.sort((a, b) => (a.author < b.author ? -1 : a.author > b.author ? 1 : 0));
}

/**
 * Writes a bundle of `store`'s feeds to `output`. Resolves once the bundle is
 * complete (a file renamed into place and synced; a stream ended). On failure
 * a file output leaves nothing behind and a stream is destroyed. Throws
 * BundleSignerError on a signer that is not the store's identity.
 */
export async function exportBundle(store: BundleExportStore, output: BundleOutput, options: ExportOptions): Promise<ExportResult> {
  const storeAuthor = store.localAuthor();
  if (options.signer.author !== storeAuthor) throw new BundleSignerError(options.signer.author, storeAuthor);
  const chunkBytes = options.chunkBytes ?? CHUNK_TARGET_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > CHUNK_TARGET_BYTES) {
    throw new RangeError(`chunkBytes must be 1..${CHUNK_TARGET_BYTES}, got ${chunkBytes}`);
  }
  const header: BundleHeader = {
    network: options.network,
    exporter: options.signer.author,
    createdMs: (options.now ?? Date.now)(),
    bundleId: (options.randomBytes ?? nodeRandomBytes)(BUNDLE_ID_BYTES),
    sealed: options.networkKey !== null,
    compression: options.compress === false ? "none" : "deflate-raw",
    feeds: feedsToExport(store.frontier(), options.since),
  };
  const sink = await openByteSink(output);
  try {
    const written = await writeBundle(store, header, sink, options);
    await sink.commit();
    return { ...written, feeds: header.feeds, sealed: header.sealed, warnings: header.sealed ? [] : [UNSEALED_WARNING] };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

async function writeBundle(
  store: BundleExportStore,
  header: BundleHeader,
  sink: ByteSink,
  options: ExportOptions,
): Promise<{ events: number; bytes: number; chunks: number }> {
  const hash = createHash("sha256");
  const totalEvents = headerEventCount(header);
  let bytes = 0;
  let events = 0;
  const emit = async (b: Buffer) => {
    hash.update(b);
    bytes += b.length;
    await sink.write(b);
  };
  const report = () => options.onProgress?.({ phase: "export", events, totalEvents, bytes, totalBytes: null });
  const preamble = encodePreamble(header);
  const key = options.networkKey ? deriveChunkKey(options.networkKey, createHash("sha256").update(preamble).digest()) : null;
  const chunks = createChunkAssembler({ key, compression: header.compression }, options.chunkBytes);
  await emit(preamble);
  for (const feed of header.feeds) {
    for (const page of feedPages(store, feed)) {
      for (const ev of page) {
        const full = chunks.add(encodeSignedEvent(ev));
        if (full) {
          await emit(full);
          report();
        }
        events++;
      }
    }
  }
  await emit(chunks.finish());
  report();
  const signature = options.signer.sign(Buffer.concat([Buffer.from(BUNDLE_SIGNATURE_CONTEXT, "utf8"), hash.digest()]));
  await sink.write(signature); // not hashed: it signs the hash of everything before it
  return { events, bytes: bytes + signature.length, chunks: chunks.chunks };
}

/** A feed's events, EXPORT_PAGE_EVENTS at a time. Throws StoreCorruptError if the store lacks any it claims to hold. */
function* feedPages(store: BundleExportStore, feed: BundleFeed): Generator<SignedEvent[]> {
  for (let from = feed.from; from <= feed.to; from += EXPORT_PAGE_EVENTS) {
    const to = Math.min(feed.to, from + EXPORT_PAGE_EVENTS - 1);
    const page = store.readEvents(feed.author, from, to);
    if (page.length !== to - from + 1 || page[0]?.seq !== from) {
      throw new StoreCorruptError(`feed ${feed.author} should hold ${from}..${to} but ${page.length} events were read`);
    }
    yield page;
  }
}
