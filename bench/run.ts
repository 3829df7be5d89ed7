/**
 * `npm run bench`: runs every benchmark in turn. stdout gets only metric
 * lines (one JSON object each); progress and diagnostics go to stderr.
 *
 * Options (for development): `--only=wire,ingest,rss,bridge,radio,bundle,hardening` runs a subset
 * (`--only=blob` runs only the attachment part of `radio`);
 * `--events=N`, `--rss-events=N`, `--poll-submissions=N`,
 * `--write-records=N`, `--bundle-events=N` and `--load-events=N` shrink the
 * workloads (the load site keeps one record per ten events).
 */
import { availableParallelism } from "node:os";
import { benchBridgePoll, benchBridgeWrite, BRIDGE_WORKLOAD } from "./bridge.js";
import { benchBundle, BUNDLE_WORKLOAD } from "./bundle.js";
import { LOAD_WORKLOAD } from "./hardening-store.js";
import { benchLoad } from "./hardening.js";
import { benchIngest, INGEST_WORKLOAD } from "./ingest.js";
import { log, printMetric, round, since } from "./metrics.js";
import { readFileSync } from "node:fs";
import { airtimeReport } from "../src/cli/airtime-report.js";
import { benchBlobLine, BLOB_WORKLOAD } from "./radio-blob.js";
import { benchIdleAirtime, benchLineConvergence, benchSeedLine, describeLine, RADIO_WORKLOAD, seedLowerBoundAirtimeMs } from "./radio.js";
import { benchRss, RSS_WORKLOAD } from "./rss-1m.js";
import { verifyNobleRate, verifyNodeRate } from "./verify.js";
import { measureWireBytes, wireBytesMetrics } from "./wire-bytes.js";

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const only = new Set((option("only") ?? "wire,ingest,rss,bridge,radio,bundle,hardening").split(","));
const events = Number(option("events") ?? INGEST_WORKLOAD.events);
const rssEvents = Number(option("rss-events") ?? RSS_WORKLOAD.events);
const pollSubmissions = Number(option("poll-submissions") ?? BRIDGE_WORKLOAD.pollSubmissions);
const writeRecords = Number(option("write-records") ?? BRIDGE_WORKLOAD.writeRecords);
const bundleEvents = Number(option("bundle-events") ?? BUNDLE_WORKLOAD.events);
const loadEvents = Number(option("load-events") ?? LOAD_WORKLOAD.events);

async function main(): Promise<void> {
  const start = performance.now();
  log(`node ${process.version}, ${availableParallelism()} cores`);

  if (only.has("wire")) {
    const w = measureWireBytes(100);
    log(`wire: ${w.submissions} submissions of ${w.fieldsPerSubmission} fields: ours ${w.ours} B, seed ${w.seed} B (${w.seedEventsPerSubmission} events each)`);
    for (const m of wireBytesMetrics(w)) printMetric(m);
  }

  if (only.has("ingest")) {
    const r = await benchIngest({ ...INGEST_WORKLOAD, events });
    log(`ingest: ${r.events} events (${r.edits} corrections) in ${(r.ingestMs / 1000).toFixed(1)} s: ${((r.ingestMs * 1000) / r.events).toFixed(1)} µs/event`);
    printMetric({ metric: "engine.ingest_events_per_s", value: round(r.perSecond), unit: "events/s" });

    const v = verifyNodeRate(r.verify, r.keys);
    log(`verify (node crypto): ${v.count} signatures in ${(v.ms / 1000).toFixed(1)} s: ${((v.ms * 1000) / v.count).toFixed(1)} µs each`);
    printMetric({ metric: "engine.verify_only_per_s", value: round(v.perSecond), unit: "verifications/s" });
    printMetric({ metric: "engine.ingest_vs_verify_ratio", value: round(r.perSecond / v.perSecond, 3), unit: "ratio" });

    const n = verifyNobleRate(r.verify, r.keys, 2_000);
    log(`verify (@noble/ed25519): ${n.count} signatures in ${(n.ms / 1000).toFixed(1)} s: ${((n.ms * 1000) / n.count).toFixed(0)} µs each; node crypto is ${(v.perSecond / n.perSecond).toFixed(1)}x faster`);
    printMetric({ metric: "engine.verify_noble_per_s", value: round(n.perSecond), unit: "verifications/s" });
  }

  if (only.has("rss")) {
    const r = await benchRss({ ...RSS_WORKLOAD, events: rssEvents });
    printMetric({ metric: "engine.rss_mb_1m_events", value: round(r.rssBytes / 1e6), unit: "MB" });
  }

  if (only.has("bridge")) {
    const p = await benchBridgePoll(pollSubmissions);
    printMetric({ metric: "bridge.poll_submissions_per_s", value: round(p.perSecond), unit: "submissions/s" });
    const w = await benchBridgeWrite(writeRecords);
    printMetric({ metric: "bridge.write_submissions_per_s", value: round(w.perSecond), unit: "submissions/s" });
  }

  if (only.has("radio")) await benchRadio();
  if (only.has("radio") || only.has("blob")) await benchBlob();

  if (only.has("bundle")) {
    const b = await benchBundle({ ...BUNDLE_WORKLOAD, events: bundleEvents });
    log(
      `bundle: ${b.events} events, ${(b.bytes / 1e6).toFixed(1)} MB sealed; export ${(b.exportMs / 1000).toFixed(1)} s, ` +
        `import ${(b.importMs / 1000).toFixed(1)} s (of which the whole-file check ${(b.verifyMs / 1000).toFixed(1)} s)`,
    );
    printMetric({ metric: "bundle.export_events_per_s", value: round((b.events / b.exportMs) * 1000), unit: "events/s" });
    printMetric({ metric: "bundle.import_events_per_s", value: round((b.events / b.importMs) * 1000), unit: "events/s" });
    printMetric({ metric: "bundle.bytes_per_event", value: round(b.bytes / b.events), unit: "bytes" });
  }

  if (only.has("hardening")) {
    for (const m of await benchLoad({ ...LOAD_WORKLOAD, events: loadEvents })) printMetric({ ...m, value: round(m.value) });
  }

  log(`done in ${(since(start) / 1000).toFixed(0)} s`);
}

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), "utf8"));

async function benchRadio(): Promise<void> {
  const modulation = { sf: 9, bandwidth: 125_000, cr: 5 };
  const a = airtimeReport({ asset: fixture("household-assessment-asset.json"), data: fixture("household-assessment-data.json"), modulation });
  log(`airtime: ${a.submissions} household submissions, sealed, SF9: ${(a.oneFrameShare * 100).toFixed(1)} % in one frame`);
  printMetric({ metric: "radio.bytes_on_air_per_submission_median", value: a.bytesOnAirMedian, unit: "bytes" });
  printMetric({ metric: "radio.frames_per_submission_median", value: a.framesMedian, unit: "frames" });
  printMetric({ metric: "radio.airtime_ms_per_submission_median", value: round(a.airtimeMsMedian), unit: "ms" });
  printMetric({ metric: "radio.seed_bytes_per_submission_median", value: a.seedBytesMedian, unit: "bytes" });
  printMetric({ metric: "radio.bytes_vs_seed_ratio", value: round(a.bytesOnAirMedian / a.seedBytesMedian, 3), unit: "ratio" });

  const idle = await benchIdleAirtime();
  log(`idle: ${RADIO_WORKLOAD.idleStations} converged stations used ${(idle.airtimeMs / 1000).toFixed(1)} s of airtime in a simulated day`);
  printMetric({ metric: "radio.idle_airtime_fraction", value: round(idle.fraction, 3), unit: "fraction" });

  const line = await benchLineConvergence();
  describeLine(line);
  printMetric({ metric: "radio.convergence_vs_lower_bound", value: round(line.convergenceMs / line.lowerBoundMs, 3), unit: "ratio" });
  // The seed saturates its budget and its queues grow without bound: a few simulated hours show it, and
  // the ratio is taken against the least airtime it could converge with (generous to the seed).
  const seed = await benchSeedLine(RADIO_WORKLOAD, 3 * 3_600_000);
  const seedBound = seedLowerBoundAirtimeMs();
  log(`seed protocol on the same air: ${(seed.airtimeMs / 1000).toFixed(0)} s of airtime in its first ${(seed.elapsedMs / 3_600_000).toFixed(0)} h, ${seed.converged ? "converged" : "not converged"}; it needs at least ${(seedBound / 1000).toFixed(0)} s to converge`);
  printMetric({ metric: "radio.airtime_vs_seed_protocol", value: round(line.airtimeMs / seedBound, 3), unit: "ratio" });
}

async function benchBlob(): Promise<void> {
  const hop = await benchBlobLine(2);
  printMetric({ metric: "radio.blob_bytes_per_hour_one_hop", value: round(BLOB_WORKLOAD.photoBytes / (hop.elapsedMs / 3_600_000)), unit: "bytes/h" });
  printMetric({ metric: "radio.blob_bytes_per_airtime_s", value: round(BLOB_WORKLOAD.photoBytes / (hop.blobAirtimeMs / 1000)), unit: "bytes/s" });
  const hops = await benchBlobLine(4);
  printMetric({ metric: "radio.blob_bytes_per_hour_three_hops", value: round(BLOB_WORKLOAD.photoBytes / (hops.elapsedMs / 3_600_000)), unit: "bytes/h" });
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
