/**
 * A removed member's record at another site's server. M's person submits a
 * record with a photo; A takes M's events and its bridge writes the record
 * into A's server (the photo's bytes not yet here, so A waits for them). R,
 * which never held M's events, removes M: its cut lies below the record's
 * events, so when A takes the removal the record leaves A's view. A's bridge
 * then removes the submission it wrote, as for a deleted record, stops
 * waiting for the bytes, and the radio's attachment index no longer wants
 * them. On KoboToolbox (hard delete) and ODK Central (soft delete). A
 * person who deletes or edits the submission first is heard as for a record
 * this site never had.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { AuthorId, RecordId } from "../src/engine/ids.js";
import type { SqliteStore } from "../src/engine/store/sqlite-store.js";
import { AttachmentIndex } from "../src/engine/sync/attachment-index.js";
import { makeWorld, recordEventCount, type SiteSpec, type TestSite, type World } from "./support/bridge-sites.js";

const ANSWERS = { village: "north", "hh/head_name": "Amina", "hh/size": "4", visit_date: "2026-11-20" };
const PHOTO = { name: "1732090000009.jpg", type: "image/jpeg", bytes: new Uint8Array(700).fill(0xd8) };
const attachments = { policy: "transfer" as const, max_bytes: 4096 };

/** Every event of `author` that `from` holds, ingested by `to`. */
function pass(from: SqliteStore, to: SqliteStore, author: AuthorId): void {
  const report = to.ingest(from.readEvents(author, 1, from.headSeq(author)));
  assert.deepEqual(report.refused, {}, "every event is taken");
}

/** Requests that change something on `site`'s server. */
function serverWrites(w: World, site: string): number {
  const requests = w.kobo.get(site)?.requests ?? w.odk.get(site)!.double.requests;
  return requests.filter((r) => r.method !== "GET").length;
}

/** M's record with a photo written into A's server, then gone from A's view by R's removal of M (A's bridge has not run since). */
async function goneAtA(kind: "kobo" | "odk") {
  const a: SiteSpec = kind === "kobo" ? { name: "A", kind, uid: "aRemovedSurveyKoboA1", mapping: { attachments } } : { name: "A", kind, mapping: { attachments } };
  const w = await makeWorld([{ name: "M", kind: "kobo", uid: "aRemovedSurveyKoboM1", mapping: { attachments } }, a, { name: "R", kind: "kobo", uid: "aRemovedSurveyKoboR1" }]);
  const [m, site, r] = (["M", "A", "R"] as const).map((n) => w.site(n)) as [TestSite, TestSite, TestSite];
  const [mAuthor, rAuthor] = [m.sim.signer.author, r.sim.signer.author];
  const store = site.sim.store;
  const id = w.kobo.get("M")!.submitLocal("aRemovedSurveyKoboM1", { ...ANSWERS, photo: PHOTO.name }, { files: [PHOTO] })["meta/rootUuid"] as RecordId;
  await m.bridge.syncOnce();
  assert.ok(m.sim.store.getRecord(id)?.attachments.has(PHOTO.name), "M's feed names the photo");

  pass(m.sim.store, store, mAuthor);
  const index = new AttachmentIndex(store);
  index.refresh();
  const photoHash = createHash("sha256").update(PHOTO.bytes).digest("hex");
  assert.deepEqual([...index.entries()].map(([h]) => h), [photoHash], "A's radio wants the photo");
  await site.bridge.syncOnce();
  await site.bridge.syncOnce();
  assert.ok(site.serverRecords().has(id), "A's bridge wrote M's record into A's server");
  assert.equal(site.bridge.status().forms[0]!.files.awaitingBytes, 1, "and waits for the photo's bytes");

  const removal = r.sim.store.removeMemberEverywhere(mAuthor);
  assert.ok(removal.ok && removal.event.body.kind === "removal" && removal.event.body.after === 0, "R held none of M's events");
  pass(r.sim.store, store, rAuthor);
  assert.equal(store.getRecord(id), undefined, "the record left A's view");
  return { w, site, store, id, index, events: recordEventCount(store) };
}

for (const kind of ["kobo", "odk"] as const) {
  describe(`a record only a removed member wrote, at a ${kind === "kobo" ? "KoboToolbox" : "Central"} site`, () => {
    it("is removed from the server the bridge wrote it to, and its photo is no longer wanted", async () => {
      const { w, site, store, id, index, events } = await goneAtA(kind);
      try {
        await site.bridge.syncOnce();
        await site.bridge.syncOnce();
        assert.equal(site.serverRecords().has(id), false, "A's bridge removed the submission it wrote");
        const status = site.bridge.status();
        assert.deepEqual([status.outbox.pending, status.outbox.failed], [0, 0], "nothing left to write");
        assert.equal(status.forms[0]!.files.awaitingBytes, 0, "the bridge no longer waits for the photo");
        assert.equal(index.refresh(), true);
        assert.deepEqual([...index.entries()], [], "the radio no longer wants it");
        assert.equal(recordEventCount(store), events, "A appended no event: the removal was not a person's deletion");
        assert.equal(store.getRecord(id), undefined);

        const writes = serverWrites(w, "A");
        await site.bridge.syncOnce();
        assert.equal(serverWrites(w, "A"), writes, "and writes nothing more");
      } finally {
        await w.close();
      }
    });
  });
}

describe("a person at the server acts on such a record before the bridge does", () => {
  const submission = (w: World, id: RecordId) => w.kobo.get("A")!.submissions("aRemovedSurveyKoboA1").find((s) => s["meta/rootUuid"] === id)!;

  it("deletes it: nothing to delete in the view, so no event", async () => {
    const { w, site, store, id, events } = await goneAtA("kobo");
    try {
      w.kobo.get("A")!.deleteLocal("aRemovedSurveyKoboA1", Number(submission(w, id)._id));
      await site.bridge.syncOnce();
      assert.equal(recordEventCount(store), events, "A appended no delete of a record its view does not hold");
      assert.equal(store.getRecord(id), undefined);
      assert.deepEqual([site.bridge.status().outbox.pending, site.bridge.status().outbox.failed], [0, 0]);
    } finally {
      await w.close();
    }
  });

  it("edits it: the edit makes it A's record, with every answer the submission holds", async () => {
    const { w, site, store, id } = await goneAtA("kobo");
    try {
      w.kobo.get("A")!.editLocal("aRemovedSurveyKoboA1", Number(submission(w, id)._id), { "hh/size": "5" });
      await site.bridge.syncOnce();
      const state = store.getRecord(id);
      assert.equal(state?.fields.get("hh/size")?.value, 5, "the edit is in A's view");
      assert.equal(state?.fields.get("village")?.value, "north", "and so are the answers it did not change");
      assert.ok(site.serverRecords().has(id), "the submission stays");
    } finally {
      await w.close();
    }
  });
});
