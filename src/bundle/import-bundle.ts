/**
 * `meshlogd import`: checks a whole bundle first (verify-bundle.ts: nothing
 * is ingested from a truncated, altered, foreign or unopenable file), then
 * reads it again and hands its events to the store in batches through
 * `ingestEncoded`, the same verification radio traffic goes through
 * (signatures, hash chains, membership, forks). Importing a bundle twice
 * changes nothing the second time: every event is then a duplicate.
 *
 * A feed that starts beyond what this site holds (a bundle exported `since`
 * a frontier ahead of this site's) is skipped and reported as a gap, rather
 * than filling the store's gap buffer with events that cannot apply yet.
 */
import type { AuthorId } from "../engine/ids.js";
import type { IngestReport } from "../engine/store/ingest-types.js";
import { openChunk } from "./bundle-chunks.js";
import { BundleReadError, openBundleInput, type BundleInput, type ReadableBundle } from "./bundle-input.js";
import { problemMessage, shortAuthor, type BundleProblem } from "./bundle-problems.js";
import { createIngestBatcher, INGEST_BATCH_EVENTS, noCounts, type FeedGap, type ImportCounts } from "./ingest-batcher.js";
import { readBundleParts } from "./bundle-reader.js";
import { checkBundle, unreadable, type BundleMembership, type BundleSummary, type CheckedBundle, type VerifyOptions } from "./verify-bundle.js";

/** What import needs from the store (SqliteStore has it). */
export interface BundleImportStore extends BundleMembership {
  headSeq(author: AuthorId): number;
  ingestEncoded(encoded: readonly Uint8Array[]): IngestReport;
}

export { INGEST_BATCH_EVENTS, type FeedGap, type ImportCounts } from "./ingest-batcher.js";

export interface ImportOptions extends VerifyOptions {
  /** Events per store transaction (default INGEST_BATCH_EVENTS). */
  readonly batchEvents?: number;
}

export type ImportResult =
  | {
      readonly ok: true;
      readonly summary: BundleSummary;
      readonly counts: ImportCounts;
      readonly gaps: readonly FeedGap[];
      readonly warnings: readonly string[];
      /** One line for the user: what was imported. */
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly problem: BundleProblem;
      readonly message: string;
      readonly summary: BundleSummary | null;
      /** Zero unless the file changed or failed to read during the ingest pass (events imported until then are kept). */
      readonly counts: ImportCounts;
    };

/** Verifies, then ingests the bundle in `input`. Never throws for a bad bundle or unreadable input; store failures propagate. */
export async function importBundle(store: BundleImportStore, input: BundleInput, options: ImportOptions): Promise<ImportResult> {
  let bundle: ReadableBundle;
  try {
    bundle = await openBundleInput(input, options.onProgress);
  } catch (err) {
    return { ...unreadable(err, input.name), counts: noCounts(0) };
  }
  try {
    let checked: Awaited<ReturnType<typeof checkBundle>>;
    try {
      checked = await checkBundle(bundle, store, options);
    } catch (err) {
      return { ...unreadable(err, input.name), counts: noCounts(0) };
    }
    if (!checked.ok) return { ...checked, counts: noCounts(0) };
    return await ingestBundle(store, bundle, checked, options);
  } finally {
    await bundle.release();
  }
}

async function ingestBundle(store: BundleImportStore, bundle: ReadableBundle, checked: CheckedBundle, options: ImportOptions): Promise<ImportResult> {
  const batcher = createIngestBatcher(store, checked.header.feeds, {
    totalBytes: bundle.size, batchEvents: options.batchEvents ?? INGEST_BATCH_EVENTS, onProgress: options.onProgress,
  });
  const failed = (problem: BundleProblem, detail: string): ImportResult => ({
    ok: false, problem, summary: checked.summary, counts: batcher.counts(),
    message: problemMessage(problem, { name: bundle.name, detail, imported: batcher.counts().applied }),
  });
  try {
    for await (const part of readBundleParts(bundle.open())) {
      if (part.kind === "fault") return failed("changed-while-importing", `at byte ${part.at}`);
      if (part.kind === "end") await batcher.finish(part.bytes);
      if (part.kind !== "chunk") continue;
      // The check pass saw these exact bytes; a chunk that differs now was rewritten in between.
      const same = part.digest.equals(checked.chunkDigests[part.index] ?? Buffer.alloc(0));
      const opened = same ? openChunk(checked.codec, part.index, part.final, part.payload) : null;
      if (!opened?.ok) return failed("changed-while-importing", `chunk ${part.index}`);
      await batcher.add(opened.events, part.offset);
    }
  } catch (err) {
    if (!(err instanceof BundleReadError)) throw err;
    return failed("unreadable", err.cause instanceof Error ? err.cause.message : String(err.cause));
  }
  return succeeded(checked, batcher.counts(), batcher.gaps);
}

function succeeded(checked: CheckedBundle, counts: ImportCounts, gaps: readonly FeedGap[]): ImportResult {
  const s = checked.summary;
  const refused = Object.entries(counts.refused).map(([reason, n]) => `${n} ${reason}`);
  const parts = [
    `${counts.applied} new events`,
    `${counts.duplicates} already here`,
    ...(counts.buffered > 0 ? [`${counts.buffered} waiting for earlier events`] : []),
    ...(refused.length > 0 ? [`refused: ${refused.join(", ")}`] : []),
    ...(counts.skipped > 0 ? [`${counts.skipped} skipped for gaps`] : []),
  ];
  const gapWarnings = gaps.map(
    (g) =>
      `feed ${shortAuthor(g.author)}: the bundle holds seq ${g.from}..${g.to} but this site has only up to ${g.have}, ` +
      `so those events were skipped; import a bundle exported since this site's frontier (or a full one)`,
  );
  return {
    ok: true, summary: s, counts, gaps, warnings: [...checked.warnings, ...gapWarnings],
    message: `imported the bundle of ${shortAuthor(s.exporter)} (${s.events} events in ${s.feeds.length} feeds): ${parts.join("; ")}`,
  };
}
