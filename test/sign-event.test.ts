import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateSigner } from "../src/engine/crypto.js";
import type { EventBody } from "../src/engine/event.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { openStore } from "../src/engine/store/sqlite-store.js";

describe("authoring", () => {
  const rid = recordId("r1");
  const type = recordType("t");
  const refused: [string, EventBody][] = [
    ["an empty field name", { kind: "upsert", record: rid, type, base: null, fields: { "": 1 } }],
    ["a field name over 256 bytes", { kind: "upsert", record: rid, type, base: null, fields: { ["x".repeat(257)]: 1 } }],
    ["an attachment hash that is not 32 bytes", { kind: "attachment", record: rid, type, field: "photo", hash: new Uint8Array(3), size: 1, mime: "image/jpeg" }],
    ["a negative attachment size", { kind: "attachment", record: rid, type, field: "photo", hash: new Uint8Array(32), size: -1, mime: "image/jpeg" }],
    ["a kind code above 255", { kind: "unknown", code: 300, value: 1 }],
  ];
  for (const [what, body] of refused) {
    it(`refuses to sign ${what}, which peers could never accept, and stores nothing`, () => {
      const store = openStore({ path: ":memory:", signer: generateSigner().signer });
      assert.throws(() => store.append(body), RangeError);
      assert.equal(store.eventCount(), 0);
      const ok = store.append({ kind: "upsert", record: rid, type, base: null, fields: { v: 1 } });
      assert.equal(ok.seq, 1, "the feed continues normally afterwards");
      assert.equal(store.readEvents(ok.author, 1, 1).length, 1);
    });
  }
});
