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
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { AuthorId } from "../engine/ids.js";
import type { IngestReport, RefusalReason } from "../engine/store/ingest-types.js";
import { openChunk } from "./bundle-chunks.js";
import type { BundleFeed } from "./bundle-format.js";
import { BundleReadError, openBundleInput, type BundleInput, type ReadableBundle } from "./bundle-input.js";
import { problemMessage, shortAuthor, type BundleProblem } from "./bundle-problems.js";
import { readBundleParts } from "./bundle-reader.js";
import { checkBundle, unreadable, type BundleMembership, type BundleSummary, type CheckedBundle, type VerifyOptions } from "./verify-bundle.js";

/** What import needs from the store (SqliteStore has it). */
export interface BundleImportStore extends BundleMembership {
  headSeq(author: AuthorId): number;
  ingestEncoded(encoded: readonly Uint8Array[]): IngestReport;
}

export interface ImportOptions extends VerifyOptions {
  /** Events per store transaction (default INGEST_BATCH_EVENTS). */
  readonly batchEvents?: number;
}

/**
 * Events per ingest call: one transaction (one sync to disk) each, so large
 * enough to amortize it, small enough that the event loop (radio, HTTP) is
 * not held for long.
 */
export const INGEST_BATCH_EVENTS = 1000;

/** What happened to a bundle's events. `applied` may exceed the events offered: it counts buffered events they completed. */
export interface ImportCounts {
  /** Events in the bundle. */
  readonly events: number;
  /** New events applied. */
  readonly applied: number;
  /** Events this site already had. */
  readonly duplicates: number;
  /** Events held in the gap buffer, waiting for a predecessor. */
  readonly buffered: number;
  /** Events refused by the store, by reason (a non-member author, a bad signature, a fork, ...). */
  readonly refused: Partial<Record<RefusalReason, number>>;
  /** Events of feeds skipped for a gap (see `gaps`). */
  readonly skipped: number;
}

/** A feed the bundle holds from `from`, while this site holds it only up to `have` < from - 1. */
export interface FeedGap extends BundleFeed {
  readonly have: number;
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

const noCounts = (events: number): ImportCounts => ({ events, applied: 0, duplicates: 0, buffered: 0, refused: {}, skipped: 0 });

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

/** Running totals of the ingest pass. */
interface Tally {
  applied: number;
  duplicates: number;
  buffered: number;
  refused: Partial<Record<RefusalReason, number>>;
  skipped: number;
  /** Events ingested or skipped. */
  done: number;
}

async function ingestBundle(store: BundleImportStore, bundle: ReadableBundle, checked: CheckedBundle, options: ImportOptions): Promise<ImportResult> {
  const total = checked.summary.events;
  const t: Tally = { applied: 0, duplicates: 0, buffered: 0, refused: {}, skipped: 0, done: 0 };
  const feeds = createFeedCursor(checked.header.feeds, store);
  const batchSize = options.batchEvents ?? INGEST_BATCH_EVENTS;
  let batch: Buffer[] = [];
  let bytes = 0;
  const report = () => options.onProgress?.({ phase: "ingest", events: t.done, totalEvents: total, bytes, totalBytes: bundle.size });
  const flush = async () => {
    if (batch.length === 0) return;
    addReport(t, store.ingestEncoded(batch), batch.length);
    batch = [];
    report();
    await yieldToEventLoop(); // let the radio and HTTP run between transactions
  };
  const failed = (problem: BundleProblem, detail: string): ImportResult => ({
    ok: false, problem, summary: checked.summary, counts: countsOf(t, total),
    message: problemMessage(problem, { name: bundle.name, detail }),
  });
  try {
    for await (const part of readBundleParts(bundle.open())) {
      if (part.kind === "fault") return failed("changed-while-importing", `at byte ${part.at}`);
      if (part.kind === "end") bytes = part.bytes;
      if (part.kind !== "chunk") continue;
      const opened = part.digest.equals(checked.chunkDigests[part.index] ?? Buffer.alloc(0))
        ? openChunk(checked.codec, part.index, part.final, part.payload)
        : null;
      if (!opened?.ok) return failed("changed-while-importing", `chunk ${part.index}`);
      bytes = part.offset;
      for (const ev of opened.events) {
        if (feeds.next()) batch.push(ev);
        else {
          t.skipped++;
          t.done++;
        }
        if (batch.length >= batchSize) await flush();
      }
      report();
    }
    await flush();
    report();
  } catch (err) {
    if (!(err instanceof BundleReadError)) throw err;
    return { ...unreadable(err, bundle.name), counts: countsOf(t, total) };
  }
  return succeeded(checked, countsOf(t, total), feeds.gaps);
}

function addReport(t: Tally, r: IngestReport, offered: number): void {
  t.applied += r.applied;
  t.duplicates += r.duplicates;
  t.buffered += r.buffered;
  for (const [reason, n] of Object.entries(r.refused) as [RefusalReason, number][]) t.refused[reason] = (t.refused[reason] ?? 0) + n;
  t.done += offered;
}

function countsOf(t: Tally, events: number): ImportCounts {
  return { events, applied: t.applied, duplicates: t.duplicates, buffered: t.buffered, refused: { ...t.refused }, skipped: t.skipped };
}

/**
 * Walks the header's feeds alongside the events (they come feed after feed,
 * in header order) and decides, as each feed starts, whether its events can
 * apply here: a feed is skipped if it starts beyond this site's head + 1.
 */
function createFeedCursor(feeds: readonly BundleFeed[], store: BundleImportStore): { next(): boolean; gaps: FeedGap[] } {
  const gaps: FeedGap[] = [];
  let ix = -1;
  let left = 0;
  let take = true;
  return {
    next() {
      while (left === 0 && ix + 1 < feeds.length) {
        const feed = feeds[++ix] as BundleFeed;
        left = feed.to - feed.from + 1;
        const have = store.headSeq(feed.author);
        take = feed.from <= have + 1;
        if (!take) gaps.push({ ...feed, have });
      }
      left--;
      return take;
    },
    gaps,
  };
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
