/**
 * The doubles' enumerator-side file helpers the attachment tests rely on,
 * against what each server does (shared/facts): Central keeps uploads only
 * for names the XML references, carries a version's media into an edit that
 * still names it (PUT copies matching media) and takes a late upload; kpi
 * soft-deletes a file an edit no longer names, and adds the files of an
 * identical re-submission to the instance.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createKoboDouble, type KoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { OdkProblem } from "../src/bridge/doubles/odk-problems.js";
import { householdAsset, TOKEN } from "./support/bridge-sites.js";
import { household, startSite, type Site } from "./support/odk-double-client.js";

const file = (name: string, fill: number) => ({ name, type: "image/jpeg", bytes: new Uint8Array([0xff, 0xd8, fill, fill]) });

describe("ODK Central double: files from enumerators", () => {
  let site: Site;
  before(async () => {
    site = await startSite();
  });
  after(async () => site.double.stop());

  it("submitLocal uploads the files the XML names and drops the others", () => {
    const id = site.double.submitLocal(site.project, site.household, household(41, { photo: "p.jpg" }), { files: [file("p.jpg", 1), file("stray.jpg", 2)] });
    assert.deepEqual([...site.double.attachmentsOf(site.project, site.household, id)], [["p.jpg", Buffer.from(file("p.jpg", 1).bytes)]]);
  });

  it("an edit keeps the media it still names, expects a new name empty until uploaded, and attachLocal fills it", () => {
    const id = site.double.submitLocal(site.project, site.household, household(42, { photo: "a.jpg" }), { files: [file("a.jpg", 3)] });
    site.double.editLocal(site.project, site.household, id, { village: "changed" });
    assert.deepEqual(site.double.attachmentsOf(site.project, site.household, id).get("a.jpg"), Buffer.from(file("a.jpg", 3).bytes), "PUT copies matching media");
    site.double.editLocal(site.project, site.household, id, { photo: "b.jpg" });
    assert.deepEqual([...site.double.attachmentsOf(site.project, site.household, id)], [["b.jpg", null]]);
    site.double.attachLocal(site.project, site.household, id, file("b.jpg", 4));
    assert.deepEqual(site.double.attachmentsOf(site.project, site.household, id).get("b.jpg"), Buffer.from(file("b.jpg", 4).bytes));
    assert.throws(() => site.double.attachLocal(site.project, site.household, id, file("other.jpg", 5)), (e: OdkProblem) => e.code === 404.1);
  });
});

describe("Kobo double: files from enumerators", () => {
  const asset = householdAsset("aPhotoDoubleTestKobo1");
  let kobo: KoboDouble;
  before(async () => {
    kobo = createKoboDouble({ token: TOKEN });
    await kobo.start(0);
    kobo.addAsset(asset);
  });
  after(async () => kobo.stop());

  it("an edit with a new photo soft-deletes the one it no longer names", () => {
    const row = kobo.submitLocal(asset.uid, { village: "north", photo: "a.jpg" }, { files: [file("a.jpg", 1)] });
    const id = Number(row._id);
    kobo.editLocal(asset.uid, id, { photo: "b.jpg" }, [file("b.jpg", 2)]);
    assert.deepEqual([...kobo.attachmentsOf(asset.uid, id).keys()], ["b.jpg"]);
    const listed = kobo.submissions(asset.uid).find((r) => r._id === id)!._attachments as { media_file_basename: string }[];
    assert.deepEqual(listed.map((a) => a.media_file_basename), ["b.jpg"], "the data API lists only the live file");
  });

  it("resendLocal adds late media to the instance without a new version", () => {
    const row = kobo.submitLocal(asset.uid, { village: "south", photo: "c.jpg" });
    const id = Number(row._id);
    assert.equal(kobo.attachmentsOf(asset.uid, id).size, 0);
    const again = kobo.resendLocal(asset.uid, id, [file("c.jpg", 3)]);
    assert.equal(again["meta/instanceID"], row["meta/instanceID"], "same version");
    assert.deepEqual(kobo.attachmentsOf(asset.uid, id).get("c.jpg"), file("c.jpg", 3).bytes);
    assert.throws(() => kobo.resendLocal(asset.uid, id, []), /202 Duplicate Instance/);
  });
});
