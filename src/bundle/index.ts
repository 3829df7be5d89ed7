/**
 * Bundles: a site's feeds in one signed (and, with a network key, sealed)
 * file, carried on a USB stick when the radio is down. Format:
 * bundle-format.ts. The CLI (`meshlogd export FILE` / `meshlogd import FILE`)
 * passes file paths; the HTTP API passes an upload stream or a response
 * stream. Import refuses a bad bundle with a message and ingests nothing.
 */
export { exportBundle, feedsToExport, BundleSignerError, UNSEALED_WARNING, type BundleExportStore, type ExportOptions, type ExportResult } from "./export-bundle.js";
export { importBundle, INGEST_BATCH_EVENTS, type BundleImportStore, type FeedGap, type ImportCounts, type ImportOptions, type ImportResult } from "./import-bundle.js";
export { verifyBundle, UNSEALED_IMPORT_WARNING, type BundleMembership, type BundleSummary, type VerifyOptions, type VerifyResult } from "./verify-bundle.js";
export { BundleReadError, type BundleInput } from "./bundle-input.js";
export type { BundleOutput } from "./bundle-output.js";
export type { BundleProblem } from "./bundle-problems.js";
export type { BundlePhase, BundleProgress, ProgressListener } from "./bundle-progress.js";
export { BUNDLE_FORMAT_VERSION, type BundleFeed } from "./bundle-format.js";
