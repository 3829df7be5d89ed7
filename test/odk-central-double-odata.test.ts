/**
 * The ODK Central double's OData feed over real HTTP: cursor paging that
 * stays consistent while rows arrive, `$filter` on the metadata Central
 * allows (501.5 for form fields), `$orderby`, and rows rendered as Central
 * renders them (typed answers, GeoJSON / WKT, groups, repeats as links,
 * `$expand=*`, child tables, stable child ids).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { asPage, asProblem, asRow, DOMAIN, household, startSite, type Row, type Site } from "./support/odk-double-client.js";

let site: Site;
before(async () => {
  site = await startSite();
});
after(async () => {
  await site.double.stop();
});

const svc = (suffix: string, xmlFormId?: string): string => site.form(`.svc${suffix}`, xmlFormId);
const rowOf = async (id: string, query = "", xmlFormId?: string): Promise<Row> =>
  asPage(await site.get(svc(`/Submissions('${id}')${query}`, xmlFormId))).value[0] ?? {};
const sys = (row: Row): Row => asRow(row.__system);

describe("ODK Central double: OData paging", () => {
  it("follows nextLink ($skiptoken) and returns every row once, even when a submission arrives between pages", async () => {
    const ids = [0, 1, 2, 3, 4].map((n) => site.double.submitLocal(site.project, site.household, household(n)));
    const first = asPage(await site.get(svc("/Submissions?$top=2&$count=true&$select=__id")));
    assert.equal(first["@odata.count"], 5);
    assert.equal(first["@odata.context"], `${DOMAIN}/v1/projects/${site.project}/forms/household_b.svc/$metadata#Submissions`);
    const next = first["@odata.nextLink"] ?? "";
    assert.ok(next.startsWith(`${DOMAIN}/v1/projects/${site.project}/forms/household_b.svc/Submissions?`), next);
    assert.match(next, /%24top=2&%24count=true&%24select=__id&%24skiptoken=01/);

    const late = site.double.submitLocal(site.project, site.household, household(5));
    const seen = first.value.map((r) => r.__id);
    let link: string | undefined = next;
    while (link !== undefined) {
      const page = asPage(await site.get(site.follow(link)));
      seen.push(...page.value.map((r) => r.__id));
      link = page["@odata.nextLink"];
    }
    assert.deepEqual(seen, [...ids].reverse(), "newest first, each once, the late arrival not mixed in");
    assert.ok(!seen.includes(late));

    const skipped = asPage(await site.get(svc("/Submissions?$top=2&$skip=2&$select=__id")));
    assert.deepEqual(skipped.value.map((r) => r.__id), [ids[3], ids[2]], "plain $skip shifts when rows arrive: the cursor is what keeps pages stable");
  });

  it("cannot follow a nextLink of an ordered query: $orderby with $skiptoken is 501.1", async () => {
    const first = asPage(await site.get(svc("/Submissions?$top=1&$orderby=__system/updatedAt desc&$select=__id")));
    const r = await site.get(site.follow(first["@odata.nextLink"] ?? ""));
    assert.equal(r.status, 501);
    assert.equal(asProblem(r).code, 501.1);
    assert.equal(asProblem(r).message, "The requested feature using $orderby and $skiptoken together is not supported by this server.");
  });
});

describe("ODK Central double: OData $filter and $orderby", () => {
  it("filters on submissionDate or updatedAt with unquoted or quoted timestamps", async () => {
    const [a, b, c] = [20, 21, 22].map((n) => site.double.submitLocal(site.project, site.household, household(n)));
    const t = String(sys(await rowOf(b ?? "")).submissionDate);
    site.double.editLocal(site.project, site.household, a ?? "", { notes: "revisited" });
    const ids = async (filter: string): Promise<unknown[]> =>
      asPage(await site.get(svc(`/Submissions?$filter=${encodeURIComponent(filter)}&$select=__id`))).value.map((r) => r.__id);
    const since = await ids(`__system/submissionDate gt ${t} or __system/updatedAt gt ${t}`);
    // b itself matches: PostgreSQL keeps microseconds, JSON shows milliseconds.
    assert.deepEqual(since.filter((id) => id === a || id === b || id === c).sort(), [a, b, c].sort());
    assert.deepEqual(await ids(`__system/submissionDate gt '${t}'`), await ids(`__system/submissionDate gt ${t}`));
    assert.deepEqual(await ids(`__id eq '${c}'`), [c]);
    assert.deepEqual(await ids(`__id eq '${a}' and __system/updatedAt eq null`), []);
    assert.deepEqual(await ids(`(__id eq '${a}' or __id eq '${c}') and not __system/updatedAt eq null`), [a]);
  });

  it("answers a filter on a form field with 501.5, and a malformed one with 400.18", async () => {
    const r = await site.get(svc("/Submissions?$filter=hh/size gt 3"));
    assert.equal(r.status, 501);
    assert.deepEqual(r.body, {
      message: "The given OData filter expression references fields not supported by this server: hh/size at 0",
      code: 501.5, details: { at: 0, text: "hh/size" },
    });
    const later = asProblem(await site.get(svc("/Submissions?$filter=__system/reviewState eq null or village eq 'north'")));
    assert.equal(later.message, "The given OData filter expression references fields not supported by this server: village at 32");
    const bad = asProblem(await site.get(svc("/Submissions?$filter=hello my dear")));
    assert.equal(bad.code, 400.18);
    assert.equal(bad.message, "The OData filter expression you provided could not be parsed: Unexpected character at 5");
  });

  it("orders by updatedAt desc with never-updated rows last", async () => {
    const [x, y] = [30, 31].map((n) => site.double.submitLocal(site.project, site.household, household(n)));
    site.double.setReviewState(site.project, site.household, x ?? "", "hasIssues");
    const rows = asPage(await site.get(svc("/Submissions?$orderby=__system/updatedAt desc&$select=__id,__system/updatedAt"))).value;
    assert.equal(rows[0]?.__id, x);
    assert.equal(sys(rows[rows.length - 1] ?? {}).updatedAt, null);
    assert.ok(rows.findIndex((r) => r.__id === y) > rows.findIndex((r) => sys(r).updatedAt !== null && r.__id !== x));
  });
});

describe("ODK Central double: OData rows", () => {
  it("types answers as Central does: numbers, GeoJSON, strings, null; groups nest; repeats are links", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(40, { notes: "" }));
    const row = await rowOf(id);
    assert.deepEqual(row.hh, { head_name: "Head 40", size: 41, income: 4050.25 });
    assert.deepEqual(row.location, { type: "Point", coordinates: [36.8219, -1.2921, 1650], properties: { accuracy: 5 } });
    assert.equal(row.needs, "water food", "select multiple: the space-separated string");
    assert.equal(row.visit_date, "2026-11-19");
    assert.equal(row.photo, "shelter.jpg", "binary: the file name");
    assert.equal(row.notes, null);
    assert.equal(row.start, null);
    assert.deepEqual(row.meta, { instanceID: id });
    assert.equal(row.__id, id);
    assert.deepEqual(Object.keys(sys(row)), ["submissionDate", "updatedAt", "submitterId", "submitterName", "attachmentsPresent",
      "attachmentsExpected", "status", "reviewState", "deviceId", "edits", "formVersion", "deletedAt"]);
    assert.equal(typeof sys(row).submitterId, "string");
    assert.equal(sys(row).formVersion, "2026111901");
    assert.equal(row["members@odata.navigationLink"], `Submissions('${encodeURIComponent(id)}')/members`);
    assert.equal(row.members, undefined);
    assert.equal((await rowOf(id, "?$wkt=true")).location, "POINT (36.8219 -1.2921 1650)");
  });

  it("inlines repeats with $expand=*, each instance with Central's SHA-1 __id, and serves the child table", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(41));
    const sha = (i: number): string => createHash("sha1").update(`Submissions#${id}%%members#${i}`).digest("hex");
    const row = await rowOf(id, "?$expand=*");
    assert.deepEqual(row.members, [
      { name: "Child 41", age: 3, sex: "f", __id: sha(0) },
      { name: "Adult 41", age: 40, sex: null, __id: sha(1) },
    ]);
    const children = asPage(await site.get(svc(`/Submissions('${id}')/members`)));
    assert.deepEqual(children.value.map((r) => [r.__id, r["__Submissions-id"], r.name]), [[sha(0), id, "Child 41"], [sha(1), id, "Adult 41"]]);
    assert.match(children["@odata.context"], /\$metadata#Submissions\.members$/);
    const service = asRow((await site.get(svc(""))).body);
    assert.deepEqual(service.value, [
      { name: "Submissions", kind: "EntitySet", url: "Submissions" },
      { name: "Submissions.members", kind: "EntitySet", url: "Submissions.members" },
    ]);
  });

  it("renders booleans, dateTimes, geotraces and geoshapes, sanitised names, and repeats inside groups", async () => {
    const id = site.double.submitLocal(site.project, site.mesh, {
      node_id: "n-17", ok: "true", seen_at: "2026-11-21T08:09:10.552+07", seen_time: "08:09:10.000+07:00", "q1.8": "x",
      route: "1.1 2.2 3.3 4.4;5.5 6.6 7.7 0;", area: "1 2;3 4;5 6;1 2", "site/gps": "4.8 15.16",
      "site/readings": [{ value: "3.5" }, { value: "4" }],
    });
    const row = await rowOf(id, "", site.mesh);
    assert.equal(row.ok, "true", "boolean: Central's formatter leaves it a string");
    assert.equal(row.seen_at, "2026-11-21T08:09:10.552+07:00", "dateTime: +07 becomes +07:00");
    assert.equal(row.seen_time, "08:09:10.000+07:00");
    assert.equal(row.q1_8, "x");
    assert.deepEqual(row.route, { type: "LineString", coordinates: [[2.2, 1.1, 3.3], [6.6, 5.5, 7.7]], properties: { accuracies: [4.4, null] } });
    assert.deepEqual(row.area, { type: "Polygon", coordinates: [[[2, 1], [4, 3], [6, 5], [2, 1]]] });
    assert.deepEqual(row.site, {
      gps: { type: "Point", coordinates: [15.16, 4.8] },
      "readings@odata.navigationLink": `Submissions('${encodeURIComponent(id)}')/site/readings`,
    });
    assert.deepEqual(row.meta, { instanceID: id, deprecatedID: null }, "a form that declares meta/deprecatedID shows it");
    const wkt = await rowOf(id, "?$wkt=true", site.mesh);
    assert.equal(wkt.route, "LINESTRING (2.2 1.1 3.3,6.6 5.5 7.7)");
    assert.equal(wkt.area, "POLYGON ((2 1,4 3,6 5,2 1))");
    const readings = asPage(await site.get(svc("/Submissions.site.readings", site.mesh))).value;
    assert.deepEqual(readings.map((r) => [r.value, r["__Submissions-id"]]), [[3.5, id], [4, id]]);
    site.double.editLocal(site.project, site.mesh, id, { ok: "false" });
    assert.equal(asRow((await rowOf(id, "", site.mesh)).meta).deprecatedID, id);
  });

  it("narrows rows with $select and rejects what Central rejects", async () => {
    const id = site.double.submitLocal(site.project, site.household, household(42));
    assert.deepEqual(await rowOf(id, "?$select=hh/size,__id"), { hh: { size: 43 }, __id: id });
    assert.equal(asProblem(await site.get(svc("/Submissions?$select=nope"))).code, 400.23);
    assert.equal(asProblem(await site.get(svc("/Submissions?$select=members/name"))).code, 400.24);
    assert.equal(asProblem(await site.get(svc("/Submissions?$select=__id&$expand=*"))).code, 501.11);
    assert.equal(asProblem(await site.get(svc("/Submissions?$search=x&$foo=1"))).code, 501.1);
  });
});
