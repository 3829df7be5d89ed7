/**
 * The bridge under upstream faults: a server down for a while, 500s, garbage
 * JSON, an expired session, an answer lost after the write landed, and a
 * person editing the same submission between our read and our write. In
 * every case nothing is lost, nothing is written twice and no echo appears.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { makeWorld, recordEventCount, settle, type World } from "./support/bridge-sites.js";

let w: World;
const KOBO_UID = "aHouseholdSurveyKoboA1";

beforeEach(async () => {
  w = await makeWorld([
    { name: "A", kind: "kobo", uid: KOBO_UID },
    { name: "B", kind: "odk" },
  ]);
});
afterEach(async () => {
  await w.close();
});

const kobo = () => w.kobo.get("A")!;
const central = () => w.odk.get("B")!;

/** One bridge round at every site and radio time until the feeds agree (no quiet required). */
async function round(): Promise<void> {
  for (const s of w.sites) {
    await s.bridge.syncOnce();
    s.sim.announce();
  }
  w.net.runFor(10 * 60_000, () => w.net.converged());
}

/** Lets virtual time pass (retry back-offs elapse). */
const wait = (ms: number) => w.net.runFor(ms);

function submitAtA(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    String(kobo().submitLocal(KOBO_UID, { village: "north", "hh/head_name": `Head ${i}`, "hh/size": String(i + 1) })["meta/rootUuid"]),
  );
}

const centralCreates = () => central().double.requests.filter((r) => r.method === "POST" && /\/forms\/[^/]+\/submissions$/.test(r.path));
const koboPosts = () => kobo().requests.filter((r) => r.method === "POST" && r.path === "/submission");

function assertSame(): void {
  const a = w.site("A").serverRecords();
  const b = w.site("B").serverRecords();
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const s of w.sites) assert.equal(s.serverCount(), s.serverRecords().size, `no duplicates at ${s.name}`);
}

describe("bridge faults", () => {
  it("a Central that is down for a while gets every record once it is back", async () => {
    central().double.faults.set({ kind: "down" });
    const ids = submitAtA(3);
    await round();
    await round();
    const st = w.site("B").bridge.status();
    assert.equal(st.outbox.failed, 3, "the writes wait in the outbox");
    assert.match(w.site("B").bridge.outbox("failed", 1)[0]!.lastError ?? "", /ECONNRESET|socket|closed|other side/i);
    assert.ok(st.forms[0]!.lastPollError, "the status says the poll failed");
    assert.equal(central().double.submissions(central().project, central().form).length, 0);
    central().double.faults.clear();
    wait(15 * 60_000);
    await settle(w);
    assertSame();
    assert.deepEqual([...w.site("B").serverRecords().keys()].sort(), ids.sort());
    assert.equal(centralCreates().filter((r) => r.status === 200).length, 3, "each record created once");
    assert.equal(w.site("B").bridge.status().forms[0]!.lastPollError, null);
  });

  it("500s from Kobo's /submission are retried with back-off and land once", async () => {
    const b = central();
    b.double.submitLocal(b.project, b.form, { village: "south", "hh/head_name": "Baraka", "hh/size": "3" });
    kobo().faults.set({ kind: "status", status: 500 }, { count: 2, match: (m, p) => m === "POST" && p === "/submission" });
    await round(); // B takes its submission in and sends it
    await round(); // A tries to write it
    assert.equal(w.site("A").bridge.status().outbox.failed, 1);
    assert.match(w.site("A").bridge.outbox("failed", 1)[0]!.lastError ?? "", /500/);
    for (let i = 0; i < 3; i++) {
      wait(15 * 60_000);
      await round();
    }
    await settle(w);
    assertSame();
    assert.equal(koboPosts().filter((r) => r.status === 201).length, 1);
    assert.equal(kobo().faults.applied.status, 2);
  });

  it("garbage JSON from Kobo's data API fails the poll, and the next poll takes everything in", async () => {
    const ids = submitAtA(2);
    kobo().faults.set({ kind: "garbage" }, { count: 1, match: (m, p) => m === "GET" && p.includes("/data") });
    await w.site("A").bridge.syncOnce();
    assert.match(w.site("A").bridge.status().forms[0]!.lastPollError ?? "", /not JSON/);
    assert.equal(recordEventCount(w.site("A").sim.store), 0);
    await settle(w);
    assert.deepEqual([...w.site("B").serverRecords().keys()].sort(), ids.sort());
    assertSame();
  });

  it("an expired Central session is renewed and nothing fails", async () => {
    submitAtA(1);
    await settle(w);
    const logins = () => central().double.requests.filter((r) => r.method === "POST" && r.path === "/v1/sessions").length;
    const before = logins();
    central().double.expireSessions();
    submitAtA(1);
    await settle(w);
    assert.equal(logins(), before + 1, "logged in again once");
    assert.equal(w.site("B").bridge.status().forms[0]!.totals.writeFailures, 0);
    assertSame();
  });

  it("a write whose answer is lost is recognised as landed: no duplicate, no echo", async () => {
    central().double.faults.set({ kind: "lose-answer" }, { count: 1, match: (m, p) => m === "POST" && p.endsWith("/submissions") });
    kobo().faults.set({ kind: "lose-answer" }, { count: 1, match: (m, p) => m === "POST" && p === "/submission" });
    submitAtA(1);
    const b = central();
    b.double.submitLocal(b.project, b.form, { village: "east", "hh/head_name": "Chausiku" });
    await settle(w);
    assertSame();
    assert.equal(central().double.faults.applied["lose-answer"], 1);
    assert.equal(kobo().faults.applied["lose-answer"], 1);
    assert.equal(w.site("A").serverCount(), 2);
    assert.equal(w.site("B").serverCount(), 2);
    const events = w.sites.map((s) => recordEventCount(s.sim.store));
    assert.deepEqual(events, [2, 2], "one event per submission: the lost-answer writes did not come back as changes");
  });

  it("a write that landed unheard and was then deleted by a person becomes a deletion, not an endless 409", async () => {
    // Central keeps deleted submissions' instanceIDs: the retried create answers 409.3 while the submission is not to be seen.
    const b = central();
    b.double.faults.set({ kind: "lose-answer" }, { count: 1, match: (m, p) => m === "POST" && p.endsWith("/submissions") });
    const [id] = submitAtA(1);
    await round();
    await round();
    assert.equal(b.double.faults.applied["lose-answer"], 1, "B's create landed and B did not hear so");
    assert.equal(b.double.submissions(b.project, b.form).length, 1);
    b.double.deleteLocal(b.project, b.form, id!);
    wait(15 * 60_000);
    await settle(w);
    assert.equal(w.site("A").serverCount(), 0, "the person's deletion at B reached A");
    assert.equal(w.site("B").serverCount(), 0);
    const refused = centralCreates().filter((r) => r.status === 409).length;
    assert.ok(refused >= 1 && refused <= 2, `the retried create was refused (409.3) ${refused} times: once or twice, not again and again`);
    for (const s of w.sites) assert.equal(s.bridge.status().outbox.pending + s.bridge.status().outbox.failed, 0, `${s.name}'s outbox is empty`);
  });

  it("a restore at Central whose answer was lost is not followed by a create taken for landed: the edit that revived the record lands", async () => {
    // A person deletes R at Central while another edits it at Kobo; the edit outruns the delete, so B restores R and edits it.
    // The restore lands but its answer is lost: retried, it is refused (404: nothing deleted to restore). R is live again at
    // Central with its old answers, so a create of R is refused (409.3) and finds R there, but not with our answers.
    const b = central();
    const [id] = submitAtA(1);
    await settle(w);
    wait(60_000);
    submitAtA(1); // written at Central after R: Central's poll cursor moves past R, so the poll cannot see R come back
    await settle(w);
    b.double.deleteLocal(b.project, b.form, id!);
    await w.site("B").bridge.syncOnce();
    wait(60_000);
    const row = kobo().submissions(KOBO_UID).find((r) => r["meta/rootUuid"] === id)!;
    kobo().editLocal(KOBO_UID, row._id as number, { notes: "edited after the delete" });
    await w.site("A").bridge.syncOnce();
    b.double.faults.set({ kind: "lose-answer" }, { count: 1, match: (m, p) => m === "POST" && p.endsWith("/restore") });
    for (let k = 0; k < 4; k++) {
      await round();
      wait(60_000); // the failed restore is retried after its back-off
    }
    await settle(w);
    assert.equal(b.double.faults.applied["lose-answer"], 1, "B's restore landed and B did not hear so");
    assert.equal(w.site("A").serverRecords().get(id!)?.get("notes"), "edited after the delete", "the edit stands at A");
    assert.equal(w.site("B").serverRecords().get(id!)?.get("notes"), "edited after the delete", "and reached Central, on the restored submission");
    assertSame();
  });

  it("a create refused because the server holds the record's instanceID with other answers is made an edit, not taken for landed", async () => {
    // B's copy of R is lost (a backup restored from before it was written): B plans a create, Central refuses it (409.3) and
    // shows R under R's own instanceID, but with R's first answers, not the edit from A that B is writing.
    const [id] = submitAtA(1);
    await settle(w);
    wait(60_000);
    submitAtA(1); // Central's poll cursor moves past R
    await settle(w);
    w.site("B").sim.store.db.prepare("DELETE FROM bridge_local WHERE record_id = ?").run(id);
    const row = kobo().submissions(KOBO_UID).find((r) => r["meta/rootUuid"] === id)!;
    kobo().editLocal(KOBO_UID, row._id as number, { notes: "edited at Kobo" });
    wait(60_000);
    await settle(w);
    assert.ok(centralCreates().some((r) => r.status === 409), "B's create of R was refused");
    assert.equal(w.site("B").serverRecords().get(id!)?.get("notes"), "edited at Kobo", "the edit reached Central");
    assertSame();
  });

  it("a create answered 404 (form not found for a moment) is written again, never taken for a deletion", async () => {
    const b = central();
    b.double.faults.set({ kind: "status", status: 404 }, { count: 1, match: (m, p) => m === "POST" && p.endsWith("/submissions") });
    const [id] = submitAtA(1);
    await round();
    await round();
    assert.equal(b.double.faults.applied.status, 1, "B's first create was refused");
    wait(60_000); // the re-check is due a moment later
    await settle(w);
    assert.deepEqual([...w.site("A").serverRecords().keys()], [id], "A still holds the record: no deletion came back");
    assert.deepEqual([...w.site("B").serverRecords().keys()], [id], "B wrote it on a later try");
  });

  it("a record our writer created at Kobo and a person deleted before the next poll is taken in as deleted", async () => {
    // OpenRosa's answer does not carry the new row's _id: until a poll reads it, the site knows the copy by rootUuid only.
    const b = central();
    const id = b.double.submitLocal(b.project, b.form, { village: "east", "hh/head_name": "Neema" });
    await round();
    await round();
    const row = kobo().submissions(KOBO_UID).find((r) => r["meta/rootUuid"] === id);
    assert.ok(row, "A's writer created the record at Kobo");
    kobo().deleteLocal(KOBO_UID, row._id as number);
    await settle(w);
    assert.equal(w.site("A").serverCount(), 0);
    assert.equal(w.site("B").serverCount(), 0, "the person's deletion at A reached B");
    for (const s of w.sites) assert.equal(s.bridge.status().outbox.pending + s.bridge.status().outbox.failed, 0, `${s.name}'s outbox is empty`);
  });

  it("a person's edit between our read and our write (409.9 / 410) is taken in, not overwritten blindly", async () => {
    const [id] = submitAtA(1);
    await settle(w);
    const b = central();
    // A changes the size; when B's writer sends its edit, a person at B has just changed the village.
    const row = kobo().submissions(KOBO_UID)[0]!;
    kobo().editLocal(KOBO_UID, row._id as number, { "hh/size": "9" });
    b.double.faults.set({ kind: "slow", delayMs: 0 }, {
      count: 1,
      match: (m) => {
        if (m !== "PUT") return false;
        b.double.editLocal(b.project, b.form, id!, { village: "south" });
        return true;
      },
    });
    await settle(w);
    const rec = w.site("A").serverRecords().get(id!)!;
    assert.equal(rec.get("hh/size"), 9, "A's edit is at B");
    assert.equal(rec.get("village"), "south", "B's person's edit is at A");
    assertSame();
    assert.ok(b.double.requests.some((r) => r.method === "PUT" && r.status === 409), "the stale edit was refused by Central");
    assert.equal(w.site("B").serverCount(), 1);
  });
});
