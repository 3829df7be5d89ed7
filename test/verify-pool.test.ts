import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CborValue } from "../src/engine/cbor.js";
import { generateSigner } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { sharedVerifyPool } from "../src/engine/store/verify-pool.js";

/** A feed of `n` upserts by one author, as wire items. */
function feed(n: number) {
  const signer = generateSigner().signer;
  let t = 1_767_225_600_000;
  const author = openStore({ path: ":memory:", signer, now: () => (t += 1000), verifyPool: null });
  for (let i = 0; i < n; i++) {
    author.append({ kind: "upsert", record: recordId(`r${i % 7}`), type: recordType("t"), base: null, fields: { i, name: `n${i}` } });
  }
  const items = author.wireItems(signer.author, 1, n, 1 << 20).items;
  author.close();
  return { signer, items };
}

function receiver(author: ReturnType<typeof generateSigner>["signer"], parallel: boolean): SqliteStore {
  const s = openStore({ path: ":memory:", verifyPool: parallel ? sharedVerifyPool() : null });
  s.addMember(author.author);
  return s;
}

/** Flips one bit of item i's signature. */
function forge(items: readonly CborValue[], i: number): CborValue[] {
  return items.map((item, k) => {
    if (k !== i || !Array.isArray(item)) return item;
    const sig = Uint8Array.from(item[4] as Uint8Array);
    sig[10]! ^= 1;
    return [...item.slice(0, 4), sig];
  });
}

describe("parallel signature verification", () => {
  it("is available on this machine (more than one core)", () => {
    assert.notEqual(sharedVerifyPool(), null);
  });

  for (const [what, bad] of [["all valid", -1], ["a forged signature in the middle", 20], ["a forged first item", 0]] as const) {
    it(`gives the same outcomes, counters and view as inline checks: ${what}`, () => {
      const { signer, items } = feed(50);
      const batch = bad >= 0 ? forge(items, bad) : items;
      const inline = receiver(signer, false);
      const parallel = receiver(signer, true);
      const a = inline.ingestWire(signer.author, 1, batch);
      const b = parallel.ingestWire(signer.author, 1, batch);
      assert.deepEqual(b, a);
      assert.deepEqual(parallel.counterValues(), inline.counterValues());
      assert.deepEqual(parallel.viewBytes(), inline.viewBytes());
      assert.equal(parallel.headSeq(signer.author), bad >= 0 ? bad : 50);
      if (bad >= 0) assert.deepEqual(b.outcomes[bad], { status: "refused", reason: "bad-signature" });
      // The genuine items complete the feed afterwards, through the same path.
      parallel.ingestWire(signer.author, 1, items);
      inline.ingestWire(signer.author, 1, items);
      assert.equal(parallel.headSeq(signer.author), 50);
      assert.deepEqual(parallel.viewBytes(), inline.viewBytes());
    });
  }
});
