/**
 * Poll → radio → write-back, end to end: site A on KoboToolbox, site B on ODK
 * Central, site C on KoboToolbox with a field named differently (mapped by a
 * rename), each with its own store and bridge, linked through the engine over
 * the simulated medium. New submissions, edits, concurrent edits, a delete,
 * groups, repeats, select_multiple and geopoints: all three servers must end
 * with the same records and values, no duplicates and no echoes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CborValue } from "../src/engine/cbor.js";
import type { RecordId } from "../src/engine/ids.js";
import { makeWorld, settle, type World } from "./support/bridge-sites.js";
import { plain } from "./support/plain.js";

let w: World;

before(async () => {
  w = await makeWorld([
    { name: "A", kind: "kobo", uid: "aHouseholdSurveyKoboA1" },
    { name: "B", kind: "odk" },
    { name: "C", kind: "kobo", uid: "aHouseholdSurveyKoboC1", renameNotesTo: "remarks" },
  ]);
});
after(async () => {
  await w.close();
});

const koboA = () => w.kobo.get("A")!;
const koboC = () => w.kobo.get("C")!;
const central = () => w.odk.get("B")!;

function asObject(m: Map<string, CborValue>): Record<string, unknown> {
  return Object.fromEntries([...m].map(([k, v]) => [k, plain(v)]));
}

/** Every server holds the same records with the same answers; returns them. */
function assertServersAgree(): Map<string, Map<string, CborValue>> {
  const [first, ...rest] = w.sites.map((s) => ({ name: s.name, records: s.serverRecords() }));
  for (const other of rest) {
    assert.deepEqual([...other.records.keys()].sort(), [...first!.records.keys()].sort(), `records at ${other.name} vs ${first!.name}`);
    for (const [id, values] of first!.records) {
      assert.deepEqual(asObject(other.records.get(id)!), asObject(values), `record ${id} at ${other.name} vs ${first!.name}`);
    }
  }
  for (const s of w.sites) assert.equal(s.serverCount(), s.serverRecords().size, `no duplicate submissions at ${s.name}`);
  return first!.records;
}

/** One more round after settling appends no event anywhere (no echo) and writes nothing. */
async function assertQuiet(): Promise<void> {
  const heads = w.sites.map((s) => s.sim.store.eventCount());
  const requests = w.sites.map((s) => s.name).map((n) => (w.kobo.get(n)?.requests ?? w.odk.get(n)!.double.requests).filter((r) => r.method !== "GET").length);
  await settle(w);
  assert.deepEqual(w.sites.map((s) => s.sim.store.eventCount()), heads, "no site appended an event");
  const after = w.sites.map((s) => s.name).map((n) => (w.kobo.get(n)?.requests ?? w.odk.get(n)!.double.requests).filter((r) => r.method !== "GET").length);
  assert.deepEqual(after, requests, "no site wrote to its server");
}

const recordAt = (id: string) => assertServersAgree().get(id);

describe("three sites, two kinds of server", () => {
  let fromA: string;
  let fromB: string;
  let fromC: string;

  it("new submissions at every site reach every server, structure intact", async () => {
    const a = koboA().submitLocal("aHouseholdSurveyKoboA1", {
      start: "2026-11-20T08:00:00.000+03:00", end: "2026-11-20T08:20:00.000+03:00", village: "north",
      "hh/head_name": "Amina", "hh/size": "5", "hh/income": "120.50", visit_date: "2026-11-20",
      needs: "water food", location: "-1.2921 36.8219 1650.0 5.0",
      members: [{ "members/name": "Amina", "members/age": "34", "members/sex": "f" }, { "members/name": "Juma", "members/age": "7", "members/sex": "m" }],
      notes: "roof damaged",
    });
    fromA = String(a["meta/rootUuid"]);
    const b = central();
    fromB = b.double.submitLocal(b.project, b.form, {
      village: "south", "hh/head_name": "Baraka", "hh/size": "3", visit_date: "2026-11-19", needs: "shelter",
      location: "-3.3869 36.6830 1400 4", members: [{ name: "Baraka", age: "40", sex: "m" }], notes: "needs tarpaulin",
    });
    const c = koboC().submitLocal("aHouseholdSurveyKoboC1", { village: "east", "hh/head_name": "Chausiku", "hh/size": "2", remarks: "well water" });
    fromC = String(c["meta/rootUuid"]);
    await settle(w);
    const all = assertServersAgree();
    assert.equal(all.size, 3);
    const ra = all.get(fromA)!;
    assert.equal(ra.get("hh/size"), 5);
    assert.equal(ra.get("hh/income"), 120.5);
    assert.deepEqual(plain(ra.get("needs")!), ["water", "food"]);
    assert.deepEqual(plain(ra.get("location")!), [-1.2921, 36.8219, 1650, 5]);
    assert.deepEqual(plain(ra.get("members")!), [{ name: "Amina", age: 34, sex: "f" }, { name: "Juma", age: 7, sex: "m" }]);
    assert.equal(all.get(fromC)!.get("notes"), "well water", "C's 'remarks' arrives as the shared 'notes'");
    assert.equal(all.get(fromB)!.get("notes"), "needs tarpaulin");
    // At C the shared 'notes' lands in C's own 'remarks' question.
    const cRow = koboC().submissions("aHouseholdSurveyKoboC1").find((r) => r["meta/rootUuid"] === fromB)!;
    assert.equal(cRow.remarks, "needs tarpaulin");
    // A record keeps its identity everywhere: Central's logical id is A's rootUuid.
    assert.ok(central().double.submissions(central().project, central().form).some((s) => s.instanceId === fromA));
    await assertQuiet();
  });

  it("an edit at one site is written as an edit everywhere", async () => {
    const b = central();
    const row = koboA().submissions("aHouseholdSurveyKoboA1").find((r) => r["meta/rootUuid"] === fromB)!;
    koboA().editLocal("aHouseholdSurveyKoboA1", row._id as number, { "hh/size": "4", needs: "shelter water" });
    await settle(w);
    const rec = recordAt(fromB)!;
    assert.equal(rec.get("hh/size"), 4);
    assert.deepEqual(plain(rec.get("needs")!), ["shelter", "water"]);
    assert.equal(rec.get("notes"), "needs tarpaulin", "fields nobody edited are unchanged");
    const atB = b.double.submissions(b.project, b.form).find((s) => s.instanceId === fromB)!;
    assert.ok(atB.versions >= 2, "Central holds the edit as a new version of the same submission");
    await assertQuiet();
  });

  it("concurrent edits of one field at two sites converge to one value, logged as a conflict", async () => {
    const b = central();
    b.double.editLocal(b.project, b.form, fromA, { "hh/head_name": "Amina B." });
    const cRow = koboC().submissions("aHouseholdSurveyKoboC1").find((r) => r["meta/rootUuid"] === fromA)!;
    koboC().editLocal("aHouseholdSurveyKoboC1", cRow._id as number, { "hh/head_name": "Amina C.", remarks: "second visit" });
    await settle(w);
    const rec = recordAt(fromA)!;
    assert.ok(["Amina B.", "Amina C."].includes(rec.get("hh/head_name") as string));
    assert.equal(rec.get("notes"), "second visit", "C's other field is not lost in the race");
    for (const s of w.sites) {
      const lost = s.sim.store.conflicts().filter((c) => c.record === (fromA as RecordId) && c.key === "hh/head_name");
      assert.equal(lost.length, 1, `the losing value is in ${s.name}'s conflict log`);
    }
    await assertQuiet();
  });

  it("a record deleted at one site disappears from every server", async () => {
    const row = koboC().submissions("aHouseholdSurveyKoboC1").find((r) => r["meta/rootUuid"] === fromC)!;
    koboC().deleteLocal("aHouseholdSurveyKoboC1", row._id as number);
    await settle(w);
    const all = assertServersAgree();
    assert.equal(all.has(fromC), false);
    assert.equal(all.size, 2);
    await assertQuiet();
  });

  it("an edit made after a delete elsewhere brings the record back everywhere (Central restores it)", async () => {
    const b = central();
    const victim = fromB;
    b.double.deleteLocal(b.project, b.form, victim);
    await w.site("B").bridge.syncOnce(); // B takes the deletion in first...
    w.net.runFor(1_000); // ...and a moment later, before any radio traffic,
    const row = koboA().submissions("aHouseholdSurveyKoboA1").find((r) => r["meta/rootUuid"] === victim)!;
    koboA().editLocal("aHouseholdSurveyKoboA1", row._id as number, { notes: "family returned" }); // A edits it.
    await settle(w);
    const rec = recordAt(victim)!;
    assert.equal(rec.get("notes"), "family returned");
    assert.equal(rec.get("hh/head_name"), "Baraka", "the full field state comes back, not only the edited field");
    assert.equal(b.double.submissions(b.project, b.form).filter((s) => s.instanceId === victim).length, 1, "restored, not created anew");
    assert.ok(b.double.requests.some((r) => r.method === "POST" && r.path.endsWith("/restore") && r.status === 200));
    await assertQuiet();
  });
});
