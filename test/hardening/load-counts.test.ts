/**
 * Load: the running totals the status reads instead of counting (records per
 * type alive and deleted, conflict entries, outbox entries per state) always
 * equal a full recount: through creates, edits, deletes, type changes, races
 * from another site, rolled-back batches, and the upgrade of a file written
 * before the totals existed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { createBridgeStore, type OutboxState } from "../../src/bridge/bridge-store.js";
import { sha256, signerFromSeed } from "../../src/engine/crypto.js";
import type { EventBody } from "../../src/engine/event.js";
import { recordId, recordType, type RecordId } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";
import { openStore, type SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { conflictCount, recordCountsByType } from "../../src/engine/store/store-queries.js";
import { recordHardening } from "./ledger.js";

const TYPES = [recordType("household"), recordType("water_point")];
const RECORDS = 40;
const BATCHES = 60;
const here = signerFromSeed(sha256(Buffer.from("meshlogd-test/counts-here")));
const there = signerFromSeed(sha256(Buffer.from("meshlogd-test/counts-there")));

type Counts = Record<string, { alive: number; deleted: number; conflicts: number }>;

/** The totals as the status reads them. */
function totals(store: SqliteStore): Counts {
  const out: Counts = {};
  for (const c of recordCountsByType(store)) out[c.type] = { alive: c.alive, deleted: c.deleted, conflicts: 0 };
  const rows = store.db.prepare("SELECT type, conflicts FROM view_counts WHERE conflicts > 0").all() as { type: string; conflicts: number }[];
  for (const r of rows) (out[r.type] ??= { alive: 0, deleted: 0, conflicts: 0 }).conflicts = r.conflicts;
  return out;
}

/** The same, counted over every record and conflict entry. */
function recount(store: SqliteStore): Counts {
  const out: Counts = {};
  const rows = store.db.prepare("SELECT type, sum(alive) AS alive, count(*) - sum(alive) AS deleted FROM records GROUP BY type").all() as { type: string; alive: number; deleted: number }[];
  for (const r of rows) out[r.type] = { alive: r.alive, deleted: r.deleted, conflicts: 0 };
  const lost = store.db.prepare("SELECT r.type AS type, count(*) AS n FROM conflicts c JOIN records r ON r.record_id = c.record_id GROUP BY r.type").all() as { type: string; n: number }[];
  for (const r of lost) (out[r.type] ??= { alive: 0, deleted: 0, conflicts: 0 }).conflicts = r.n;
  return out;
}

/** A random write: mostly upserts, some deletes; either type; the base the writer has seen, or none (it races). */
function randomBody(rand: () => number, store: SqliteStore): EventBody {
  const record = recordId(`uuid:count-${Math.floor(rand() * RECORDS)}`);
  const type = TYPES[rand() < 0.8 ? 0 : 1]!;
  const base = rand() < 0.3 ? null : store.lastHlc();
  if (rand() < 0.15) return { kind: "delete", record, type, base };
  return { kind: "upsert", record, type, base, fields: { a: Math.floor(rand() * 9), b: `v${Math.floor(rand() * 9)}` } };
}

/** Writes here and there (not yet seen here), then brings there's events here; one batch in five is rolled back. */
function writeBatch(rand: () => number, store: SqliteStore, other: SqliteStore): void {
  for (let i = 0, n = 1 + Math.floor(rand() * 5); i < n; i++) other.append(randomBody(rand, other));
  const rollBack = rand() < 0.2;
  try {
    store.atomically(() => {
      for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) store.append(randomBody(rand, store));
      const from = store.headSeq(there.author) + 1;
      store.ingest(other.readEvents(there.author, from, other.headSeq(there.author)));
      if (rollBack) throw new Error("roll back");
    });
  } catch (err) {
    if (!rollBack) throw err;
  }
}

/** Makes the file look as schema 3 wrote it: no totals table, no triggers. */
function downgradeToSchema3(path: string): void {
  const db = new Database(path);
  const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'view_counts%'").all() as { name: string }[];
  for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
  db.exec("DROP TABLE view_counts; UPDATE meta SET value = 3 WHERE key = 'schema_version'");
  db.close();
}

describe("hardening: load (running totals)", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-counts-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("records per type and conflict entries equal a recount after every batch, and after an upgrade from schema 3", () => {
    const seeds = [1, 2, 3];
    let checks = 0;
    let conflicts = 0;
    for (const seed of seeds) {
      const path = join(dir, `view-${seed}.db`);
      const rand = seededRandom(seed);
      let store = openStore({ path, signer: here, verifyPool: null });
      const other = openStore({ path: ":memory:", signer: there, verifyPool: null });
      store.addMember(there.author, "there");
      for (let b = 0; b < BATCHES; b++) {
        writeBatch(rand, store, other);
        assert.deepEqual(totals(store), recount(store), `seed ${seed}, batch ${b}`);
        assert.equal(store.recordCount(), (store.db.prepare("SELECT count(*) AS n FROM records").get() as { n: number }).n);
        assert.equal(conflictCount(store), (store.db.prepare("SELECT count(*) AS n FROM conflicts").get() as { n: number }).n);
        checks += 1;
      }
      const before = recount(store);
      conflicts += conflictCount(store);
      store.close();
      downgradeToSchema3(path);
      store = openStore({ path, verifyPool: null });
      assert.deepEqual(totals(store), before, `seed ${seed}: the upgrade counted the view`);
      store.close();
      other.close();
    }
    assert.ok(conflicts > 0, "no race logged a conflict: the conflict totals went unchecked");
    const types = TYPES.length;
    recordHardening({
      area: "load",
      tried: `${checks} batches of random creates, edits, deletes and type changes (${types} types) here and at a racing site, one in five rolled back; then each file downgraded to schema 3 and reopened`,
      held: `per-type alive/deleted and ${conflicts} conflict entries read from the running totals equal a recount every time, and after the upgrade`,
      ok: true,
    });
  });

  it("outbox entries per state equal a recount through every change, and a file from before the totals is counted once", () => {
    const db = new Database(join(dir, "outbox.db"));
    let bridge = createBridgeStore(db);
    const rand = seededRandom(7);
    const states: OutboxState[] = ["pending", "written", "failed"];
    const recountOutbox = () => db.prepare("SELECT source, state, count(*) AS n FROM bridge_outbox GROUP BY source, state ORDER BY source, state").all();
    const read = () => [...bridge.counts()].sort((a, b) => a.source.localeCompare(b.source) || a.state.localeCompare(b.state));
    for (let i = 0; i < 500; i++) {
      const source = rand() < 0.5 ? "kobo:a" : "odk:1/b";
      const record = recordId(`uuid:o-${Math.floor(rand() * 30)}`) as RecordId;
      const op = rand();
      if (op < 0.4) bridge.markDirty(source, record, i);
      else if (op < 0.7) bridge.markWritten(source, record, i);
      else bridge.setState(source, record, states[Math.floor(rand() * 3)]!, 1, i, null, i);
      assert.deepEqual(read(), recountOutbox(), `step ${i}`);
    }
    const before = recountOutbox();
    db.exec("DROP TRIGGER bridge_outbox_counts_insert; DROP TRIGGER bridge_outbox_counts_update; DROP TRIGGER bridge_outbox_counts_delete; DROP TABLE bridge_outbox_counts");
    bridge = createBridgeStore(db);
    assert.deepEqual(read(), before, "the older file's outbox was counted when opened");
    bridge = createBridgeStore(db);
    assert.deepEqual(read(), before, "and not counted twice");
    db.close();
    recordHardening({
      area: "load",
      tried: "500 random outbox changes (dirty, written, any state) over 2 sources; then the totals table dropped as in an older file and the store opened twice",
      held: "outbox counts per state equal a recount after every change; the older file is counted once when opened",
      ok: true,
    });
  });
});
