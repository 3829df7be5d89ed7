/**
 * The Kobo double's OpenRosa `/submission` over real HTTP, with XML written
 * the way a bridge writes it: creation, edits through deprecatedID, the 202 /
 * 409 / 410 / 404 / 405 / 400 outcomes kpi gives, and attachments.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { api, apiJson, auth, DATA, HOUSEHOLD, householdXml, NESTED, postSubmission, useKoboDouble, type Attachment } from "./support/kobo-double-fixture.js";

const newId = (): string => `uuid:${randomUUID()}`;

async function submitted(res: Response): Promise<string> {
  const body = await res.text();
  assert.equal(res.status, 201, body);
  return body;
}

describe("Kobo double: OpenRosa submissions", () => {
  const kobo = useKoboDouble();
  const byInstance = async (instanceId: string): Promise<Record<string, unknown>> => {
    const page = await apiJson<{ results: Record<string, unknown>[] }>(kobo, `${DATA}?query=${encodeURIComponent(JSON.stringify({ "meta/instanceID": instanceId }))}`);
    assert.equal(page.results.length, 1, `one row with instanceID ${instanceId}`);
    return page.results[0]!;
  };

  it("creates a submission and answers an OpenRosaResponse, or JSON when asked", async () => {
    const id = newId();
    const body = await submitted(await postSubmission(kobo, householdXml({ instanceId: id })));
    assert.match(body, /^<OpenRosaResponse xmlns="http:\/\/openrosa.org\/http\/response">/);
    assert.match(body, /<message>Successful submission.<\/message>/);
    assert.ok(body.includes(`instanceID="${id}"`));
    const second = newId();
    const res = await postSubmission(kobo, householdXml({ instanceId: second }), [], auth({ accept: "application/json" }));
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(json), ["message", "formid", "encrypted", "instanceID", "submissionDate", "markedAsCompleteDate"]);
    assert.equal(json["formid"], HOUSEHOLD.uid);
    assert.equal(json["instanceID"], second);
    assert.equal((await byInstance(id))["_submitted_by"], "bridge");
  });

  it("takes _submission_time from the root's submissionDate, normalized to UTC", async () => {
    const id = newId();
    await submitted(await postSubmission(kobo, householdXml({ instanceId: id, submissionDate: "2026-11-20T10:15:00+03:00" })));
    assert.equal((await byInstance(id))["_submission_time"], "2026-11-20T07:15:00");
  });

  it("keeps a client-supplied rootUuid as the stable identity", async () => {
    const id = newId();
    await submitted(await postSubmission(kobo, householdXml({ instanceId: id, rootUuid: "uuid:mesh-record-1" })));
    const row = await byInstance(id);
    assert.equal(row["meta/rootUuid"], "uuid:mesh-record-1");
    assert.equal((await apiJson(kobo, `${DATA}mesh-record-1/`))["_id"], row["_id"]);
  });

  it("applies an edit: same _id and rootUuid, new _uuid, old XML superseded", async () => {
    const first = newId();
    await submitted(await postSubmission(kobo, householdXml({ instanceId: first, size: "4" })));
    const before = await byInstance(first);
    const stored = await (await api(kobo, `${DATA}${String(before["_id"])}/?format=xml`)).text();
    const second = newId();
    const editXml = stored
      .replace(/^<\?xml[^>]*>/, "")
      .replace("<size>4</size>", "<size>6</size>")
      .replace(`<instanceID>${first}</instanceID>`, `<instanceID>${second}</instanceID><deprecatedID>${first}</deprecatedID>`);
    await submitted(await postSubmission(kobo, editXml));
    const after = await apiJson(kobo, `${DATA}${String(before["_id"])}/`);
    assert.equal(after["hh/size"], "6");
    assert.equal(after["_uuid"], second.slice("uuid:".length));
    assert.equal(after["meta/instanceID"], second);
    assert.equal(after["meta/deprecatedID"], first);
    assert.equal(after["meta/rootUuid"], before["meta/rootUuid"]);
    assert.equal(after["_submission_time"], before["_submission_time"]);
    assert.equal(kobo.submissions(HOUSEHOLD.uid).filter((s) => s["meta/rootUuid"] === first).length, 1);
  });

  it("answers 202 to byte-identical XML, 409 to a reused instanceID with other content", async () => {
    const id = newId();
    const xml = householdXml({ instanceId: id });
    await submitted(await postSubmission(kobo, xml));
    const count = kobo.submissions(HOUSEHOLD.uid).length;
    const again = await postSubmission(kobo, xml);
    assert.equal(again.status, 202);
    assert.match(await again.text(), /<message nature="">Duplicate Instance<\/message>/);
    const conflict = await postSubmission(kobo, householdXml({ instanceId: id, village: "south" }));
    assert.equal(conflict.status, 409);
    assert.match(await conflict.text(), /Submission with this instance ID already exists/);
    assert.equal(kobo.submissions(HOUSEHOLD.uid).length, count);
  });

  it("answers 410 to a stale deprecatedID and 404 to an unknown one", async () => {
    const v1 = newId();
    const v2 = newId();
    await submitted(await postSubmission(kobo, householdXml({ instanceId: v1 })));
    await submitted(await postSubmission(kobo, householdXml({ instanceId: v2, deprecatedId: v1, size: "5" })));
    const stale = await postSubmission(kobo, householdXml({ instanceId: newId(), deprecatedId: v1, size: "7" }));
    assert.equal(stale.status, 410);
    assert.match(await stale.text(), /deprecatedID refers to an old version/);
    const unknown = await postSubmission(kobo, householdXml({ instanceId: newId(), deprecatedId: newId() }));
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /deprecatedID not found/);
  });

  it("gives each OpenRosa error kpi's status and message", async () => {
    const noId = householdXml({ instanceId: "" }).replace("<instanceID></instanceID>", "");
    const cases: [string, number, RegExp][] = [
      [noId, 400, /Instance ID is required/],
      ["<not-xml", 400, /Improperly formatted XML\./],
      [householdXml({ instanceId: newId(), formhubUuid: null }).replaceAll(HOUSEHOLD.uid, "aUnknownForm"), 404, /Not found\./],
    ];
    for (const [xml, status, message] of cases) {
      const res = await postSubmission(kobo, xml);
      assert.equal(res.status, status, xml);
      assert.match(await res.text(), message);
    }
  });

  it("finds the form by its root id when formhub/uuid is missing", async () => {
    const id = newId();
    await submitted(await postSubmission(kobo, householdXml({ instanceId: id, formhubUuid: null })));
    assert.equal((await byInstance(id))["_xform_id_string"], HOUSEHOLD.uid);
  });

  it("accepts a JSON body {id, submission} and answers its errors as JSON", async () => {
    const body = JSON.stringify({ id: HOUSEHOLD.uid, submission: { village: "east", needs: ["food", "water"], meta: { instanceID: "uuid:json-body-1" } } });
    const post = (): Promise<Response> => fetch(`${kobo.url}/submission`, { method: "POST", body, headers: auth({ "content-type": "application/json" }) });
    await submitted(await post());
    assert.equal((await byInstance("uuid:json-body-1"))["needs"], "food water");
    const again = await post();
    assert.equal(again.status, 202);
    assert.deepEqual(await again.json(), { error: "Duplicate Instance" });
  });

  it("counts POST /submission in the request log", () => {
    assert.ok(kobo.requests.filter((r) => r.method === "POST" && r.path === "/submission" && r.status === 201).length >= 8);
  });
});

describe("Kobo double: inactive forms", () => {
  const kobo = useKoboDouble({}, [{ ...HOUSEHOLD, active: false }]);

  it("answers 405 Form is not active", async () => {
    const res = await postSubmission(kobo, householdXml({ instanceId: newId() }));
    assert.equal(res.status, 405);
    assert.match(await res.text(), /Form is not active/);
  });
});

describe("Kobo double: attachments", () => {
  const kobo = useKoboDouble();
  const photo: Attachment = { name: "shelter-1.jpg", type: "image/jpeg", bytes: new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]) };

  it("stores a file named by an upload answer and serves its bytes", async () => {
    const id = newId();
    const stray: Attachment = { name: "stray.txt", type: "text/plain", bytes: new Uint8Array([1]) };
    await submitted(await postSubmission(kobo, householdXml({ instanceId: id, photo: photo.name }), [photo, stray]));
    const [row] = kobo.submissions(HOUSEHOLD.uid).filter((s) => s["meta/instanceID"] === id);
    const attachments = row?.["_attachments"] as Record<string, unknown>[];
    assert.equal(attachments.length, 1, "a file no answer names is not listed");
    const [a] = attachments;
    assert.equal(a?.["mimetype"], "image/jpeg");
    assert.equal(a?.["media_file_basename"], photo.name);
    assert.equal(a?.["question_xpath"], "photo");
    assert.equal(a?.["is_deleted"], false);
    assert.match(String(a?.["uid"]), /^att/);
    assert.equal(a?.["filename"], `bridge/attachments/${HOUSEHOLD.deploymentUuid}/${id.slice(5)}/${photo.name}`);
    const download = await api(kobo, String(a?.["download_url"]));
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), photo.bytes);
  });

  it("adds a new file to an identical resubmission (201), refuses other bytes under the same name (409)", async () => {
    const id = newId();
    const xml = householdXml({ instanceId: id, photo: photo.name });
    await submitted(await postSubmission(kobo, xml));
    assert.equal((await postSubmission(kobo, xml, [photo])).status, 201);
    assert.equal((await postSubmission(kobo, xml, [photo])).status, 202);
    const altered = { ...photo, bytes: new Uint8Array([9, 9]) };
    const conflict = await postSubmission(kobo, xml, [altered]);
    assert.equal(conflict.status, 409);
    assert.match(await conflict.text(), /Attachment with same name already exists/);
  });
});

describe("Kobo double: nested repeats", () => {
  const kobo = useKoboDouble({}, [NESTED]);
  const outer = "group_ec9yq67/group_dq8as25";
  const inner = `${outer}/group_xt0za80`;
  const image = `${inner}/my_attachment`;

  it("nests repeat arrays with full-path keys and indexes attachment xpaths", () => {
    const files = ["a.jpg", "b.jpg", "c.jpg"].map((name) => ({ name, type: "image/jpeg", bytes: new Uint8Array([name.charCodeAt(0)]) }));
    const answers = { [outer]: [{ [inner]: [{ [image]: "a.jpg" }, { [image]: "b.jpg" }] }, { [inner]: [{ [image]: "c.jpg" }] }] };
    const json = kobo.submitLocal(NESTED.uid, answers, { files });
    assert.deepEqual(json[outer], answers[outer]);
    const xpaths = (json["_attachments"] as Record<string, unknown>[]).map((a) => a["question_xpath"]);
    assert.deepEqual(xpaths, [
      "group_ec9yq67/group_dq8as25[1]/group_xt0za80[1]/my_attachment",
      "group_ec9yq67/group_dq8as25[1]/group_xt0za80[2]/my_attachment",
      "group_ec9yq67/group_dq8as25[2]/group_xt0za80[1]/my_attachment",
    ]);
  });
});
