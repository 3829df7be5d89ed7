/**
 * A real site data directory at field scale, for the load benchmarks: a
 * SQLite file with a million signed events from five member sites making a
 * hundred thousand household records (a creation, then corrections), a few
 * of them concurrent (an enumerator who had not seen the latest correction),
 * and the identity file of one of those sites. The bridge's tables hold what
 * a site that has written every record back to its Kobo server holds: a
 * local copy and a "written" outbox entry per record (filled through the
 * bridge store's own accessors rather than by 100,000 writes to a double).
 *
 * Building it takes minutes (signing and ingest), so it is cached under
 * .tmp/, keyed by the workload and a build version (change either and it is
 * built again); a cached file of an older schema is migrated once, as a
 * site's would be.
 */
import Database from "better-sqlite3";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CborValue } from "../src/engine/cbor.js";
import { seedToPkcs8, sha256 } from "../src/engine/crypto.js";
import type { Hlc } from "../src/engine/hlc.js";
import type { RecordId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { SCHEMA_VERSION } from "../src/engine/store/schema.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { listRecords, MAX_PAGE } from "../src/engine/store/store-queries.js";
import { createBridgeStore } from "../src/bridge/bridge-store.js";
import { DATABASE_FILE } from "../src/service/site.js";
import { FeedWriter } from "./feeds.js";
import { benchSigners, planUpserts, type PlannedUpsert, type WorkloadOptions } from "./fixtures.js";
import { log, since } from "./metrics.js";

/** Bump when the way the data directory is built changes, so a stale cache is not reused. */
const BUILD_VERSION = 1;
/** Wire items per ingested "events" message, as the radio path carries them. */
const BATCH_ITEMS = 100;
/** Corrections remembered for concurrent edits: the generator's own window of recent records. */
const RECENT_RECORDS = 5_000;

/** The load workload: 10 % new household records, 90 % corrections, from five sites. */
export interface LoadWorkload extends WorkloadOptions {
  /** Share of corrections made without having seen the record's latest correction (they race with it). */
  readonly concurrentShare: number;
}

/** A million events making a hundred thousand records. */
export const LOAD_WORKLOAD: LoadWorkload = {
  seed: 6_000_006, authors: 5, events: 1_000_000, editShare: 0.9, form: "hh_wash_survey", concurrentShare: 0.02,
};

/** The identity file's name in the data directory (the config's default). */
export const IDENTITY_FILE = "identity.pem";
/** The Kobo asset the site's config maps the household records to. */
export const LOAD_ASSET = "aLoadBenchHousehold";

/** A built data directory: the site is member 0 of the workload; the others are its peers. */
export interface LoadSiteData {
  readonly dir: string;
  readonly events: number;
  readonly records: number;
  readonly conflicts: number;
  /** Member public keys, this site's first. */
  readonly members: readonly string[];
}

const seedOf = (i: number): Buffer => sha256(Buffer.from(`meshlogd-bench/author/${i}`)); // as benchSigners derives them

/**
 * The workload's upserts with a share of corrections made concurrently: such
 * a correction names as its base the stamp before the record's latest one,
 * as an enumerator would who corrected a record offline before the latest
 * correction reached the site.
 */
function* withConcurrentEdits(w: LoadWorkload): Generator<PlannedUpsert> {
  const rand = seededRandom(w.seed ^ 0x5a5a5a);
  const previous = new Map<RecordId, Hlc | null>(); // record → the stamp before its latest
  const latest = new Map<RecordId, Hlc>();
  for (const p of planUpserts(w)) {
    const body = p.body;
    if (body.kind !== "upsert") throw new Error("the generator makes upserts only");
    const racing = p.edit && rand() < w.concurrentShare && previous.has(body.record);
    const out: PlannedUpsert = racing ? { ...p, body: { ...body, base: previous.get(body.record) ?? null } } : p;
    previous.set(body.record, latest.get(body.record) ?? null);
    latest.set(body.record, p.hlc);
    if (latest.size > 2 * RECENT_RECORDS) {
      const oldest = latest.keys().next().value as RecordId; // Map order is insertion order: forget the oldest
      latest.delete(oldest);
      previous.delete(oldest);
    }
    yield out;
  }
}

/** Ingests one batch of a feed's wire items through the radio path. */
function ingestBatch(store: SqliteStore, writer: FeedWriter, start: number, items: CborValue[]): void {
  const report = store.ingestWire(writer.signer.author, start, items);
  if (report.applied !== items.length) throw new Error(`ingest applied ${report.applied} of ${items.length}: ${JSON.stringify(report.refused)}`);
}

/** Signs the workload and ingests it, feed by feed in batches, into a new store at `path`. */
function buildStore(path: string, w: LoadWorkload): { events: number; records: number; conflicts: number } {
  const signers = benchSigners(w.authors);
  const store = openStore({ path, durability: "normal" });
  for (const s of signers) store.addMember(s.author);
  const writers = signers.map((s) => new FeedWriter(s));
  const pending = signers.map(() => ({ start: 1, items: [] as CborValue[] }));
  const t0 = performance.now();
  let events = 0;
  for (const p of withConcurrentEdits(w)) {
    const writer = writers[p.author] as FeedWriter;
    const feed = pending[p.author] as { start: number; items: CborValue[] };
    feed.items.push(writer.wireItem(writer.sign(p)));
    if (feed.items.length < BATCH_ITEMS) continue;
    ingestBatch(store, writer, feed.start, feed.items);
    events += feed.items.length;
    feed.start += feed.items.length;
    feed.items = [];
    if (events % 100_000 === 0) log(`hardening: built ${events} events in ${(since(t0) / 1000).toFixed(0)} s`);
  }
  pending.forEach((feed, a) => {
    if (feed.items.length > 0) ingestBatch(store, writers[a] as FeedWriter, feed.start, feed.items);
    events += feed.items.length;
  });
  const records = store.recordCount();
  const conflicts = (store.db.prepare("SELECT count(*) AS n FROM conflicts").get() as { n: number }).n;
  store.close();
  return { events, records, conflicts };
}

/**
 * Fills the bridge's tables as if every record had been written to the
 * Kobo asset: its local copy (the record's answers, a Kobo `_id`), a written
 * outbox entry, and the writer's cursor at the view's newest change.
 */
function fillBridgeTables(path: string): number {
  const store = openStore({ path, durability: "normal" });
  const bridge = createBridgeStore(store.db);
  const source = `kobo:${LOAD_ASSET}`;
  const now = Date.now();
  let n = 0;
  for (let after: string | null = ""; after !== null; ) {
    const page = listRecords(store, { after, limit: MAX_PAGE });
    store.atomically(() => {
      for (const r of page.records) {
        n += 1;
        const answers = new Map([...r.fields].map(([k, f]) => [k, f.value] as const));
        bridge.putLocal(source, { record: r.record, localKey: String(n), instanceId: `uuid:load-${n}`, answers, deleted: false });
        bridge.markDirty(source, r.record, now);
        bridge.markWritten(source, r.record, now);
      }
    });
    after = page.next;
  }
  store.atomically(() => bridge.setCursor(`write:${source}`, store.viewChangeSeq()));
  store.close();
  return n;
}

/** Writes `seed` as a PKCS#8 PEM key file, mode 0600, as `meshlogd init` does. */
function writeIdentity(file: string, seed: Buffer): void {
  writeFileSync(file, `-----BEGIN PRIVATE KEY-----\n${seedToPkcs8(seed).toString("base64")}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
}

/** The schema version a store file was written with. */
function schemaVersionOf(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number }).value;
  } finally {
    db.close();
  }
}

/**
 * Brings a cached store to this meshlogd's schema and tables, timing a
 * migration (the one-time cost a site meets when it is upgraded), so that
 * the benchmark's starts measure the steady state.
 */
function migrateCached(path: string): void {
  const from = schemaVersionOf(path);
  const t = performance.now();
  const store = openStore({ path });
  createBridgeStore(store.db); // what either DDL adds "if not exists" (an index, the bridge's totals) is made here, once
  store.close();
  if (from < SCHEMA_VERSION) log(`hardening: migrated the cached store from schema ${from} to ${SCHEMA_VERSION} in ${(since(t) / 1000).toFixed(1)} s`);
}

/** The cached data directory for `w`, built first if absent (events, then the bridge's tables). */
export function loadSiteData(w: LoadWorkload = LOAD_WORKLOAD, cacheRoot = resolve(".tmp")): LoadSiteData {
  const key = `bench-load-v${BUILD_VERSION}-${w.seed}-${w.authors}x${w.events}-${w.editShare ?? 0.2}-${w.concurrentShare}`;
  const dir = join(cacheRoot, key);
  const summary = join(dir, "workload.json");
  const members = benchSigners(w.authors).map((s) => s.author);
  if (!existsSync(summary)) {
    const building = `${dir}.building`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true, mode: 0o700 });
    log(`hardening: building ${w.events} events from ${w.authors} sites into ${building} (once; cached)`);
    const t = performance.now();
    const built = buildStore(join(building, DATABASE_FILE), w);
    writeIdentity(join(building, IDENTITY_FILE), seedOf(0));
    writeFileSync(summary.replace(dir, building), JSON.stringify(built));
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
    log(`hardening: built ${built.events} events, ${built.records} records, ${built.conflicts} conflict entries in ${(since(t) / 1000).toFixed(0)} s`);
  } else {
    log(`hardening: using the cached data directory ${dir}`);
  }
  const db = join(dir, DATABASE_FILE);
  migrateCached(db);
  const bridgeMarker = join(dir, "bridge.json");
  if (!existsSync(bridgeMarker)) {
    const t = performance.now();
    const written = fillBridgeTables(db);
    writeFileSync(bridgeMarker, JSON.stringify({ written }));
    log(`hardening: bridge tables filled as after ${written} write-backs in ${(since(t) / 1000).toFixed(0)} s`);
  }
  const built = JSON.parse(readFileSync(summary, "utf8")) as { events: number; records: number; conflicts: number };
  return { dir, members, ...built };
}

/** Copies the cached data directory to `to`, so each benchmark run starts from the same file. */
export function copySiteData(data: LoadSiteData, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true, mode: 0o700 });
  copyFileSync(join(data.dir, DATABASE_FILE), join(to, DATABASE_FILE));
  copyFileSync(join(data.dir, IDENTITY_FILE), join(to, IDENTITY_FILE));
  chmodSync(join(to, IDENTITY_FILE), 0o600);
}
