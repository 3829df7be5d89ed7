/**
 * The ingest benchmark: signed upserts from a few sites, arriving as sync
 * "events" messages of 100 wire items, ingested through the radio path
 * (`store.ingestWire`) into a SQLite file store with default durability. Only
 * ingest is timed; events are signed beforehand, in worker threads.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { AuthorId } from "../src/engine/ids.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { decodeMessage } from "../src/engine/sync/messages.js";
import type { EncodedBatch, VerifyInputs } from "./feeds.js";
import { benchSigners, type WorkloadOptions } from "./fixtures.js";
import { log, since } from "./metrics.js";
import type { SignJob, SignResult } from "./sign-worker.js";

/** Signs a workload in `workers` threads, splitting authors between them. */
export async function signInWorkers(workload: WorkloadOptions, batchSize: number, workers: number): Promise<SignResult> {
  const jobs: SignJob[] = Array.from({ length: Math.min(workers, workload.authors) }, (_, w) => ({
    workload,
    batchSize,
    authors: Array.from({ length: workload.authors }, (_, a) => a).filter((a) => a % workers === w),
  }));
  const results = await Promise.all(
    jobs.map(
      (job) =>
        new Promise<SignResult>((resolve, reject) => {
          const worker = new Worker(new URL("./sign-worker.js", import.meta.url), { workerData: job });
          worker.once("message", (r: SignResult) => resolve(r));
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`sign worker exited (${code}) before posting its result`)));
        }),
    ),
  );
  const batches = results.flatMap((r) => r.batches).sort((a, b) => a.order - b.order);
  const parts = results.map((r) => r.verify);
  return {
    batches,
    verify: {
      authors: Buffer.concat(parts.map((p) => p.authors)),
      messages: Buffer.concat(parts.map((p) => p.messages)),
      signatures: Buffer.concat(parts.map((p) => p.signatures)),
      count: parts.reduce((n, p) => n + p.count, 0),
    },
  };
}

/** What the ingest run measured, plus the inputs the verify benchmarks reuse. */
export interface IngestResult {
  readonly events: number;
  readonly edits: number;
  readonly records: number;
  /** Time inside store.ingestWire only. */
  readonly ingestMs: number;
  /** Time decoding the messages (not part of the ingest rate). */
  readonly decodeMs: number;
  readonly perSecond: number;
  readonly storeBytes: number;
  readonly verify: VerifyInputs;
  readonly keys: Uint8Array[];
}

/** Default workload: 200,000 household-survey upserts from 5 sites, 20% corrections. */
export const INGEST_WORKLOAD: WorkloadOptions = { seed: 20261120, authors: 5, events: 200_000, editShare: 0.2 };

/** Ingests `batches` in order into a fresh file store in a temp dir and times the ingest calls. */
export function ingestBatches(batches: readonly EncodedBatch[], authors: readonly AuthorId[]): { ingestMs: number; decodeMs: number; records: number; storeBytes: number } {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-bench-"));
  try {
    const store = openStore({ path: join(dir, "store.db") });
    for (const a of authors) store.addMember(a);
    let ingestMs = 0;
    let decodeMs = 0;
    let done = 0;
    for (const b of batches) {
      const t0 = performance.now();
      const parsed = decodeMessage(b.bytes);
      if (!parsed.ok || parsed.message.type !== "events") throw new Error(`batch of author ${b.author} did not decode`);
      const author = store.authorByShort(parsed.message.short);
      if (!author) throw new Error("batch from an unknown author");
      const t1 = performance.now();
      const report = store.ingestWire(author, parsed.message.start, parsed.message.items);
      ingestMs += since(t1);
      decodeMs += t1 - t0;
      if (report.applied !== b.count) throw new Error(`batch ${b.author}#${b.start}: applied ${report.applied} of ${b.count}: ${JSON.stringify(report.refused)}`);
      done += b.count;
      if (done % 50_000 < b.count) log(`ingest: ${done} events, ${((done / ingestMs) * 1000).toFixed(0)}/s so far`);
    }
    const records = store.recordCount();
    store.close();
    const storeBytes = statSync(join(dir, "store.db")).size;
    return { ingestMs, decodeMs, records, storeBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Signs the workload (untimed), then ingests it (timed). */
export async function benchIngest(workload: WorkloadOptions = INGEST_WORKLOAD, batchSize = 100): Promise<IngestResult> {
  const signers = benchSigners(workload.authors);
  const t = performance.now();
  const signed = await signInWorkers(workload, batchSize, 2);
  log(`ingest: signed ${signed.verify.count} events in ${(since(t) / 1000).toFixed(1)} s (2 workers, untimed)`);
  const r = ingestBatches(signed.batches, signers.map((s) => s.author));
  const events = signed.verify.count;
  log(`ingest: ${events} events, ${r.records} records, store ${(r.storeBytes / 1e6).toFixed(0)} MB; decode ${((r.decodeMs * 1000) / events).toFixed(1)} µs/event (untimed)`);
  return {
    events,
    edits: events - r.records,
    records: r.records,
    ingestMs: r.ingestMs,
    decodeMs: r.decodeMs,
    perSecond: (events / r.ingestMs) * 1000,
    storeBytes: r.storeBytes,
    verify: signed.verify,
    keys: signers.map((s) => s.publicKey),
  };
}
