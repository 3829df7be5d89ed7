/**
 * The bundle benchmark: household-survey upserts from five sites, held by
 * site A (signed in workers and ingested by radio path, untimed), exported to
 * a sealed, compressed bundle file (timed), then imported at a fresh site B
 * (timed: the whole-file check and the ingest through the store). Both stores
 * are SQLite files with default durability; the bundle is a temp file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportBundle, importBundle, type BundleProgress } from "../src/bundle/index.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { decodeMessage } from "../src/engine/sync/messages.js";
import { benchSigners, type WorkloadOptions } from "./fixtures.js";
import { signInWorkers } from "./ingest.js";
import { log, since } from "./metrics.js";

/** Default workload: 100,000 household-survey upserts from 5 sites, 20% corrections. */
export const BUNDLE_WORKLOAD: WorkloadOptions = { seed: 20261121, authors: 5, events: 100_000, editShare: 0.2 };

export interface BundleBenchResult {
  readonly events: number;
  readonly bytes: number;
  readonly exportMs: number;
  /** The whole import: the check pass and the ingest pass. */
  readonly importMs: number;
  /** The check pass alone (read, unseal, inflate, hash, signature). */
  readonly verifyMs: number;
}

/** Runs the workload: export from A, import at B. Throws if the import does not apply every event. */
export async function benchBundle(workload: WorkloadOptions = BUNDLE_WORKLOAD): Promise<BundleBenchResult> {
  const signers = benchSigners(workload.authors);
  const exporter = signers[0];
  if (!exporter) throw new RangeError("the bundle workload needs at least one author");
  const signed = await signInWorkers(workload, 100, 2);
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-bench-bundle-"));
  try {
    const a = openStore({ path: join(dir, "a.db"), signer: exporter });
    const b = openStore({ path: join(dir, "b.db") });
    for (const s of signers) for (const store of [a, b]) store.addMember(s.author);
    for (const batch of signed.batches) {
      const m = decodeMessage(batch.bytes);
      const author = m.ok && m.message.type === "events" ? a.authorByShort(m.message.short) : undefined;
      if (!m.ok || m.message.type !== "events" || !author) throw new Error("a signed batch did not decode");
      a.ingestWire(author, m.message.start, m.message.items);
    }
    const events = a.eventCount();
    log(`bundle: site A holds ${events} events (untimed setup)`);

    const key = randomBytes(32);
    const path = join(dir, "a.bundle");
    const t0 = performance.now();
    const exported = await exportBundle(a, { path }, { signer: exporter, networkKey: key, network: "bench" });
    const exportMs = since(t0);

    let verifyMs = 0;
    const t1 = performance.now();
    const onProgress = (p: BundleProgress) => {
      if (p.phase === "verify" && p.bytes === p.totalBytes) verifyMs = since(t1);
    };
    const imported = await importBundle(b, { path }, { networkKey: key, network: "bench", onProgress });
    const importMs = since(t1);
    if (!imported.ok || imported.counts.applied !== events) throw new Error(`bundle import incomplete: ${JSON.stringify(imported)}`);
    a.close();
    b.close();
    return { events, bytes: exported.bytes, exportMs, importMs, verifyMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
