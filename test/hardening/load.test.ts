/**
 * Load: what a site does at start-up, for its status and for the admin
 * page must not grow with the events and records it holds. Checked
 * structurally, not by the clock: every SQL statement the site runs from
 * opening its data directory to answering /api/health, everything the admin
 * page's refresh asks for (status, peers, sync, radio, failed outbox entries,
 * the newest conflicts and events, a page of records) and one record is
 * recorded, at 5,000 and at 25,000 events, and
 * - the same statements run, as many times, at both sizes (no loop over
 *   rows, no per-record query), and
 * - SQLite's plan for each (EXPLAIN QUERY PLAN) reads no table that grows
 *   with the data by a full scan: only by key (SEARCH), or along an index
 *   that a LIMIT stops.
 * The timed measurements at a million events are the benchmark's
 * (`npm run bench -- --only=hardening`).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { createBridgeStore } from "../../src/bridge/bridge-store.js";
import type { CborMap } from "../../src/engine/cbor.js";
import { seedToPkcs8, sha256, signerFromSeed } from "../../src/engine/crypto.js";
import type { UpsertBody } from "../../src/engine/event.js";
import { recordId, recordType, type RecordId } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";
import { openStore, type SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { silentLogger } from "../../src/log/logger.js";
import { parseSiteConfig } from "../../src/service/site-config.js";
import { DATABASE_FILE } from "../../src/service/site.js";
import { startSite } from "../../src/service/start-site.js";
import { recordHardening } from "./ledger.js";

/** Tables that grow with the events or records a site holds: never scanned whole at start-up or for status. */
const GROWING = ["events", "records", "record_writes", "view_changes", "conflicts", "vocabularies", "forks", "bridge_local", "bridge_outbox"];
/** What the admin page asks for on every refresh (src/http/admin/app.js). */
const ADMIN_REFRESH = ["api/status", "api/peers", "api/sync", "api/radio", "api/outbox?state=failed&limit=20", "api/conflicts?limit=20", "api/events?limit=60", "api/records?limit=20"];
/** Pragmas that read the whole file. */
const WHOLE_FILE_PRAGMAS = /integrity_check|quick_check|foreign_key_check/i;
const TYPE = recordType("household");
const SOURCE_ASSET = "aLoadTestHousehold";
/** One record per ten events; one edit in fifty made without seeing the latest (it races and may log a conflict). */
const EVENTS_PER_RECORD = 10;
const RACING_EDIT_SHARE = 0.02;
const APPEND_BATCH = 1_000;
/** Writes of the record the test reads, by this site (the other site adds one that races). */
const SAMPLE_WRITES = 5;

const seed = sha256(Buffer.from("meshlogd-test/load-site"));
const signer = signerFromSeed(seed);
const otherSigner = signerFromSeed(sha256(Buffer.from("meshlogd-test/load-other-site")));

function fields(rand: () => number, n: number): CborMap {
  const out: CborMap = {};
  for (let i = 0; i < n; i++) out[`q${i}`] = i % 3 === 0 ? Math.floor(rand() * 100) : `answer ${Math.floor(rand() * 1e6)}`;
  return out;
}

/**
 * A data directory as a site holds it after `events` upserts: this site's
 * records, created then edited, a few edits by another member made without
 * seeing the latest (they race, and the losers go to the conflict log), and
 * the bridge's tables after writing every record back.
 */
function buildDataDir(dir: string, events: number): { records: number; conflicts: number; sample: RecordId } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const store = openStore({ path: join(dir, DATABASE_FILE), signer, durability: "normal", verifyPool: null });
  const other = openStore({ path: ":memory:", signer: otherSigner, verifyPool: null });
  const rand = seededRandom(events);
  const ids: RecordId[] = [];
  for (let done = 0; done < events; ) {
    store.atomically(() => {
      for (let i = 0; i < APPEND_BATCH && done < events; i++, done++) {
        const create = done % EVENTS_PER_RECORD === 0;
        if (create) ids.push(recordId(`uuid:load-${events}-${ids.length}`));
        const record = create ? (ids.at(-1) as RecordId) : (ids[Math.floor(rand() * ids.length)] as RecordId);
        const racing = !create && rand() < RACING_EDIT_SHARE;
        const body: UpsertBody = { kind: "upsert", record, type: TYPE, base: create || racing ? null : store.lastHlc(), fields: fields(rand, create ? 12 : 2) };
        (racing ? other : store).append(body);
      }
    });
  }
  // The record the test asks for: the same history at every size (a creation, edits, one racing edit from the other site).
  const sample = recordId("uuid:load-sample");
  for (let i = 0; i < SAMPLE_WRITES; i++) {
    store.append({ kind: "upsert", record: sample, type: TYPE, base: i === 0 ? null : store.lastHlc(), fields: fields(rand, i === 0 ? 12 : 2) });
  }
  other.append({ kind: "upsert", record: sample, type: TYPE, base: null, fields: fields(rand, 2) });
  ids.push(sample);
  store.addMember(otherSigner.author, "other-site");
  const report = store.ingest(other.readEvents(otherSigner.author, 1, other.headSeq(otherSigner.author)));
  assert.equal(report.applied, other.headSeq(otherSigner.author));
  other.close();
  fillBridge(store, ids);
  const conflicts = store.conflicts().length;
  store.close();
  writeFileSync(join(dir, "identity.pem"), `-----BEGIN PRIVATE KEY-----\n${seedToPkcs8(seed).toString("base64")}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
  return { records: ids.length, conflicts, sample };
}

/** The bridge's tables as after writing each record to the Kobo asset: a local copy and a written outbox entry each. */
function fillBridge(store: SqliteStore, ids: readonly RecordId[]): void {
  const bridge = createBridgeStore(store.db);
  const source = `kobo:${SOURCE_ASSET}`;
  store.atomically(() => {
    ids.forEach((record, i) => {
      bridge.putLocal(source, { record, localKey: String(i + 1), instanceId: `uuid:w-${i}`, answers: new Map([["q0", i]]), deleted: false });
      bridge.markDirty(source, record, 0);
      bridge.markWritten(source, record, 0);
    });
    bridge.setCursor(`write:${source}`, store.viewChangeSeq());
  });
}

/** A TCP port where nothing listens: the site's form server is down, so start-up does not wait on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, "127.0.0.1", done));
  const a = s.address();
  await new Promise<void>((done) => s.close(() => done()));
  return typeof a === "object" && a !== null ? a.port : 1;
}

/** Records every SQL statement any better-sqlite3 connection runs while `fn` runs. */
async function traceSql(fn: () => Promise<void>): Promise<string[]> {
  const ran: string[] = [];
  const probe = new Database(":memory:");
  const statement = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => unknown>;
  const connection = Database.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  const originals: [Record<string, (...a: unknown[]) => unknown>, string, (...a: unknown[]) => unknown][] = [];
  const wrap = (target: Record<string, (...a: unknown[]) => unknown>, name: string, sqlOf: (self: unknown, args: unknown[]) => string) => {
    const original = target[name] as (...a: unknown[]) => unknown;
    originals.push([target, name, original]);
    target[name] = function (this: unknown, ...args: unknown[]) {
      ran.push(sqlOf(this, args));
      return original.apply(this, args);
    };
  };
  for (const m of ["run", "get", "all", "iterate"]) wrap(statement, m, (self) => (self as { source: string }).source);
  wrap(connection, "exec", (_self, args) => String(args[0]));
  wrap(connection, "pragma", (_self, args) => `PRAGMA ${String(args[0])}`);
  try {
    await fn();
  } finally {
    for (const [target, name, original] of originals) target[name] = original;
  }
  return ran;
}

/** The site started from `dir` as `meshlogd run` starts it, asked for its health, status and one record, and stopped. */
async function startAndAsk(dir: string, record: RecordId): Promise<string[]> {
  const config = parseSiteConfig({
    site: { name: "load-site" }, network: { name: "load", members: [{ name: "other-site", key: otherSigner.author }] },
    server: { kind: "kobo", url: `http://127.0.0.1:${await closedPort()}`, token: "t" },
    mappings: [{ type: TYPE, source: { kobo: { asset: SOURCE_ASSET } } }],
  });
  const loaded = { config, file: join(dir, "meshlogd.yml"), dataDir: dir, identityFile: join(dir, "identity.pem") };
  return traceSql(async () => {
    const running = await startSite({ loaded, log: silentLogger, port: 0 });
    try {
      for (const path of ["api/health", ...ADMIN_REFRESH, `api/records/${encodeURIComponent(record)}`]) {
        const res = await fetch(new URL(path, running.http.url));
        assert.equal(res.status, 200, `GET /${path}`);
        await res.arrayBuffer();
      }
    } finally {
      await running.stop();
    }
  });
}

/** Positional parameters of a statement (the store uses no named ones); bound as NULL to read its plan. */
const countParams = (sql: string): number => (sql.match(/\?/g) ?? []).length;

/** The queries in a statement or script (exec'd DDL): comments and trigger bodies (they run inside other statements) left out. */
const queriesIn = (sql: string): string[] =>
  sql
    .replace(/--[^\n]*/g, "")
    .replace(/CREATE TRIGGER[\s\S]*?\bEND;/gi, "")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => /^(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b/i.test(s));

/** Full scans of growing tables in the plans of `statements`, read against the store in `dir`. */
function fullScans(dir: string, statements: readonly string[]): string[] {
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    const out: string[] = [];
    for (const sql of new Set(statements)) {
      if (/^PRAGMA/i.test(sql)) {
        if (WHOLE_FILE_PRAGMAS.test(sql)) out.push(`${sql}: reads the whole file`);
        continue;
      }
      for (const one of queriesIn(sql)) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${one}`).all(...Array.from({ length: countParams(one) }, () => null)) as { detail: string }[];
        // A walk along an index that a LIMIT stops (no sort of the whole table first) reads only that many rows.
        const bounded = /\bLIMIT\b/i.test(one) && !plan.some((p) => p.detail.startsWith("USE TEMP B-TREE"));
        for (const { detail } of plan) {
          const scanned = /^SCAN (\w+)( USING (COVERING )?INDEX)?/.exec(detail);
          if (scanned && GROWING.includes(scanned[1] as string) && !(bounded && scanned[2])) out.push(`${one.replace(/\s+/g, " ")}: ${detail}`);
        }
      }
    }
    return out;
  } finally {
    db.close();
  }
}

/** How many times each statement ran. */
function tally(statements: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of statements) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
}

describe("hardening: load", () => {
  const root = mkdtempSync(join(tmpdir(), "meshlogd-load-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("start-up, status, the admin page and one record read the same, by key only, at 5,000 and 25,000 events", async () => {
    const sizes = [5_000, 25_000];
    const runs = [];
    for (const events of sizes) {
      const dir = join(root, String(events));
      const built = buildDataDir(dir, events);
      runs.push({ events, dir, built, statements: await startAndAsk(dir, built.sample) });
    }
    const [small, large] = runs as [(typeof runs)[number], (typeof runs)[number]];
    assert.ok(small.built.conflicts > 0 && large.built.conflicts > small.built.conflicts, "too few conflicts logged: the check would not cover the conflict log");
    const scans = runs.flatMap((r) => fullScans(r.dir, r.statements));
    const a = tally(small.statements);
    const b = tally(large.statements);
    const grew = [...new Set([...a.keys(), ...b.keys()])].filter((s) => a.get(s) !== b.get(s)).map((s) => `${a.get(s) ?? 0} → ${b.get(s) ?? 0}: ${s.replace(/\s+/g, " ").slice(0, 160)}`);
    const ok = scans.length === 0 && grew.length === 0;
    recordHardening({
      area: "load",
      tried: `start-up as \`meshlogd run\` (identity, store, bridge with its server down, API), then /api/health, the admin page's refresh and one record, on sites of ${sizes.join(" and ")} events (${small.built.records} and ${large.built.records} records, ${large.built.conflicts} conflicts, an outbox entry per record)`,
      held: ok
        ? `the same ${b.size} statements, run as often at both sizes; no plan scans a table that grows with the data (${GROWING.length} tables checked)`
        : `${scans.length} full scans, ${grew.length} statements whose count grew`,
      ok,
    });
    assert.deepEqual(scans, [], "statements that scan a growing table");
    assert.deepEqual(grew, [], "statements run more often on the larger site");
  });
});
