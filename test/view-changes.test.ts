/**
 * The view's change sequence: every state change of a record gets the next
 * number, persisted with the record, so a reader that keeps its last point
 * (the bridge's writer) misses nothing across restarts; and a store written
 * by schema 1 is numbered on upgrade.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { generateSigner } from "../src/engine/crypto.js";
import type { RecordId, RecordType } from "../src/engine/ids.js";
import { openStore } from "../src/engine/store/sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-changes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const T = "household" as RecordType;
const rid = (n: number) => `uuid:00000000-0000-4000-8000-${String(n).padStart(12, "0")}` as RecordId;

describe("appendRead", () => {
  it("returns the state the event gave its record, equal to what the view holds after a restart", () => {
    const path = join(dir, "append-read.db");
    const signer = generateSigner().signer;
    const s = openStore({ path, signer, verifyPool: null });
    const created = s.appendRead({ kind: "upsert", record: rid(1), type: T, base: null, fields: { n: 1, name: "Amani" } });
    const edited = s.appendRead({ kind: "upsert", record: rid(1), type: T, base: created.state!.lastWrite, fields: { n: 2 } });
    const deleted = s.appendRead({ kind: "delete", record: rid(2), type: T, base: null });
    const vocabulary = s.appendRead({ kind: "vocabulary", type: T, fields: [] });
    assert.equal(edited.state!.fields.get("n")?.value, 2);
    assert.equal(edited.state!.fields.get("name")?.value, "Amani", "the fields the edit did not name are in the state");
    assert.equal(vocabulary.state, undefined, "an event that changes no record gives no state");
    s.close();
    const again = openStore({ path, verifyPool: null });
    assert.deepEqual(again.getRecord(rid(1)), edited.state);
    assert.deepEqual(again.getRecord(rid(2)), deleted.state);
    again.close();
  });
});

describe("view change sequence", () => {
  it("numbers every record change and persists the numbers", () => {
    const path = join(dir, "a.db");
    const signer = generateSigner().signer;
    const s = openStore({ path, signer, verifyPool: null });
    for (let i = 1; i <= 3; i++) s.append({ kind: "upsert", record: rid(i), type: T, base: null, fields: { n: i } });
    const first = s.changedRecords(0, 10);
    assert.deepEqual(first.map((c) => c.record), [rid(1), rid(2), rid(3)]);
    const mark = first[2]!.change;
    s.append({ kind: "upsert", record: rid(2), type: T, base: null, fields: { n: 20 } });
    s.append({ kind: "delete", record: rid(1), type: T, base: null });
    const later = s.changedRecords(mark, 10);
    assert.deepEqual(later.map((c) => c.record), [rid(2), rid(1)]);
    assert.equal(later[0]!.state?.fields.get("n")?.value, 20);
    assert.ok(later[0]!.change < later[1]!.change);
    assert.deepEqual(s.changedRecords(mark, 1).map((c) => c.record), [rid(2)], "limit respected, oldest change first");
    assert.deepEqual(s.changedRecords(0, 10, ["other"]), [], "type filter");
    const seq = s.viewChangeSeq();
    s.close();
    const again = openStore({ path, signer, verifyPool: null });
    assert.equal(again.viewChangeSeq(), seq, "the sequence resumes after a restart");
    again.append({ kind: "upsert", record: rid(3), type: T, base: null, fields: { n: 30 } });
    assert.deepEqual(again.changedRecords(seq, 10).map((c) => c.record), [rid(3)]);
    again.close();
  });

  it("numbers the records of a schema-1 store when it is opened", () => {
    const path = join(dir, "old.db");
    const s = openStore({ path, signer: generateSigner().signer, verifyPool: null });
    for (let i = 1; i <= 4; i++) s.append({ kind: "upsert", record: rid(i), type: T, base: null, fields: { n: i } });
    s.close();
    // Make it look like schema 1: no change column.
    const db = new Database(path);
    db.exec("DROP TABLE view_changes; ALTER TABLE records DROP COLUMN changed; UPDATE meta SET value = 1 WHERE key = 'schema_version'");
    db.close();
    const up = openStore({ path, verifyPool: null });
    const all = up.changedRecords(0, 10);
    assert.equal(all.length, 4);
    assert.equal(new Set(all.map((c) => c.change)).size, 4, "distinct numbers");
    assert.equal(up.viewChangeSeq(), Math.max(...all.map((c) => c.change)));
    up.close();
  });

  it("rolls back a caller's rows with the store's own writes in atomically()", () => {
    const s = openStore({ path: join(dir, "atomic.db"), signer: generateSigner().signer, verifyPool: null });
    s.db.exec("CREATE TABLE side (x INTEGER)");
    assert.throws(() =>
      s.atomically(() => {
        s.append({ kind: "upsert", record: rid(9), type: T, base: null, fields: { n: 9 } });
        s.db.prepare("INSERT INTO side (x) VALUES (1)").run();
        throw new Error("caller failed");
      }),
    );
    assert.equal(s.eventCount(), 0);
    assert.equal(s.getRecord(rid(9)), undefined);
    assert.equal((s.db.prepare("SELECT count(*) AS n FROM side").get() as { n: number }).n, 0);
    const ev = s.append({ kind: "upsert", record: rid(9), type: T, base: null, fields: { n: 9 } });
    assert.equal(ev.seq, 1, "the feed continues from the committed head, not from the rolled-back event");
    s.close();
  });
});
