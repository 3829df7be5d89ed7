/**
 * Upgrades that read the events a store holds: a store from before
 * vocabularies (schema 2) has its vocabulary events indexed when it is opened
 * (the removal events of a store from before removals are covered in
 * removal-gone.test.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { generateSigner } from "../src/engine/crypto.js";
import { recordType } from "../src/engine/ids.js";
import { openStore } from "../src/engine/store/sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-upgrade-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("schema upgrades that read events", () => {
  it("indexes the vocabulary events of a schema-2 store", () => {
    const path = join(dir, "v2.db");
    const { signer } = generateSigner();
    const s = openStore({ path, signer, verifyPool: null });
    const fields = [{ name: "village" }, { name: "size" }];
    for (const type of ["household", "school"]) s.append({ kind: "vocabulary", type: recordType(type), fields });
    s.close();
    const db = new Database(path);
    db.exec("DELETE FROM vocabularies; UPDATE meta SET value = 2 WHERE key = 'schema_version'");
    db.close();
    const up = openStore({ path, signer, verifyPool: null });
    for (const type of ["household", "school"]) {
      assert.deepEqual(up.latestVocabulary(signer.author, type)?.map((f) => f.name), ["village", "size"], `${type}'s vocabulary is indexed`);
    }
    up.close();
  });
});
