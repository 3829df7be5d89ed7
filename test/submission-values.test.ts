import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { CborValue } from "../src/engine/cbor.js";
import { FieldValueError } from "../src/bridge/field-codec.js";
import { SchemaError, replicableNodes, type FormSchema } from "../src/bridge/form-schema.js";
import { odataNames, odkSchemaFromCentral } from "../src/bridge/odk-schema.js";
import {
  SubmissionRowError, buildSubmissionXml, setMeta, valuesFromKoboJson, valuesFromOData, valuesFromXml, writeValuesToXml,
} from "../src/bridge/submission-values.js";
import { parseXml, serializeXml } from "../src/bridge/xml.js";
import { submissionValues } from "./support/answer-arbitraries.js";
import { koboSchema, odkCentral, odkSchema, schemaOrFail } from "./support/household-forms.js";
import { TREES_FIELDS, TREES_FORM, TREES_ODATA_FIELDS, TREES_XFORM } from "./support/trees-form.js";

const namesOf = (schema: FormSchema, odataFields: unknown): Map<string, string> => {
  const names = odataNames(schema, odataFields);
  if (names instanceof SchemaError) assert.fail(names.message);
  return names;
};

// ---------------------------------------------------------------- the household answers, four ways

const HOUSEHOLD = new Map<string, CborValue>([
  ["start", "2024-05-01T09:58:00.000+03:00"],
  ["end", "2024-05-01T10:20:00.000+03:00"],
  ["village", "north"],
  ["hh/head_name", "Amina Yusuf"],
  ["hh/size", 5],
  ["hh/income", 21.5],
  ["visit_date", 19844],
  ["needs", ["water", "health"]],
  ["location", [-1.2921, 36.8219, 1650, 4.5]],
  ["members", [{ name: "Amina Yusuf", age: 41, sex: "f" }, { name: "Juma", age: 9, sex: "m" }]],
  ["photo", "1714550000.jpg"],
]);

/** A row of GET /api/v2/assets/{uid}/data/ (kobotoolbox-api.md §4). */
const KOBO_ROW = {
  _id: 18, "formhub/uuid": "0f6c5b3c2f1a4c7e9d8b7a6f5e4d3c2b", __version__: "vHouseholdV1aaaaaaaaaa",
  start: "2024-05-01T09:58:00.000+03:00", end: "2024-05-01T10:20:00.000+03:00", village: "north",
  "hh/head_name": "Amina Yusuf", "hh/size": "5", "hh/income": "21.50", visit_date: "2024-05-01",
  needs: "water health", location: "-1.2921 36.8219 1650 4.5",
  members: [
    { "members/name": "Amina Yusuf", "members/age": "41", "members/sex": "f" },
    { "members/name": "Juma", "members/age": "9", "members/sex": "m" },
  ],
  photo: "1714550000.jpg", "meta/instanceID": "uuid:2d8c59eb-94e9-485d-a679-b28ffe2e9b98",
  _uuid: "2d8c59eb-94e9-485d-a679-b28ffe2e9b98", _attachments: [], _geolocation: [-1.2921, 36.8219],
  _submission_time: "2024-05-01T07:21:00", _tags: [], _notes: [], _submitted_by: "bridge",
};

const KOBO_XML = `<aHouseholdSurveyKobo01 id="aHouseholdSurveyKobo01">
<formhub><uuid>0f6c5b3c2f1a4c7e9d8b7a6f5e4d3c2b</uuid></formhub>
<start>2024-05-01T09:58:00.000+03:00</start><end>2024-05-01T10:20:00.000+03:00</end><village>north</village>
<hh><head_name>Amina Yusuf</head_name><size>5</size><income>21.50</income></hh>
<visit_date>2024-05-01</visit_date><needs>water health</needs><location>-1.2921 36.8219 1650 4.5</location>
<members><name>Amina Yusuf</name><age>41</age><sex>f</sex></members>
<members><name>Juma</name><age>9</age><sex>m</sex></members>
<photo>1714550000.jpg</photo><notes/>
<__version__>vHouseholdV1aaaaaaaaaa</__version__>
<meta><instanceID>uuid:2d8c59eb-94e9-485d-a679-b28ffe2e9b98</instanceID><rootUuid>uuid:2d8c59eb-94e9-485d-a679-b28ffe2e9b98</rootUuid></meta>
</aHouseholdSurveyKobo01>`;

/** As ODK Collect sends it: pretty-printed, "+03" offsets. */
const ODK_XML = `<?xml version="1.0"?>
<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" id="household_b" version="2026111901">
  <start>2024-05-01T09:58:00.000+03</start>
  <end>2024-05-01T10:20:00.000+03</end>
  <village>north</village>
  <hh>
    <head_name>Amina Yusuf</head_name>
    <size>5</size>
    <income>21.50</income>
  </hh>
  <visit_date>2024-05-01</visit_date>
  <needs>water health</needs>
  <location>-1.2921 36.8219 1650 4.5</location>
  <members>
    <name>Amina Yusuf</name>
    <age>41</age>
    <sex>f</sex>
  </members>
  <members>
    <name>Juma</name>
    <age>9</age>
    <sex>m</sex>
  </members>
  <photo>1714550000.jpg</photo>
  <notes/>
  <meta>
    <instanceID>uuid:11111111-2222-4333-8444-555555555555</instanceID>
  </meta>
</data>`;

/** What Central's OData feed gives for ODK_XML with $expand=* (odk-central-api.md §3b; lib/data/odata.js). */
const ODATA_ROW = {
  start: "2024-05-01T09:58:00.000+03:00", end: "2024-05-01T10:20:00.000+03:00", village: "north",
  hh: { head_name: "Amina Yusuf", size: 5, income: 21.5 },
  visit_date: "2024-05-01", needs: "water health",
  location: { type: "Point", coordinates: [36.8219, -1.2921, 1650], properties: { accuracy: 4.5 } },
  "members@odata.navigationLink": "Submissions('uuid%3A11111111-2222-4333-8444-555555555555')/members",
  members: [
    { name: "Amina Yusuf", age: 41, sex: "f", __id: "1f1aa4cc2b7d" },
    { name: "Juma", age: 9, sex: "m", __id: "7bba02e14c9a" },
  ],
  photo: "1714550000.jpg", notes: null,
  meta: { instanceID: "uuid:11111111-2222-4333-8444-555555555555" },
  __id: "uuid:11111111-2222-4333-8444-555555555555",
  __system: { submissionDate: "2024-05-01T07:21:00.552Z", updatedAt: null, submitterId: "5", reviewState: null, edits: 0, formVersion: "2026111901" },
};

describe("reading submissions", () => {
  it("gives the same values from a Kobo JSON row, Kobo XML, Central OData and ODK XML", () => {
    const kobo = koboSchema();
    const odk = odkSchema();
    assert.deepEqual(valuesFromKoboJson(kobo, KOBO_ROW), HOUSEHOLD);
    assert.deepEqual(valuesFromXml(kobo, parseXml(KOBO_XML)), HOUSEHOLD);
    assert.deepEqual(valuesFromOData(odk, namesOf(odk, odkCentral.odataFields), ODATA_ROW), HOUSEHOLD);
    assert.deepEqual(valuesFromXml(odk, parseXml(ODK_XML)), HOUSEHOLD);
  });

  it("leaves absent and empty answers and repeats out", () => {
    const kobo = koboSchema();
    const xml = parseXml(`<x><village/><hh><size></size></hh><members><name/></members><notes>  </notes></x>`);
    assert.deepEqual(valuesFromXml(kobo, xml), new Map<string, CborValue>([["members", [{}]], ["notes", "  "]]));
    assert.deepEqual(valuesFromKoboJson(kobo, { members: [], village: null, "hh/size": "" }), new Map());
  });

  it("refuses an OData row fetched without $expand=*", () => {
    const odk = odkSchema();
    const { members: _members, ...unexpanded } = ODATA_ROW;
    assert.throws(() => valuesFromOData(odk, namesOf(odk, odkCentral.odataFields), unexpanded), SubmissionRowError);
    assert.throws(() => valuesFromOData(odk, new Map(), ODATA_ROW), SubmissionRowError);
  });
});

// ---------------------------------------------------------------- nested repeats, sanitised names

const treesSchema = (): FormSchema => schemaOrFail(odkSchemaFromCentral(TREES_FORM, TREES_FIELDS, TREES_ODATA_FIELDS, TREES_XFORM));

const TREES = new Map<string, CborValue>([
  ["site.name", "North ridge"],
  ["plot-info/area", 2.5],
  ["plots", [{ "g/x": 3, "g/kind": "oak", trees: [{ height: 12.5, shape: [[1, 2], [3, 4], [1, 2]] }, { height: 8 }] }, { "g/x": 4 }]],
  ["survey/visits", [{ when: 19844 }]],
]);

const TREES_XML =
  `<data id="trees" version="3"><site.name>North ridge</site.name><plot-info><area>2.5</area></plot-info>` +
  `<plots><g><x>3</x><kind>oak</kind></g><trees><height>12.5</height><shape>1 2;3 4;1 2</shape></trees><trees><height>8</height><shape/></trees></plots>` +
  `<plots><g><x>4</x><kind/></g></plots><survey><visits><when>2024-05-01</when></visits></survey>` +
  `<meta><instanceID>uuid:t1</instanceID></meta></data>`;

describe("nested repeats and groups", () => {
  it("read the same from XML, a Kobo-style JSON row and an OData row", () => {
    const s = treesSchema();
    assert.deepEqual(valuesFromXml(s, parseXml(TREES_XML)), TREES);
    const koboRow = {
      "site.name": "North ridge", "plot-info/area": "2.5",
      plots: [
        { "plots/g/x": "3", "plots/g/kind": "oak", "plots/trees": [{ "plots/trees/height": "12.5", "plots/trees/shape": "1 2;3 4;1 2" }, { "plots/trees/height": "8" }] },
        { "plots/g/x": "4" },
      ],
      "survey/visits": [{ "survey/visits/when": "2024-05-01" }],
    };
    assert.deepEqual(valuesFromKoboJson(s, koboRow), TREES);
    const odataRow = {
      site_name: "North ridge", plot_info: { area: 2.5 },
      plots: [
        {
          g: { x: 3, kind: "oak" }, __id: "p1", "trees@odata.navigationLink": "…",
          trees: [{ height: 12.5, shape: { type: "Polygon", coordinates: [[[2, 1], [4, 3], [2, 1]]] }, __id: "t1" }, { height: 8, shape: null, __id: "t2" }],
        },
        { g: { x: 4, kind: null }, __id: "p2" },
      ],
      survey: { visits: [{ when: "2024-05-01", __id: "v1" }], "visits@odata.navigationLink": "…" },
      meta: { instanceID: "uuid:t1" }, __id: "uuid:t1",
    };
    assert.deepEqual(valuesFromOData(s, namesOf(s, TREES_ODATA_FIELDS), odataRow), TREES);
  });

  it("build into the XML they were read from", () => {
    assert.equal(buildSubmissionXml(treesSchema(), TREES, { instanceId: "uuid:t1" }), TREES_XML);
  });
});

// ---------------------------------------------------------------- building

describe("buildSubmissionXml", () => {
  it("writes Kobo's envelope: formhub first, __version__ before meta, rootUuid, submissionDate", () => {
    const xml = buildSubmissionXml(koboSchema(), new Map([["village", "south"]]), {
      instanceId: "uuid:new", rootUuid: "uuid:root", deprecatedId: "uuid:old", submissionDate: "2024-05-01T07:21:00Z",
    });
    assert.equal(xml,
      `<aHouseholdSurveyKobo01 id="aHouseholdSurveyKobo01" submissionDate="2024-05-01T07:21:00Z">` +
      `<formhub><uuid>0f6c5b3c2f1a4c7e9d8b7a6f5e4d3c2b</uuid></formhub><start/><end/><village>south</village>` +
      `<hh><head_name/><size/><income/></hh><visit_date/><needs/><location/><photo/><notes/>` +
      `<__version__>vHouseholdV1aaaaaaaaaa</__version__>` +
      `<meta><instanceID>uuid:new</instanceID><deprecatedID>uuid:old</deprecatedID><rootUuid>uuid:root</rootUuid></meta>` +
      `</aHouseholdSurveyKobo01>`);
  });

  it("writes ODK's envelope: version attribute, no rootUuid", () => {
    const xml = buildSubmissionXml(odkSchema(), new Map(), { instanceId: "uuid:new", rootUuid: "uuid:root", submissionDate: "x" });
    assert.equal(xml,
      `<data id="household_b" version="2026111901"><start/><end/><village/><hh><head_name/><size/><income/></hh>` +
      `<visit_date/><needs/><location/><photo/><notes/><meta><instanceID>uuid:new</instanceID></meta></data>`);
  });

  it("round-trips through XML for any answers", () => {
    for (const schema of [koboSchema(), odkSchema(), treesSchema()]) {
      fc.assert(fc.property(submissionValues(schema), (values) => {
        const xml = buildSubmissionXml(schema, values, { instanceId: "uuid:x" });
        assert.deepEqual(valuesFromXml(schema, parseXml(xml)), values);
      }), { numRuns: 60 });
    }
  });

  it("refuses a repeat value that is not an array of maps", () => {
    assert.throws(() => buildSubmissionXml(koboSchema(), new Map([["members", "x"]]), { instanceId: "uuid:x" }), FieldValueError);
    assert.throws(() => buildSubmissionXml(koboSchema(), new Map([["members", [1]]]), { instanceId: "uuid:x" }), FieldValueError);
  });
});

// ---------------------------------------------------------------- patching

const KOBO_EDIT_BASE =
  `<aHouseholdSurveyKobo01 id="aHouseholdSurveyKobo01"><formhub><uuid>u</uuid></formhub>` +
  `<village>north</village><hh><head_name>Amina</head_name><hh_local>kept</hh_local><size>5</size></hh>` +
  `<needs>water</needs><location>1 2</location><local_only>keep me</local_only>` +
  `<members><name>A</name><age>41</age><sex>f</sex><member_local>gone with the instance</member_local></members>` +
  `<members><name>B</name><age>9</age><sex>m</sex></members>` +
  `<photo>p.jpg</photo><notes>old</notes><__version__>v</__version__>` +
  `<meta><instanceID>uuid:v1</instanceID><rootUuid>uuid:root</rootUuid></meta></aHouseholdSurveyKobo01>`;

function patched(base: string, values: Map<string, CborValue>, schema = koboSchema()): { xml: string; skipped: string[] } {
  const root = parseXml(base);
  const skipped = writeValuesToXml(schema, root, values);
  return { xml: serializeXml(root), skipped };
}

describe("writeValuesToXml", () => {
  it("sets, empties and creates elements in form order and keeps everything it was not given", () => {
    const { xml, skipped } = patched(KOBO_EDIT_BASE, new Map<string, CborValue>([
      ["hh/income", 30], ["visit_date", 19845], ["notes", null], ["needs", ["food", "water"]],
      ["location", [-1.5, 36.25, 0, 5]], ["start", "2024-05-02T08:00:00.000+03:00"], ["local/unknown", "x"],
    ]));
    assert.deepEqual(skipped, ["local/unknown"]);
    assert.equal(xml,
      `<aHouseholdSurveyKobo01 id="aHouseholdSurveyKobo01"><formhub><uuid>u</uuid></formhub>` +
      `<start>2024-05-02T08:00:00.000+03:00</start><village>north</village>` +
      `<hh><head_name>Amina</head_name><hh_local>kept</hh_local><size>5</size><income>30</income></hh>` +
      `<visit_date>2024-05-02</visit_date><needs>food water</needs><location>-1.5 36.25 0 5</location><local_only>keep me</local_only>` +
      `<members><name>A</name><age>41</age><sex>f</sex><member_local>gone with the instance</member_local></members>` +
      `<members><name>B</name><age>9</age><sex>m</sex></members>` +
      `<photo>p.jpg</photo><notes/><__version__>v</__version__>` +
      `<meta><instanceID>uuid:v1</instanceID><rootUuid>uuid:root</rootUuid></meta></aHouseholdSurveyKobo01>`);
  });

  it("replaces a repeat's instances where the first one was", () => {
    const { xml } = patched(KOBO_EDIT_BASE, new Map<string, CborValue>([["members", [{ name: "C", age: 3 }]]]));
    assert.match(xml, /<local_only>keep me<\/local_only><members><name>C<\/name><age>3<\/age><sex\/><\/members><photo>/);
  });

  it("removes a repeat's instances for null and adds them in form order when there were none", () => {
    const removed = patched(KOBO_EDIT_BASE, new Map<string, CborValue>([["members", null]])).xml;
    assert.match(removed, /<local_only>keep me<\/local_only><photo>/);
    const added = patched(removed, new Map<string, CborValue>([["members", [{ sex: "m" }, {}]]])).xml;
    // Right after the last earlier sibling in form order (location); unknown elements do not count.
    assert.match(added, /<location>1 2<\/location><members><name\/><age\/><sex>m<\/sex><\/members><members><name\/><age\/><sex\/><\/members><local_only>/);
  });

  it("creates missing groups in form order, before the envelope", () => {
    const base = `<r id="r"><formhub><uuid>u</uuid></formhub><needs>water</needs><meta><instanceID>uuid:v1</instanceID></meta></r>`;
    const { xml } = patched(base, new Map<string, CborValue>([["hh/size", 6], ["notes", "n"]]));
    assert.equal(xml, `<r id="r"><formhub><uuid>u</uuid></formhub><hh><size>6</size></hh><needs>water</needs><notes>n</notes><meta><instanceID>uuid:v1</instanceID></meta></r>`);
  });

  it("leaves a submission unchanged when given the values it holds, and holds any values it is given", () => {
    const schema = treesSchema();
    fc.assert(fc.property(submissionValues(schema), submissionValues(schema), (before, after) => {
      const base = buildSubmissionXml(schema, before, { instanceId: "uuid:x" }).replace("<meta>", "<local>kept</local><meta>");
      assert.equal(patched(base, before, schema).xml, base);
      const all = new Map<string, CborValue>([...replicableNodes(schema).keys()].map((k) => [k, after.get(k) ?? null]));
      const { xml } = patched(base, all, schema);
      assert.deepEqual(valuesFromXml(schema, parseXml(xml)), after);
      assert.match(xml, /<local>kept<\/local><meta>/);
    }), { numRuns: 60 });
  });

  it("refuses a map where a field belongs", () => {
    assert.throws(() => patched(KOBO_EDIT_BASE, new Map<string, CborValue>([["village", { a: "b" }]])), FieldValueError);
  });
});

describe("setMeta", () => {
  const edit = { instanceId: "uuid:v2", deprecatedId: "uuid:v1", rootUuid: "uuid:root" };

  it("sets a new instanceID and deprecatedID and keeps Kobo's rootUuid and other meta", () => {
    const root = parseXml(`<r><a>1</a><meta><instanceID>uuid:v1</instanceID><instanceName>x</instanceName><rootUuid>uuid:root</rootUuid></meta></r>`);
    setMeta(koboSchema(), root, edit);
    assert.equal(serializeXml(root),
      `<r><a>1</a><meta><instanceID>uuid:v2</instanceID><deprecatedID>uuid:v1</deprecatedID><instanceName>x</instanceName><rootUuid>uuid:root</rootUuid></meta></r>`);
  });

  it("inserts Kobo's rootUuid, creates meta if missing, and replaces a stale deprecatedID", () => {
    const root = parseXml(`<r><a>1</a></r>`);
    setMeta(koboSchema(), root, edit);
    assert.equal(serializeXml(root), `<r><a>1</a><meta><instanceID>uuid:v2</instanceID><deprecatedID>uuid:v1</deprecatedID><rootUuid>uuid:root</rootUuid></meta></r>`);
    setMeta(koboSchema(), root, { instanceId: "uuid:v3", deprecatedId: "uuid:v2" });
    assert.equal(serializeXml(root), `<r><a>1</a><meta><instanceID>uuid:v3</instanceID><deprecatedID>uuid:v2</deprecatedID><rootUuid>uuid:root</rootUuid></meta></r>`);
  });

  it("writes no rootUuid for ODK, removes deprecatedID when none is given, keeps a meta prefix", () => {
    const root = parseXml(`<data><orx:meta><orx:instanceID>uuid:v1</orx:instanceID><orx:deprecatedID>uuid:v0</orx:deprecatedID></orx:meta></data>`);
    setMeta(odkSchema(), root, edit);
    assert.equal(serializeXml(root), `<data><orx:meta><orx:instanceID>uuid:v2</orx:instanceID><orx:deprecatedID>uuid:v1</orx:deprecatedID></orx:meta></data>`);
    setMeta(odkSchema(), root, { instanceId: "uuid:v9" });
    assert.equal(serializeXml(root), `<data><orx:meta><orx:instanceID>uuid:v9</orx:instanceID></orx:meta></data>`);
  });
});
