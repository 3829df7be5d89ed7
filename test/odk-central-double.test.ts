/**
 * The ODK Central double over real HTTP: sessions, forms and their schema,
 * REST submission writes (create / edit / review / delete) with Central's
 * status codes and bodies, attachments, and injected faults. The OData feed
 * is covered in odk-central-double-odata.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOdkCentralDouble } from "../src/bridge/doubles/odk-central-double.js";
import { OdkProblem } from "../src/bridge/doubles/odk-problems.js";
import { asPage, asProblem, asRow, asRows, household, startSite, USER, type Row, type Site } from "./support/odk-double-client.js";

let site: Site;
before(async () => {
  site = await startSite();
});
after(async () => {
  await site.double.stop();
});

const xmlOf = async (instanceId: string): Promise<string> => (await site.get(site.form(`/submissions/${instanceId}.xml`))).text;
const odataRow = async (instanceId: string): Promise<Row> => {
  const r = await site.get(site.form(`.svc/Submissions('${instanceId}')`));
  return asPage(r).value[0] ?? {};
};
const put = (instanceId: string, xml: string) => site.call("PUT", site.form(`/submissions/${instanceId}`), { body: xml, type: "application/xml" });
const post = (xml: string, xmlFormId?: string) => site.call("POST", site.form("/submissions", xmlFormId), { body: xml, type: "text/xml" });
/** The current XML turned into an edit: new instanceID, deprecatedID = the one it replaces. */
const asEdit = (xml: string, from: string, to: string): string =>
  xml.replace(`<instanceID>${from}</instanceID>`, `<instanceID>${to}</instanceID><deprecatedID>${from}</deprecatedID>`);

describe("ODK Central double: sessions", () => {
  it("logs in with a 64-character token that uses ! and $, and accepts it as Bearer", async () => {
    const r = await site.login();
    assert.equal(r.status, 200);
    const s = asRow(r.body);
    assert.match(String(s.token), /^[A-Za-z0-9!$]{64}$/);
    assert.ok(String(s.token).includes("!") && String(s.token).includes("$"));
    assert.ok(typeof s.csrf === "string" && typeof s.expiresAt === "string" && typeof s.createdAt === "string");
    assert.equal((await site.get("/v1/projects")).status, 200);
  });

  it("rejects wrong credentials and missing or unknown auth with 401.2", async () => {
    const wrong = await site.call("POST", "/v1/sessions", { body: JSON.stringify({ email: USER.email, password: "nope" }), type: "application/json" });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { message: "Could not authenticate with the provided credentials.", code: 401.2 });
    const anonymous = await fetch(`${site.url}/v1/projects`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json() as Row).code, 401.2);
    const junk = await site.call("GET", "/v1/projects", { headers: { authorization: "Bearer not-a-token" } });
    assert.equal(asProblem(junk).code, 401.2);
    const missing = await site.call("POST", "/v1/sessions", { body: JSON.stringify({ email: USER.email }), type: "application/json" });
    assert.equal(asProblem(missing).code, 400.3);
  });

  it("answers 401 after the session expires, and a new login works", async () => {
    site.double.expireSessions();
    const r = await site.get("/v1/projects");
    assert.equal(r.status, 401);
    assert.equal(asProblem(r).code, 401.2);
    assert.equal((await site.login()).status, 200);
    assert.equal((await site.get("/v1/projects")).status, 200);
  });

  it("a password an admin changes ends the user's sessions: the token and the old password get 401.2, the new password logs in", async () => {
    const first = site.token;
    const second = await site.login();
    assert.equal(second.status, 200);
    site.double.setPassword(USER.email, "n3w-pass!");
    for (const token of [first, site.token]) {
      const r = await site.call("GET", "/v1/projects", { headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual([r.status, asProblem(r).code], [401, 401.2], "a session of the user from before the change");
    }
    const old = await site.login();
    assert.deepEqual(old.body, { message: "Could not authenticate with the provided credentials.", code: 401.2 });
    const fresh = await site.call("POST", "/v1/sessions", { body: JSON.stringify({ email: USER.email, password: "n3w-pass!" }), type: "application/json" });
    assert.equal(fresh.status, 200);
    site.token = String(asRow(fresh.body).token);
    assert.equal((await site.get("/v1/projects")).status, 200);
    site.double.setPassword(USER.email, USER.password);
    assert.equal((await site.get("/v1/projects")).status, 401, "changing it back ends that session too");
    assert.equal((await site.login()).status, 200);
    assert.throws(() => site.double.setPassword("nobody@example.test", "x"), (e: unknown) => e instanceof OdkProblem && e.code === 404.1);
  });

  it("a deleted user's sessions end and its login answers 401.2, while another user's session lives on", async () => {
    const other = { email: "other@example.test", password: "other-pass" };
    const double = createOdkCentralDouble({ users: [USER, other] });
    const url = await double.start(0);
    try {
      const login = async (u: { email: string; password: string }) =>
        fetch(`${url}/v1/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(u) });
      const tokenOf = async (u: { email: string; password: string }) => ((await (await login(u)).json()) as { token: string }).token;
      const [mine, theirs] = [await tokenOf(USER), await tokenOf(other)];
      double.deleteUser(USER.email);
      const projects = (token: string) => fetch(`${url}/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await projects(mine)).status, 401);
      assert.equal((await projects(theirs)).status, 200);
      const refused = await login(USER);
      assert.deepEqual([refused.status, ((await refused.json()) as Row).code], [401, 401.2]);
    } finally {
      await double.stop();
    }
  });

  it("ends the current session on DELETE /v1/sessions/current", async () => {
    assert.deepEqual((await site.call("DELETE", "/v1/sessions/current")).body, { success: true });
    assert.equal((await site.get("/v1/projects")).status, 401);
    await site.login();
  });

  it("answers 404.1 for unknown resources and 404.2 without /v1", async () => {
    assert.equal(asProblem(await site.get(`/v1/projects/${site.project}/forms/nope`)).code, 404.1);
    assert.equal(asProblem(await site.get("/projects")).code, 404.2);
  });
});

describe("ODK Central double: projects and forms", () => {
  it("lists projects, with forms nested on ?forms=true", async () => {
    const projects = asRows((await site.get("/v1/projects?forms=true")).body);
    assert.equal(projects[0]?.name, "Household survey");
    const forms = asRows(projects[0]?.formList);
    assert.deepEqual(forms.map((f) => f.xmlFormId).sort(), ["household_b", "mesh_report"]);
  });

  it("describes a form: id, title, version, open state; extended metadata counts submissions", async () => {
    const form = asRow((await site.get(site.form(""))).body);
    assert.equal(form.xmlFormId, "household_b");
    assert.equal(form.name, "Household survey (site B)");
    assert.equal(form.version, "2026111901");
    assert.equal(form.state, "open");
    const listed = asRows((await site.get(`/v1/projects/${site.project}/forms`, { "x-extended-metadata": "true" })).body);
    assert.ok(listed.every((f) => typeof f.submissions === "number" && "lastSubmission" in f));
    assert.match((await site.get(site.form(".xml"))).text, /<data id="household_b" version="2026111901">/);
    assert.deepEqual(asRows((await site.get(site.form("/versions"))).body).map((v) => v.version), ["2026111901"]);
  });

  it("gives the flat field list depth-first, typed from binds, with select-multiple and binary flags", async () => {
    const fields = asRows((await site.get(site.form("/fields?odata=true"))).body);
    const brief = fields.map((f) => `${String(f.path)}:${String(f.type)}${f.selectMultiple === true ? "*" : ""}${f.binary === true ? "#" : ""}`);
    assert.deepEqual(brief, [
      "/start:dateTime", "/end:dateTime", "/village:string", "/hh:structure", "/hh/head_name:string", "/hh/size:int",
      "/hh/income:decimal", "/visit_date:date", "/needs:string*", "/location:geopoint", "/members:repeat", "/members/name:string",
      "/members/age:int", "/members/sex:string", "/photo:binary#", "/notes:string", "/meta:structure", "/meta/instanceID:string",
    ]);
    assert.deepEqual(fields[0], { path: "/start", name: "start", type: "dateTime", binary: null, selectMultiple: null });
    const mesh = asRows((await site.get(site.form("/fields", site.mesh))).body).map((f) => f.path);
    assert.ok(mesh.includes("/q1.8"));
    const sanitised = asRows((await site.get(site.form("/fields?odata=true", site.mesh))).body).map((f) => f.path);
    assert.ok(sanitised.includes("/q1_8"));
  });
});

describe("ODK Central double: REST submissions", () => {
  it("creates a submission from raw XML and answers with its metadata", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(1));
    const xml = (await xmlOf(id)).replace(id, "uuid:11111111-2222-4333-8444-555555555555");
    const r = await post(xml);
    assert.equal(r.status, 200);
    const created = asRow(r.body);
    assert.equal(created.instanceId, "uuid:11111111-2222-4333-8444-555555555555");
    assert.equal(typeof created.submitterId, "number");
    assert.equal(created.updatedAt, null);
    assert.equal(asRow(created.currentVersion).current, true);
  });

  it("answers a duplicate instanceID with 409.3", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(2));
    const r = await post(await xmlOf(id));
    assert.equal(r.status, 409);
    const p = asProblem(r);
    assert.equal(p.code, 409.3);
    assert.match(p.message, new RegExp(`^A resource already exists with formId,instanceId,draft value\\(s\\) of \\d+,${id},f\\.$`));
    assert.deepEqual(p.details?.fields, ["formId", "instanceId", "draft"]);
  });

  it("ignores a deprecatedID on POST: it makes a separate submission, not an edit", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(3));
    const r = await post(asEdit(await xmlOf(id), id, "uuid:33333333-2222-4333-8444-555555555555"));
    assert.equal(r.status, 200);
    assert.equal(asRow(r.body).instanceId, "uuid:33333333-2222-4333-8444-555555555555");
    const mine = site.double.submissions(site.project, site.household).filter((s) => s.instanceId === id || s.instanceId === "uuid:33333333-2222-4333-8444-555555555555");
    assert.equal(mine.length, 2);
    assert.ok(mine.every((s) => s.versions === 1));
  });

  it("rejects an unknown form version (404.6), a foreign form id (400.8), and makes up a bare uuid without instanceID", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(4));
    const xml = await xmlOf(id);
    const wrongVersion = await post(xml.replace('version="2026111901"', 'version="2"').replace(id, "uuid:44444444-0000-4000-8000-000000000000"));
    assert.equal(wrongVersion.status, 404);
    assert.equal(asProblem(wrongVersion).message, "The form version specified in this submission '2' does not exist.");
    assert.equal(asProblem(wrongVersion).code, 404.6);
    const wrongForm = await post(xml.replace(id, "uuid:44444444-0000-4000-8000-000000000001"), site.mesh);
    assert.equal(asProblem(wrongForm).code, 404.6); // the version is checked against the URL's form first
    const foreign = await post(xml.replace('id="household_b"', 'id="mesh_report"').replace(id, "uuid:44444444-0000-4000-8000-000000000002"));
    assert.equal(asProblem(foreign).code, 400.8);
    assert.equal(asProblem(foreign).message, "Unexpected form id value mesh_report; did not match the form ID in the URL");
    const noId = await post(xml.replace(`<instanceID>${id}</instanceID>`, ""));
    assert.match(String(asRow(noId.body).instanceId), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("PUT: 400.19 without deprecatedID, then a new version; a stale deprecatedID is 409.9", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(5));
    const xml = await xmlOf(id);
    const missing = await put(id, xml.replace(id, "uuid:55555555-0000-4000-8000-000000000001"));
    assert.equal(missing.status, 400);
    assert.equal(asProblem(missing).code, 400.19);

    const v2 = "uuid:55555555-0000-4000-8000-000000000002";
    const ok = await put(id, asEdit(xml.replace("<size>6</size>", "<size>7</size>"), id, v2));
    assert.equal(ok.status, 200);
    assert.equal(asRow(ok.body).instanceId, id);
    assert.equal(asRow(ok.body).reviewState, "edited");
    assert.equal(asRow(asRow(ok.body).currentVersion).instanceId, v2);

    const row = await odataRow(id);
    assert.equal(row.__id, id, "__id stays the logical (first) instanceID");
    assert.deepEqual(row.meta, { instanceID: v2 }, "meta shows the current version; this form declares no deprecatedID");
    assert.equal(asRow(row.hh).size, 7);
    assert.equal(asRow(row.__system).edits, 1);
    assert.equal(asRow(row.__system).reviewState, "edited");

    const stale = await put(id, asEdit(xml, id, "uuid:55555555-0000-4000-8000-000000000003"));
    assert.equal(stale.status, 409);
    assert.equal(asProblem(stale).code, 409.9);
    assert.deepEqual(asProblem(stale).details, { deprecatedId: id });

    const versions = asRows((await site.get(site.form(`/submissions/${id}/versions`))).body);
    assert.deepEqual(versions.map((v) => [v.instanceId, v.current]), [[v2, true], [id, false]]);
  });

  it("PUT with a new instanceID that already exists is 409.3; the old version id redirects to its version", async () => {
    const a = site.double.submitLocal(site.project, site.household, household(6));
    const b = site.double.submitLocal(site.project, site.household, household(7));
    const clash = await put(a, asEdit(await xmlOf(a), a, b));
    assert.equal(asProblem(clash).code, 409.3);
    site.double.editLocal(site.project, site.household, a, { notes: "fixed" });
    const current = site.double.submissions(site.project, site.household).find((s) => s.instanceId === a)?.currentInstanceId ?? "";
    const r = await site.get(site.form(`/submissions/${current}.xml`));
    assert.equal(r.status, 301);
    assert.match(r.headers.get("location") ?? "", new RegExp(`/submissions/${encodeURIComponent(a)}/versions/${encodeURIComponent(current)}\\.xml$`));
  });

  it("PATCH reviewState bumps updatedAt but not meta/instanceID or edits", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(8));
    const before = await odataRow(id);
    const r = await site.call("PATCH", site.form(`/submissions/${id}`), { body: JSON.stringify({ reviewState: "approved" }), type: "application/json" });
    assert.equal(r.status, 200);
    assert.equal(asRow(r.body).reviewState, "approved");
    const afterRow = await odataRow(id);
    assert.equal(asRow(before.__system).updatedAt, null);
    assert.ok(String(asRow(afterRow.__system).updatedAt) > String(asRow(before.__system).submissionDate));
    assert.deepEqual(afterRow.meta, before.meta);
    assert.equal(asRow(afterRow.__system).edits, 0);
    assert.equal(asRow(afterRow.__system).reviewState, "approved");
  });

  it("soft-deletes: gone from the list and OData, listed with ?deleted=true, restorable", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(9));
    assert.deepEqual((await site.call("DELETE", site.form(`/submissions/${id}`))).body, { success: true });
    const listed = asRows((await site.get(site.form("/submissions"))).body).map((s) => s.instanceId);
    assert.ok(!listed.includes(id));
    const deleted = asRows((await site.get(site.form("/submissions?deleted=true"))).body);
    assert.deepEqual(deleted.map((s) => s.instanceId), [id]);
    assert.equal(typeof deleted[0]?.deletedAt, "string");
    assert.equal((await site.get(site.form(`/submissions/${id}`))).status, 404);
    assert.ok(!asPage(await site.get(site.form(".svc/Submissions?$select=__id"))).value.some((r) => r.__id === id));
    const withDeleted = asPage(await site.get(site.form(".svc/Submissions?$filter=__system/deletedAt ne null&$select=__id,__system/deletedAt")));
    assert.deepEqual(withDeleted.value.map((r) => r.__id), [id]);
    assert.deepEqual((await site.call("POST", site.form(`/submissions/${id}/restore`))).body, { success: true });
    assert.equal((await site.get(site.form(`/submissions/${id}`))).status, 200);
  });
});

describe("ODK Central double: attachments", () => {
  it("expects the files named in binary answers, takes uploads for them only, and serves them back", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(10, { photo: "p1.jpg" }));
    assert.deepEqual((await site.get(site.form(`/submissions/${id}/attachments`))).body, [{ name: "p1.jpg", exists: false }]);
    const unknown = await site.call("POST", site.form(`/submissions/${id}/attachments/other.jpg`), { body: Buffer.from([1]), type: "image/jpeg" });
    assert.equal(asProblem(unknown).code, 404.1);
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const ok = await site.call("POST", site.form(`/submissions/${id}/attachments/p1.jpg`), { body: bytes, type: "image/jpeg" });
    assert.deepEqual(ok.body, { success: true });
    const sys = asRow((await odataRow(id)).__system);
    assert.equal(sys.attachmentsPresent, 1);
    assert.equal(sys.attachmentsExpected, 1);
    const res = await fetch(`${site.url}${site.form(`/submissions/${id}/attachments/p1.jpg`)}`, { headers: { authorization: `Bearer ${site.token}` } });
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    const etag = res.headers.get("etag") ?? "";
    assert.equal((await site.get(site.form(`/submissions/${id}/attachments/p1.jpg`), { "if-none-match": etag })).status, 304);
  });
});

describe("ODK Central double: faults", () => {
  it("answers an injected 500 once, then serves normally", async () => {
    site.double.faults.set({ kind: "status", status: 500 }, { count: 1 });
    assert.equal((await site.get("/v1/projects")).status, 500);
    assert.equal((await site.get("/v1/projects")).status, 200);
  });

  it("drops connections while down", async () => {
    site.double.faults.set({ kind: "down" });
    await assert.rejects(fetch(`${site.url}/v1/projects`, { headers: { authorization: `Bearer ${site.token}` } }));
    site.double.faults.clear();
    assert.equal((await site.get("/v1/projects")).status, 200);
    assert.ok(site.double.requests.some((r) => r.status === 0), "a dropped request is logged with status 0");
  });
});
