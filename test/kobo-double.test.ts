/**
 * The Kobo double's API v2 over real HTTP: assets, the data list (paging at
 * the page-size cap, the Mongo query subset, projection, kpi's 400s), one
 * submission as JSON and XML, deletion, auth and injected faults.
 * OpenRosa submission semantics are in kobo-double-openrosa.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { api, apiJson, auth, DATA, HOUSEHOLD, qs, useKoboDouble } from "./support/kobo-double-fixture.js";

interface Page {
  count: number;
  next: string | null;
  previous: string | null;
  results: Record<string, unknown>[];
}

const ids = (page: Page): unknown[] => page.results.map((r) => r["_id"]);

describe("Kobo double: assets", () => {
  const kobo = useKoboDouble();

  it("lists the deployed survey with the fields a bridge reads", async () => {
    const page = await apiJson<Page>(kobo, `/api/v2/assets/${qs({ format: "json", q: "asset_type:survey" })}`);
    assert.equal(page.count, 1);
    const [asset] = page.results;
    assert.equal(asset?.["uid"], HOUSEHOLD.uid);
    assert.equal(asset?.["deployment__uuid"], HOUSEHOLD.deploymentUuid);
    assert.equal(asset?.["deployed_version_id"], HOUSEHOLD.deployedVersionId);
    assert.equal(asset?.["deployment__active"], true);
    assert.equal(asset?.["data"], `${kobo.url}${DATA}`);
  });

  it("filters by q and serves the detail with content; unknown uid is 404", async () => {
    assert.equal((await apiJson<Page>(kobo, `/api/v2/assets/${qs({ q: "asset_type:question" })}`)).count, 0);
    const detail = await apiJson(kobo, `/api/v2/assets/${HOUSEHOLD.uid}/`);
    assert.deepEqual(detail["content"], HOUSEHOLD.content);
    assert.equal(detail["deployment_status"], "deployed");
    const missing = await api(kobo, "/api/v2/assets/aNoSuchAsset/");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { detail: "Not found." });
  });
});

describe("Kobo double: data list", () => {
  const kobo = useKoboDouble({ maxPageSize: 5 });
  const times = Array.from({ length: 12 }, (_, i) => `2026-11-${String(i + 1).padStart(2, "0")}T08:00:00`);
  const seeded = (): void => {
    if (kobo.submissions(HOUSEHOLD.uid).length === 0) for (const t of times) kobo.submitLocal(HOUSEHOLD.uid, { village: "north" }, { submissionTime: t });
  };

  it("cuts limit to maxPageSize and pages through every row exactly once", async () => {
    seeded();
    let page = await apiJson<Page>(kobo, `${DATA}?format=json&limit=1000`);
    assert.equal(page.count, 12);
    assert.deepEqual(ids(page), [1, 2, 3, 4, 5]);
    const firstNext = new URL(page.next!);
    assert.equal(firstNext.searchParams.get("limit"), "5");
    assert.equal(firstNext.searchParams.get("start"), "5");
    const seen = ids(page);
    while (page.next !== null) {
      page = await apiJson<Page>(kobo, page.next);
      seen.push(...ids(page));
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(new URL(page.previous!).searchParams.get("start"), "5");
  });

  it("filters by _id $gt, sorts descending, and keeps query and sort in the next link", async () => {
    seeded();
    const page = await apiJson<Page>(kobo, `${DATA}${qs({ query: { _id: { $gt: 3 } }, sort: { _id: -1 }, limit: "4" })}`);
    assert.equal(page.count, 9);
    assert.deepEqual(ids(page), [12, 11, 10, 9]);
    const next = await apiJson<Page>(kobo, page.next!);
    assert.deepEqual(ids(next), [8, 7, 6, 5]);
  });

  it("compares _submission_time as strings, and supports $in, $or and implicit equality", async () => {
    seeded();
    const since = await apiJson<Page>(kobo, `${DATA}${qs({ query: { _submission_time: { $gte: "2026-11-10T00:00:00" } } })}`);
    assert.deepEqual(ids(since), [10, 11, 12]);
    const either = await apiJson<Page>(kobo, `${DATA}${qs({ query: { $or: [{ _id: { $in: [2, 4] } }, { _id: "7" }] } })}`);
    assert.deepEqual(ids(either), [2, 4, 7]);
    const first = kobo.submissions(HOUSEHOLD.uid)[0]!;
    const byRoot = await apiJson<Page>(kobo, `${DATA}${qs({ query: { "meta/rootUuid": first["meta/rootUuid"] } })}`);
    assert.deepEqual(ids(byRoot), [1]);
  });

  it("lets kpi's non-whitelisted operators match nothing, as kpi's key encoding does", async () => {
    seeded();
    assert.equal((await apiJson<Page>(kobo, `${DATA}${qs({ query: { _id: { $eq: 3 } } })}`)).count, 0);
  });

  it("projects fields plus the keys kpi always adds", async () => {
    seeded();
    const page = await apiJson<Page>(kobo, `${DATA}${qs({ fields: ["_id", "village"], limit: "1" })}`);
    assert.deepEqual(Object.keys(page.results[0]!).sort(), ["_id", "_uuid", "_validation_status", "meta/rootUuid", "village"]);
  });

  it("answers kpi's 400s for bad parameters", async () => {
    const cases: [string, unknown][] = [
      [`${DATA}?limit=0`, { limit: "A positive integer is required" }],
      [`${DATA}?limit=ten`, { limit: "A positive integer is required" }],
      [`${DATA}?count=true`, { count: "This param is not implemented. Use `count` property of the response instead." }],
      [`${DATA}?query=%7Bnot-json`, { query: "Value must be valid JSON." }],
      [`${DATA}${qs({ query: { _id: { $elemMatch: { a: 1 } } } })}`, ["Unsupported query"]],
      [`${DATA}${qs({ query: { _id: { $in: 3 } } })}`, ["Unsupported query"]],
    ];
    for (const [path, body] of cases) {
      const res = await api(kobo, path);
      assert.equal(res.status, 400, path);
      assert.deepEqual(await res.json(), body, path);
    }
    const xmlSort = await api(kobo, `${DATA}${qs({ format: "xml", sort: { _id: 1 } })}`);
    assert.equal(xmlSort.status, 400);
    assert.match(await xmlSort.text(), /<root><sort>This param is not supported in `XML` format<\/sort><\/root>/);
  });

  it("serves format=xml as the stored instances wrapped in a root element", async () => {
    seeded();
    const res = await api(kobo, `${DATA}${qs({ format: "xml", limit: "2" })}`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^<\?xml version="1.0" encoding="utf-8"\?><root><count>12<\/count><next>http:[^<]+<\/next><previous><\/previous><results>/);
    assert.equal(text.split(`<${HOUSEHOLD.uid} `).length - 1, 2);
  });
});

describe("Kobo double: one submission", () => {
  const kobo = useKoboDouble();

  it("returns the data-API JSON shape: strings, flattened groups, repeats with full-path keys", async () => {
    const { _id: id } = kobo.submitLocal(HOUSEHOLD.uid, {
      village: "south",
      "hh/size": 3,
      needs: ["water", "health"],
      location: "-1.5 36.8 1700 5",
      members: [{ "members/name": "Ama", "members/age": 34, "members/sex": "f" }, { "members/name": "Kofi" }],
      notes: "",
    });
    const json = await apiJson(kobo, `${DATA}${String(id)}/`);
    assert.equal(json["hh/size"], "3");
    assert.equal(json["needs"], "water health");
    assert.deepEqual(json["members"], [{ "members/name": "Ama", "members/age": "34", "members/sex": "f" }, { "members/name": "Kofi" }]);
    assert.equal("notes" in json, false, "empty answers are omitted");
    assert.deepEqual(json["_geolocation"], [-1.5, 36.8]);
    assert.equal(json["formhub/uuid"], HOUSEHOLD.deploymentUuid);
    assert.equal(json["__version__"], HOUSEHOLD.deployedVersionId);
    assert.equal(json["_xform_id_string"], HOUSEHOLD.uid);
    assert.equal(json["meta/instanceID"], `uuid:${String(json["_uuid"])}`);
    assert.equal(json["meta/rootUuid"], json["meta/instanceID"]);
    assert.equal(json["_submission_time"], "2026-11-21T09:30:00");
    assert.equal(json["_submitted_by"], "bridge");
    assert.equal(json["_status"], "submitted_via_web");
    assert.deepEqual(json["_validation_status"], {});
  });

  it("round-trips repeats through the JSON shape when an edit keeps them", async () => {
    const created = kobo.submitLocal(HOUSEHOLD.uid, { members: [{ "members/name": "A" }, { "members/name": "B", "members/age": "9" }] });
    const edited = kobo.editLocal(HOUSEHOLD.uid, created["_id"] as number, { village: "east" });
    assert.deepEqual(edited["members"], created["members"]);
    const xml = kobo.submissionXml(HOUSEHOLD.uid, created["_id"] as number);
    assert.match(xml, /<members><name>A<\/name><age\/><sex\/><\/members><members><name>B<\/name><age>9<\/age><sex\/><\/members>/);
  });

  it("finds a submission by _id, _uuid or rootUuid, and serves its stored XML", async () => {
    const sub = kobo.submitLocal(HOUSEHOLD.uid, { village: "north" });
    const edited = kobo.editLocal(HOUSEHOLD.uid, sub["_id"] as number, { village: "east" });
    const rootWithoutPrefix = String(sub["meta/rootUuid"]).replace("uuid:", "");
    for (const key of [String(sub["_id"]), String(edited["_uuid"]), rootWithoutPrefix]) {
      assert.equal((await apiJson(kobo, `${DATA}${key}/`))["_id"], sub["_id"], key);
    }
    const res = await api(kobo, `${DATA}${String(sub["_id"])}/?format=xml`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/xml/);
    assert.equal(await res.text(), `<?xml version="1.0" encoding="utf-8"?>${kobo.submissionXml(HOUSEHOLD.uid, sub["_id"] as number)}`);
  });

  it("hard-deletes with DELETE and with deleteLocal", async () => {
    const a = kobo.submitLocal(HOUSEHOLD.uid, {});
    const b = kobo.submitLocal(HOUSEHOLD.uid, {});
    assert.equal((await api(kobo, `${DATA}${String(a["_id"])}/`, { method: "DELETE" })).status, 204);
    assert.equal((await api(kobo, `${DATA}${String(a["_id"])}/`, { method: "DELETE" })).status, 404);
    kobo.deleteLocal(HOUSEHOLD.uid, b["_id"] as number);
    const gone = await api(kobo, `${DATA}${String(b["_id"])}/`);
    assert.equal(gone.status, 404);
    assert.deepEqual(await gone.json(), { detail: "Not found." });
  });
});

describe("Kobo double: auth, routing and faults", () => {
  const kobo = useKoboDouble();

  it("answers 401 without credentials and after the token is revoked", async () => {
    const anonymous = await fetch(`${kobo.url}${DATA}`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { detail: "Authentication credentials were not provided." });
    const challenge = await fetch(`${kobo.url}/submission`, { method: "POST" });
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get("www-authenticate") ?? "", /^Digest /);
    kobo.revokeToken();
    const revoked = await api(kobo, DATA);
    assert.equal(revoked.status, 401);
    assert.deepEqual(await revoked.json(), { detail: "Invalid token." });
    kobo.setToken("8a1f2c3d4e5f60718293a4b5c6d7e8f901234567");
    assert.equal((await api(kobo, DATA)).status, 200);
  });

  it("rejects OpenRosa paths with a trailing slash, and the removed v1 API", async () => {
    const slash = await fetch(`${kobo.url}/submission/`, { method: "POST", headers: auth() });
    assert.equal(slash.status, 404);
    assert.equal(await slash.text(), "OpenRosa endpoints do not accept a trailing slash. Retry the request at /submission");
    assert.equal((await api(kobo, "/api/v1/forms")).status, 410);
    const head = await fetch(`${kobo.url}/submission`, { method: "HEAD", headers: auth() });
    assert.equal(head.status, 204);
    assert.equal(head.headers.get("x-openrosa-version"), "1.0");
    assert.ok(head.headers.get("x-openrosa-accept-content-length"));
  });

  it("applies a 500 fault once, then serves normally, and logs every answered request", async () => {
    kobo.faults.set({ kind: "status", status: 500 }, { count: 1 });
    assert.equal((await api(kobo, DATA)).status, 500);
    assert.equal((await api(kobo, DATA)).status, 200);
    const logged = kobo.requests.filter((r) => r.path === DATA).slice(-2);
    assert.deepEqual(logged.map((r) => r.status), [500, 200]);
  });

  it("drops connections while down, until cleared", async () => {
    kobo.faults.set({ kind: "down" });
    await assert.rejects(api(kobo, DATA));
    kobo.faults.clear();
    assert.equal((await api(kobo, DATA)).status, 200);
  });
});
