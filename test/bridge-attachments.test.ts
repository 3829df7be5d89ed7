/**
 * Attachments through the bridge, end to end: site A on KoboToolbox, B on ODK
 * Central, C on KoboToolbox, linked through the engine over the simulated
 * medium (events only). The radio's transfer of attachment BYTES is another
 * part of the project: here shareBlobs() copies the blob stores' entries
 * between sites directly, after the events have spread, so every upload in
 * these tests is the "bytes arrived after the record was written" path.
 *
 * Policy transfer: a photo taken at A reaches B and C with its bytes; a file
 * over max_bytes stays metadata; an edit that replaces the photo; an upload
 * cut by a restart lands exactly once; no echo. Policy metadata: the event
 * replicates, the bytes stay where they are.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { RecordId } from "../src/engine/ids.js";
import { makeWorld, recordEventCount, settle, shareBlobs, type World } from "./support/bridge-sites.js";

const ANSWERS = { village: "north", "hh/head_name": "Amina", "hh/size": "4", visit_date: "2026-11-20" };
const MAX_BYTES = 4096;

function jpeg(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  b[0] = 0xff;
  b[1] = 0xd8;
  return b;
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** The files a site's server holds for a record: name → bytes (null: expected by Central, not uploaded). */
function filesAt(w: World, site: string, record: string): Map<string, Buffer | null> {
  const kobo = w.kobo.get(site);
  if (kobo) {
    const uid = site === "A" ? "aPhotoSurveyKoboA1" : "aPhotoSurveyKoboC1";
    const row = kobo.submissions(uid).find((r) => r["meta/rootUuid"] === record);
    return row ? new Map([...kobo.attachmentsOf(uid, Number(row._id))].map(([n, b]) => [n, Buffer.from(b)])) : new Map();
  }
  const o = w.odk.get(site)!;
  return o.double.attachmentsOf(o.project, o.form, record);
}

function writeRequests(w: World): number[] {
  return w.sites.map((s) => (w.kobo.get(s.name)?.requests ?? w.odk.get(s.name)!.double.requests).filter((r) => r.method !== "GET").length);
}

/** One more settle appends no event anywhere and writes nothing to any server. */
async function assertQuiet(w: World): Promise<void> {
  const events = w.sites.map((s) => recordEventCount(s.sim.store));
  const writes = writeRequests(w);
  await settle(w);
  assert.deepEqual(w.sites.map((s) => recordEventCount(s.sim.store)), events, "no site appended an event (no echo)");
  assert.deepEqual(writeRequests(w), writes, "no site wrote to its server");
}

const attachmentEvents = (w: World, site: string): number =>
  (w.site(site).sim.store.db.prepare("SELECT count(*) AS n FROM events WHERE kind = 3").get() as { n: number }).n;

describe("attachments, policy transfer", () => {
  let w: World;
  const attachments = { policy: "transfer" as const, max_bytes: MAX_BYTES };
  before(async () => {
    w = await makeWorld([
      { name: "A", kind: "kobo", uid: "aPhotoSurveyKoboA1", mapping: { attachments } },
      { name: "B", kind: "odk", mapping: { attachments } },
      { name: "C", kind: "kobo", uid: "aPhotoSurveyKoboC1", mapping: { attachments } },
    ]);
  });
  after(async () => w.close());

  let fromA: RecordId;
  const photo = { name: "1732090000001.jpg", type: "image/jpeg", bytes: jpeg(1500, 1) };

  it("a photo taken at a Kobo site reaches a Central and another Kobo server with its bytes", async () => {
    fromA = w.kobo.get("A")!.submitLocal("aPhotoSurveyKoboA1", { ...ANSWERS, photo: photo.name }, { files: [photo] })["meta/rootUuid"] as RecordId;
    await settle(w);
    const a = w.site("A").sim.store;
    assert.equal(a.blobs.info(Buffer.from(sha(photo.bytes), "hex"))?.size, photo.bytes.length, "A keeps the bytes it downloaded");
    for (const s of ["B", "C"]) {
      const att = w.site(s).sim.store.getRecord(fromA)?.attachments.get(photo.name);
      assert.equal(att && Buffer.from(att.hash).toString("hex"), sha(photo.bytes), `${s} has the photo's metadata`);
      assert.equal(filesAt(w, s, fromA).get(photo.name) ?? null, null, `${s}'s server has no bytes before they arrive`);
    }
    assert.ok(shareBlobs(w) >= 2);
    await settle(w);
    for (const s of ["B", "C"]) assert.deepEqual(filesAt(w, s, fromA).get(photo.name), Buffer.from(photo.bytes), `${s}'s server holds the photo`);
    assert.equal(attachmentEvents(w, "A"), 1, "one attachment event in the whole network");
    await assertQuiet(w);
  });

  it("a file over max_bytes travels as metadata only", async () => {
    const big = { name: "1732090000002.jpg", bytes: jpeg(MAX_BYTES + 1, 2) };
    const b = w.odk.get("B")!;
    const id = b.double.submitLocal(b.project, b.form, { ...ANSWERS, village: "south", photo: big.name }, { files: [big] }) as RecordId;
    await settle(w);
    shareBlobs(w);
    await settle(w);
    assert.equal(w.site("B").bridge.status().forms[0]!.files.metadataOnly, 1, "B says the file went as metadata only");
    for (const s of ["A", "B", "C"]) {
      assert.equal(w.site(s).sim.store.getRecord(id)?.attachments.get(big.name)?.size, big.bytes.length, `${s} knows the file`);
      assert.equal(w.site(s).sim.store.blobs.has(Buffer.from(sha(big.bytes), "hex")), false, `${s} holds no bytes of it`);
    }
    for (const s of ["A", "C"]) assert.equal(filesAt(w, s, id).size, 0, `${s}'s server has no file for it`);
    await assertQuiet(w);
  });

  it("an edit at C that replaces the photo reaches the other servers; the old file is no longer named", async () => {
    const c = w.kobo.get("C")!;
    const row = c.submissions("aPhotoSurveyKoboC1").find((r) => r["meta/rootUuid"] === fromA)!;
    const replaced = { name: "1732090000003.jpg", type: "image/jpeg", bytes: jpeg(2000, 3) };
    c.editLocal("aPhotoSurveyKoboC1", Number(row._id), { photo: replaced.name }, [replaced]);
    await settle(w);
    shareBlobs(w);
    await settle(w);
    for (const s of ["A", "B", "C"]) {
      const files = filesAt(w, s, fromA);
      assert.deepEqual(files.get(replaced.name), Buffer.from(replaced.bytes), `${s}'s server holds the new photo`);
      assert.equal(files.has(photo.name), false, `${s}'s server no longer lists the old photo`);
    }
    await assertQuiet(w);
  });

  it("a Central upload cut off between the XML and the file lands exactly once after a restart, the XML sent once", async () => {
    const b = w.odk.get("B")!;
    const late = { name: "1732090000004.jpg", type: "image/jpeg", bytes: jpeg(900, 4) };
    const id = w.kobo.get("A")!.submitLocal("aPhotoSurveyKoboA1", { ...ANSWERS, village: "east", photo: late.name }, { files: [late] })["meta/rootUuid"] as RecordId;
    // A takes it in and the events reach B; the bytes reach B before its bridge writes, so one plan carries XML and file.
    await w.site("A").bridge.syncOnce();
    w.site("A").sim.announce();
    w.net.runFor(10 * 60_000, () => w.net.converged());
    shareBlobs(w);
    const isUpload = (method: string, path: string) => method === "POST" && path.includes(`/attachments/${late.name}`);
    const isCreate = (r: { method: string; path: string }) => r.method === "POST" && /\/submissions$/.test(r.path);
    const creates = b.double.requests.filter(isCreate).length;
    b.double.faults.set({ kind: "lose-answer" }, { match: isUpload });
    await w.site("B").bridge.syncOnce();
    assert.equal(b.double.requests.filter(isCreate).length, creates + 1, "the XML went");
    assert.ok(b.double.faults.applied["lose-answer"] >= 1, "the upload was carried out but its answer lost");
    assert.equal(w.site("B").bridge.outbox("failed", 10)[0]?.plan?.action, "attach", "what is left to do is the file, persisted");
    b.double.faults.clear();
    await w.site("B").restart();
    w.site("B").bridge.retryOutbox();
    await settle(w);
    assert.deepEqual(filesAt(w, "B", id).get(late.name), Buffer.from(late.bytes));
    assert.equal(b.double.requests.filter((r) => isUpload(r.method, r.path) && r.status === 200).length, 1, "one answered upload, after the restart");
    assert.equal(b.double.requests.filter(isCreate).length, creates + 1, "the XML was not sent again");
    assert.equal(w.site("B").bridge.status().outbox.failed, 0);
    await assertQuiet(w);
  });

  it("a Kobo submission with its file whose answer was lost lands once, file once (echo recognised or 202 on re-send)", async () => {
    const c = w.kobo.get("C")!;
    const p = { name: "1732090000006.jpg", type: "image/jpeg", bytes: jpeg(800, 6) };
    const b = w.odk.get("B")!;
    const id = b.double.submitLocal(b.project, b.form, { ...ANSWERS, village: "far", photo: p.name }, { files: [p] }) as RecordId;
    await w.site("B").bridge.syncOnce();
    w.site("B").sim.announce();
    w.net.runFor(10 * 60_000, () => w.net.converged());
    shareBlobs(w);
    c.faults.set({ kind: "lose-answer" }, { count: 1, match: (m, path) => m === "POST" && path === "/submission" });
    await w.site("C").bridge.syncOnce();
    w.site("C").bridge.retryOutbox();
    await settle(w);
    assert.equal(c.faults.applied["lose-answer"], 1, "the first submission's answer was lost");
    assert.equal(c.submissions("aPhotoSurveyKoboC1").filter((r) => r["meta/rootUuid"] === id).length, 1, "one submission");
    assert.deepEqual([...filesAt(w, "C", id)], [[p.name, Buffer.from(p.bytes)]]);
    assert.equal(w.site("C").serverCount(), w.site("C").serverRecords().size, "no duplicate submissions");
    await assertQuiet(w);
  });

  it("a file Collect sends after the XML is picked up by a later poll", async () => {
    const b = w.odk.get("B")!;
    const slow = { name: "1732090000005.jpg", type: "image/jpeg", bytes: jpeg(700, 5) };
    const id = b.double.submitLocal(b.project, b.form, { ...ANSWERS, village: "west", photo: slow.name }) as RecordId;
    await settle(w);
    assert.equal(w.site("B").sim.store.getRecord(id)?.attachments.size, 0, "no file yet, no event");
    assert.ok(w.site("B").bridge.status().forms[0]!.files.checksOpen >= 1, "the record's files are still to be read");
    b.double.attachLocal(b.project, b.form, id, slow);
    w.net.runFor(60 * 60_000); // past the check's back-off
    await settle(w);
    shareBlobs(w);
    await settle(w);
    for (const s of ["A", "C"]) assert.deepEqual(filesAt(w, s, id).get(slow.name), Buffer.from(slow.bytes), `${s}'s server holds it`);
    await assertQuiet(w);
  });

  it("a photo replaced before its bytes arrived leaves nothing awaiting its bytes", async () => {
    const a = w.kobo.get("A")!;
    const first = { name: "1732090000006.jpg", type: "image/jpeg", bytes: jpeg(900, 6) };
    const second = { name: "1732090000007.jpg", type: "image/jpeg", bytes: jpeg(950, 7) };
    const row = a.submitLocal("aPhotoSurveyKoboA1", { ...ANSWERS, village: "south", photo: first.name }, { files: [first] });
    await settle(w);
    assert.ok(w.site("B").bridge.status().forms[0]!.files.awaitingBytes >= 1, "B awaits the first photo's bytes");
    a.editLocal("aPhotoSurveyKoboA1", Number(row._id), { photo: second.name }, [second]);
    await settle(w);
    // The first photo's bytes never travel (nobody names them any more): take them out of A's store before sharing.
    w.site("A").sim.store.db.prepare("DELETE FROM blobs WHERE hash = ?").run(Buffer.from(sha(first.bytes), "hex"));
    shareBlobs(w);
    await settle(w);
    for (const s of ["A", "B", "C"]) {
      assert.equal(w.site(s).bridge.status().forms[0]!.files.awaitingBytes, 0, `${s} awaits no bytes`);
      assert.deepEqual(filesAt(w, s, String(row["meta/rootUuid"])).get(second.name), Buffer.from(second.bytes), `${s}'s server holds the second photo`);
    }
  });
});

describe("attachments, policy metadata", () => {
  let w: World;
  const attachments = { policy: "metadata" as const };
  before(async () => {
    w = await makeWorld([
      { name: "A", kind: "kobo", uid: "aPhotoSurveyKoboA1", mapping: { attachments } },
      { name: "B", kind: "odk", mapping: { attachments } },
      { name: "C", kind: "kobo", uid: "aPhotoSurveyKoboC1", mapping: { attachments } },
    ]);
  });
  after(async () => w.close());

  it("the metadata event replicates, the bytes stay at the site that has them", async () => {
    const photo = { name: "1732090000011.jpg", type: "image/jpeg", bytes: jpeg(1200, 11) };
    const id = w.kobo.get("A")!.submitLocal("aPhotoSurveyKoboA1", { ...ANSWERS, photo: photo.name }, { files: [photo] })["meta/rootUuid"] as RecordId;
    await settle(w);
    for (const s of ["A", "B", "C"]) {
      const att = w.site(s).sim.store.getRecord(id)?.attachments.get(photo.name);
      assert.equal(att && Buffer.from(att.hash).toString("hex"), sha(photo.bytes), `${s} has the metadata`);
      assert.equal(w.site(s).sim.store.blobs.stats().count, 0, `${s} keeps no bytes`);
    }
    assert.deepEqual(filesAt(w, "B", id), new Map([[photo.name, null]]), "Central expects the file, which never comes");
    assert.equal(filesAt(w, "C", id).size, 0);
    assert.deepEqual(filesAt(w, "A", id).get(photo.name), Buffer.from(photo.bytes), "the original stays on A's server");
    await assertQuiet(w);
  });
});
