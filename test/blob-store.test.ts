/**
 * Attachment bytes by hash: stored only under the hash they match, kept
 * across a reopen, and a schema-4 store gains the table on upgrade.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { generateSigner, sha256 } from "../src/engine/crypto.js";
import { BlobHashMismatchError } from "../src/engine/store/blob-store.js";
import { SCHEMA_VERSION } from "../src/engine/store/schema.js";
import { openStore } from "../src/engine/store/sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-blobs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("blob store", () => {
  it("holds bytes under their SHA-256 and refuses a hash they do not match", () => {
    const path = join(dir, "a.db");
    const s = openStore({ path, signer: generateSigner().signer, verifyPool: null, now: () => 1_700_000_000_000 });
    const photo = Buffer.from("not really a jpeg, but bytes all the same");
    const hash = sha256(photo);
    assert.equal(s.blobs.has(hash), false);
    assert.equal(s.blobs.get(hash), null);
    assert.throws(() => s.blobs.put(photo, "image/jpeg", sha256(Buffer.from("other"))), BlobHashMismatchError);
    assert.equal(s.blobs.stats().count, 0, "nothing stored by the refused put");
    assert.equal(s.blobs.put(photo, "image/jpeg", hash), true);
    assert.equal(s.blobs.put(photo, "image/jpeg"), false, "the second put of the same content stores nothing");
    assert.deepEqual(s.blobs.get(hash), photo);
    assert.deepEqual(s.blobs.info(hash), { hash, size: photo.length, mime: "image/jpeg", storedAt: 1_700_000_000_000 });
    assert.deepEqual(s.blobs.stats(), { count: 1, bytes: photo.length });
    s.close();
    const again = openStore({ path, verifyPool: null });
    assert.deepEqual(again.blobs.get(hash), photo, "kept across a reopen");
    again.close();
  });

  it("is added to a store written before it existed", () => {
    const path = join(dir, "old.db");
    openStore({ path, signer: generateSigner().signer, verifyPool: null }).close();
    const db = new Database(path);
    db.exec("DROP TABLE blobs; UPDATE meta SET value = 4 WHERE key = 'schema_version'");
    db.close();
    const s = openStore({ path, verifyPool: null });
    const bytes = Buffer.from([1, 2, 3]);
    assert.equal(s.blobs.put(bytes, "application/octet-stream"), true);
    assert.equal((s.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number }).value, SCHEMA_VERSION);
    s.close();
  });
});
