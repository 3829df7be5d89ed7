/**
 * The writer's group commit (src/bridge/group-commit.ts): work handed over in
 * one turn of the event loop commits in one transaction, each caller gets its
 * own result only after that, and the store's durability setting is back in
 * place afterwards.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createGroupCommit } from "../src/bridge/group-commit.js";
import { generateSigner } from "../src/engine/crypto.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-group-commit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function storeWithTable(name: string): SqliteStore {
  const store = openStore({ path: join(dir, `${name}.db`), signer: generateSigner().signer, verifyPool: null });
  store.db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)");
  return store;
}

const rows = (s: SqliteStore) => (s.db.prepare("SELECT k FROM t ORDER BY k").all() as { k: string }[]).map((r) => r.k);

describe("group commit", () => {
  it("commits work handed over in one turn together and answers each caller with its own result", async () => {
    const store = storeWithTable("together");
    const gc = createGroupCommit(store);
    let seenInside = -1;
    const results = await Promise.all(["a", "b", "c"].map((k, i) => gc.run(() => {
      store.db.prepare("INSERT INTO t VALUES (?)").run(k);
      if (i === 2) seenInside = rows(store).length; // the earlier callers' rows, not yet committed, are in the same transaction
      return `${k}!`;
    })));
    assert.deepEqual(results, ["a!", "b!", "c!"]);
    assert.equal(seenInside, 3);
    assert.deepEqual(rows(store), ["a", "b", "c"]);
    store.close();
  });

  it("a failure inside the shared transaction keeps none of it and reaches every caller in it", async () => {
    const store = storeWithTable("failure");
    const gc = createGroupCommit(store);
    const outcomes = await Promise.allSettled([
      gc.run(() => store.db.prepare("INSERT INTO t VALUES ('x')").run()),
      gc.run(() => store.db.prepare("INSERT INTO t VALUES ('x')").run()), // the primary key refuses it
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ["rejected", "rejected"]);
    assert.deepEqual(rows(store), []);
    await gc.run(() => store.db.prepare("INSERT INTO t VALUES ('y')").run());
    assert.deepEqual(rows(store), ["y"], "the next turn commits on its own");
    store.close();
  });

  it("commits without the disk wait and then puts the store's full durability back", async () => {
    const store = storeWithTable("durability");
    assert.equal(store.db.pragma("synchronous", { simple: true }), 2, "the store opens with synchronous = FULL");
    const gc = createGroupCommit(store);
    const inside = await gc.run(() => store.db.pragma("synchronous", { simple: true }));
    assert.equal(inside, 1, "NORMAL while the group commits");
    assert.equal(store.db.pragma("synchronous", { simple: true }), 2, "FULL again afterwards");
    const failed = await gc.run(() => { throw new Error("boom"); }).catch((e: Error) => e.message);
    assert.equal(failed, "boom");
    assert.equal(store.db.pragma("synchronous", { simple: true }), 2, "FULL again after a failed group too");
    store.close();
  });
});
