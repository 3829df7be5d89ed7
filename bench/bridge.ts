/**
 * Bridge benchmarks over loopback HTTP, against the test doubles:
 * - poll: 10,000 submissions of a 40-field form polled from the Kobo double,
 *   translated and stored as signed events (one bridge round, timed);
 * - write: converged records (from another site's feed) written to the
 *   Central double as new submissions, until the outbox is empty.
 * Each uses a real SQLite file with default durability.
 */
import { KIND } from "../src/engine/event.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBridge } from "../src/bridge/bridge.js";
import { Worker } from "node:worker_threads";
import { parseBridgeConfig } from "../src/bridge/mapping-config.js";
import { valueFromText } from "../src/bridge/field-codec.js";
import type { FieldType } from "../src/bridge/form-schema.js";
import type { CborMap } from "../src/engine/cbor.js";
import { generateSigner } from "../src/engine/crypto.js";
import type { RecordId, RecordType } from "../src/engine/ids.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { benchAnswers, QUESTIONS } from "./bridge-forms.js";
import type { DoubleJob, DoubleReady } from "./double-worker.js";
import { log, since } from "./metrics.js";

export const BRIDGE_WORKLOAD = { pollSubmissions: 10_000, writeRecords: 2_000 } as const;

const TOKEN = "b".repeat(40);
const USER = { email: "bench@example.test", password: "bench-password" };

/** A double in its own thread (double-worker.ts), as a real server runs in its own process. */
interface RunningDouble extends DoubleReady {
  count(): Promise<number>;
  stop(): Promise<void>;
}

function startDouble(job: DoubleJob): Promise<RunningDouble> {
  const worker = new Worker(new URL("./double-worker.js", import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (ready: DoubleReady) =>
      resolve({
        ...ready,
        count: () =>
          new Promise((res) => {
            worker.once("message", (m: { count: number }) => res(m.count));
            worker.postMessage({ count: true });
          }),
        stop: async () => {
          worker.postMessage({ stop: true });
          await new Promise((res) => worker.once("exit", res));
        },
      }),
    );
  });
}

export async function benchBridgePoll(submissions: number): Promise<{ perSecond: number; events: number }> {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-bench-poll-"));
  const asset = { uid: "aBenchAssessmentKobo01" };
  const seedStart = performance.now();
  const kobo = await startDouble({ kind: "kobo", token: TOKEN, assetUid: asset.uid, submissions });
  const url = kobo.url;
  log(`bridge poll: ${submissions} submissions seeded in the Kobo double in ${(since(seedStart) / 1000).toFixed(1)} s`);
  const store = openStore({ path: join(dir, "site.db"), signer: generateSigner().signer, verifyPool: null });
  const config = parseBridgeConfig({
    server: { kind: "kobo", url, token: TOKEN },
    mappings: [{ type: "assessment", source: { kobo: { asset: asset.uid } } }],
  });
  const bridge = createBridge({ store, config });
  try {
    const opened = await bridge.open();
    if (!opened.ok) throw new Error(JSON.stringify(opened.error));
    const start = performance.now();
    await bridge.syncOnce();
    const ms = since(start);
    // One upsert per submission; the vocabulary the bridge publishes at open is not a submission.
    const events = (store.db.prepare("SELECT count(*) AS n FROM events WHERE kind = ?").get(KIND.upsert) as { n: number }).n;
    if (events !== submissions) throw new Error(`expected ${submissions} upserts, the store holds ${events}`);
    log(`bridge poll: ${events} submissions → signed events in ${(ms / 1000).toFixed(2)} s (${((ms * 1000) / events).toFixed(0)} µs each)`);
    return { perSecond: events / (ms / 1000), events };
  } finally {
    await bridge.stop();
    store.close();
    await kobo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const KIND_TYPE: Record<string, FieldType> = {
  text: "string", integer: "int", decimal: "decimal", select_one: "select_one", select_multiple: "select_multiple", date: "date", geopoint: "geopoint",
};

export async function benchBridgeWrite(records: number): Promise<{ perSecond: number; written: number }> {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-bench-write-"));
  const central = await startDouble({ kind: "odk", user: USER, formId: "bench_assessment" });
  const { url } = central;
  const project = central.project!;
  const form = central.form!;
  // Another site's feed: one upsert per record, all 40 fields.
  const origin = openStore({ path: ":memory:", signer: generateSigner().signer, verifyPool: null });
  for (let i = 0; i < records; i++) {
    const a = benchAnswers(i);
    const fields: CborMap = {};
    for (const q of QUESTIONS) fields[q.name] = valueFromText(KIND_TYPE[q.kind]!, a[q.name]!);
    const id = `uuid:00000000-0000-4000-8000-${String(i).padStart(12, "0")}` as RecordId;
    origin.append({ kind: "upsert", record: id, type: "assessment" as RecordType, base: null, fields });
  }
  const signer = generateSigner().signer;
  const store = openStore({ path: join(dir, "site.db"), signer });
  const [author] = origin.frontier().keys();
  store.addMember(author!, "origin");
  const report = store.ingest(origin.readEvents(author!, 1, records));
  if (report.applied !== records) throw new Error(`ingest applied ${report.applied} of ${records}`);
  const config = parseBridgeConfig({
    server: { kind: "odk", url, ...USER },
    mappings: [{ type: "assessment", source: { odk: { project, form } } }],
  });
  const bridge = createBridge({ store, config });
  try {
    const opened = await bridge.open();
    if (!opened.ok) throw new Error(JSON.stringify(opened.error));
    const start = performance.now();
    while (bridge.status().outbox.written < records) {
      const before = bridge.status().outbox.written;
      await bridge.syncOnce();
      if (bridge.status().outbox.written === before) throw new Error(`writes stalled: ${JSON.stringify(bridge.status())}`);
    }
    const ms = since(start);
    const held = await central.count();
    if (held !== records) throw new Error(`Central holds ${held} submissions, expected ${records}`);
    log(`bridge write: ${records} records → Central submissions in ${(ms / 1000).toFixed(2)} s (${((ms * 1000) / records).toFixed(0)} µs each)`);
    return { perSecond: records / (ms / 1000), written: records };
  } finally {
    await bridge.stop();
    store.close();
    origin.close();
    await central.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
