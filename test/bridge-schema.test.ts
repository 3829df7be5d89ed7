import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SchemaError, replicableNodes, walkSchema, type FormSchema } from "../src/bridge/form-schema.js";
import { koboSchemaFromAsset } from "../src/bridge/kobo-schema.js";
import { odataNames, odkSchemaFromCentral } from "../src/bridge/odk-schema.js";
import { koboAsset, koboSchema, odkCentral, odkSchema, odkXForm, schemaOrFail } from "./support/household-forms.js";
import { TREES_FIELDS, TREES_FORM, TREES_ODATA_FIELDS, TREES_XFORM } from "./support/trees-form.js";

/** Every node as "path kind[:type]", depth-first. */
const outline = (s: FormSchema): string[] =>
  [...walkSchema(s.nodes)].map((n) => `${n.path} ${n.kind === "field" ? n.type : n.kind}`);

const HOUSEHOLD = [
  "start dateTime", "end dateTime", "village select_one", "hh group", "hh/head_name string", "hh/size int",
  "hh/income decimal", "visit_date date", "needs select_multiple", "location geopoint", "members repeat",
  "members/name string", "members/age int", "members/sex select_one", "photo binary", "notes string",
];

function withSurvey(survey: unknown[]): unknown {
  return { ...koboAsset, content: { survey } };
}

function koboError(asset: unknown): string {
  const r = koboSchemaFromAsset(asset);
  assert.ok(r instanceof SchemaError, "expected a SchemaError");
  return r.message;
}

describe("koboSchemaFromAsset", () => {
  it("reads the household asset", () => {
    const s = koboSchema();
    assert.deepEqual(outline(s), HOUSEHOLD);
    assert.equal(s.server, "kobo");
    assert.equal(s.formId, "aHouseholdSurveyKobo01");
    assert.equal(s.rootName, "aHouseholdSurveyKobo01");
    assert.equal(s.version, "vHouseholdV1aaaaaaaaaa");
    assert.equal(s.formhubUuid, "0f6c5b3c2f1a4c7e9d8b7a6f5e4d3c2b");
    assert.equal(s.title, "Household survey");
  });

  it("skips notes, nameless rows, the envelope and rows without an answer element; unknown types are strings", () => {
    const s = schemaOrFail(koboSchemaFromAsset(withSurvey([
      { type: "note", name: "intro" },
      { type: "text" },
      { type: "calculate", name: "__version__" },
      { type: "audit", name: "audit" },
      { type: "xml-external", name: "lookup" },
      { type: "begin group", $autoname: "g" },
      { type: "select_one colours", name: "colour" },
      { type: "barcode", name: "code" },
      { type: "end group" },
      { type: "range", name: "score" },
      { type: "today", name: "today" },
      { type: "background-audio", name: "sound" },
      { type: "brand_new_widget", name: "future" },
    ])));
    assert.deepEqual(outline(s), ["g group", "g/colour select_one", "g/code string", "score decimal", "today date", "sound binary", "future string"]);
  });

  it("nests repeats in groups and repeats", () => {
    const s = schemaOrFail(koboSchemaFromAsset(withSurvey([
      { type: "begin_group", name: "a" }, { type: "begin_repeat", name: "r" }, { type: "begin_repeat", name: "q" },
      { type: "integer", name: "n" }, { type: "end_repeat" }, { type: "end_repeat" }, { type: "end_group" },
    ])));
    assert.deepEqual(outline(s), ["a group", "a/r repeat", "a/r/q repeat", "a/r/q/n int"]);
    assert.deepEqual([...replicableNodes(s).keys()], ["a/r"]);
  });

  it("returns a SchemaError for unbalanced markers", () => {
    assert.match(koboError(withSurvey([{ type: "end_group" }])), /row 1: end_group closes nothing/);
    assert.match(koboError(withSurvey([{ type: "begin_group", name: "g" }])), /begin_group 'g' is never closed/);
    assert.match(koboError(withSurvey([{ type: "begin_group", name: "g" }, { type: "end_repeat" }])), /row 2: end_repeat closes begin_group 'g'/);
    assert.match(koboError(withSurvey([{ type: "begin_repeat" }])), /begin_repeat has no name/);
    assert.match(koboError(withSurvey([{ type: "begin_kobomatrix", name: "m" }])), /not supported/);
  });

  it("returns a SchemaError for a malformed or undeployed asset", () => {
    assert.match(koboError({ uid: "x" }), /Kobo asset JSON .* at content/);
    assert.match(koboError(null), /Kobo asset JSON/);
    assert.match(koboError({ ...koboAsset, content: { survey: [{ name: "no type" }] } }), /content\.survey\.0\.type/);
    assert.match(koboError({ ...koboAsset, has_deployment: false }), /aHouseholdSurveyKobo01 is not deployed/);
    assert.match(koboError({ ...koboAsset, deployment__uuid: null }), /not deployed/);
  });
});

describe("odkSchemaFromCentral", () => {
  it("reads the household form", () => {
    const s = odkSchema();
    assert.deepEqual(outline(s), HOUSEHOLD);
    assert.equal(s.server, "odk");
    assert.equal(s.formId, "household_b");
    assert.equal(s.rootName, "data");
    assert.equal(s.version, "2026111901");
    assert.equal(s.title, "Household survey (site B)");
    assert.equal(s.formhubUuid, undefined);
  });

  it("resolves relative body refs and nests repeats", () => {
    const s = schemaOrFail(odkSchemaFromCentral(TREES_FORM, TREES_FIELDS, TREES_ODATA_FIELDS, TREES_XFORM));
    assert.deepEqual(outline(s), [
      "site.name string", "plot-info group", "plot-info/area decimal", "plots repeat", "plots/g group", "plots/g/x int",
      "plots/g/kind select_one", "plots/trees repeat", "plots/trees/height decimal", "plots/trees/shape geoshape",
      "survey group", "survey/visits repeat", "survey/visits/when date",
    ]);
    assert.deepEqual([...replicableNodes(s).keys()], ["site.name", "plot-info/area", "plots", "survey/visits"]);
  });

  it("reads older pyxform bind types and binary flags", () => {
    const fields = [
      { path: "/a", name: "a", type: "select1" },
      { path: "/b", name: "b", type: "select" },
      { path: "/c", name: "c", type: "xsd:int" },
      { path: "/d", name: "d", type: "unknown", binary: true },
      { path: "/e", name: "e", type: "barcode" },
    ];
    const xform = '<h:html xmlns:h="h"><h:head><model><instance><data id="old"><a/><b/><c/><d/><e/></data></instance></model></h:head></h:html>';
    const s = schemaOrFail(odkSchemaFromCentral({ xmlFormId: "old" }, fields, fields, xform));
    assert.deepEqual(outline(s), ["a select_one", "b select_multiple", "c int", "d binary", "e string"]);
    assert.equal(s.version, "");
    assert.equal(s.title, "old");
  });

  it("returns a SchemaError when the responses are malformed or disagree", () => {
    const { form, fields, odataFields } = odkCentral;
    const err = (r: FormSchema | SchemaError): string => (r instanceof SchemaError ? r.message : assert.fail("expected a SchemaError"));
    assert.match(err(odkSchemaFromCentral({}, fields, odataFields, odkXForm)), /form JSON .* at xmlFormId/);
    assert.match(err(odkSchemaFromCentral(form, [{ path: "x" }], odataFields, odkXForm)), /household_b: \/fields is not/);
    assert.match(err(odkSchemaFromCentral(form, fields, odataFields.slice(1), odkXForm)), /odata=true does not list the same fields/);
    assert.match(err(odkSchemaFromCentral(form, fields, odataFields, "<h:html>")), /not well-formed XML/);
    assert.match(err(odkSchemaFromCentral(form, fields, odataFields, "<h:html/>")), /no primary <instance>/);
    assert.match(err(odkSchemaFromCentral(form, fields, odataFields, TREES_XFORM)), /instance id is 'trees', not 'household_b'/);
    assert.match(err(odkSchemaFromCentral(form, [fields[4]], [odataFields[4]], odkXForm)), /\/hh\/head_name without its parent group/);
  });
});

describe("both servers", () => {
  it("give the household form the same replicable paths and types", () => {
    const summary = (s: FormSchema): [string, string][] =>
      [...replicableNodes(s)].map(([path, n]) => [path, n.kind === "field" ? n.type : "repeat"]);
    assert.deepEqual(summary(odkSchema()), summary(koboSchema()));
    assert.deepEqual(outline(odkSchema()), outline(koboSchema()));
  });

  it("give the select fields the same choice names, in form order", () => {
    const choices = (s: FormSchema) => [...walkSchema(s.nodes)].flatMap((n) => (n.kind === "field" && n.choices ? [[n.path, n.choices]] : []));
    const expected = [
      ["village", ["north", "south", "east"]],
      ["needs", ["water", "food", "shelter", "health"]],
      ["members/sex", ["f", "m"]],
    ];
    assert.deepEqual(choices(koboSchema()), expected);
    assert.deepEqual(choices(odkSchema()), expected);
  });

  it("read choices from an XForm itemset over a secondary instance (pyxform's form for long lists)", () => {
    const xml = odkXForm
      .replace("<instance>", `<instance id="villages"><root><item><name>north</name><label>N</label></item><item><name>up-river</name></item></root></instance><instance>`)
      .replace(
        /<select1 ref="\/data\/village">[\s\S]*?<\/select1>/,
        `<select1 ref="/data/village"><itemset nodeset="instance('villages')/root/item"><value ref="name"/><label ref="label"/></itemset></select1>`,
      );
    const s = schemaOrFail(odkSchemaFromCentral(odkCentral.form, odkCentral.fields, odkCentral.odataFields, xml));
    const village = [...walkSchema(s.nodes)].find((n) => n.path === "village");
    assert.ok(village?.kind === "field");
    assert.equal(village.type, "select_one");
    assert.deepEqual(village.choices, ["north", "up-river"]);
  });
});

describe("odataNames", () => {
  it("maps every node path to its sanitised OData property name", () => {
    const s = schemaOrFail(odkSchemaFromCentral(TREES_FORM, TREES_FIELDS, TREES_ODATA_FIELDS, TREES_XFORM));
    const names = odataNames(s, TREES_ODATA_FIELDS);
    assert.ok(names instanceof Map);
    assert.equal(names.get("site.name"), "site_name");
    assert.equal(names.get("plot-info"), "plot_info");
    assert.equal(names.get("plot-info/area"), "area");
    assert.equal(names.get("plots/trees/shape"), "shape");
    assert.equal(names.size, [...walkSchema(s.nodes)].length);
  });

  it("returns a SchemaError for a list from another form", () => {
    const names = odataNames(odkSchema(), TREES_ODATA_FIELDS);
    assert.ok(names instanceof SchemaError);
    assert.match(names.message, /household_b: \/fields\?odata=true has no entry for start/);
  });
});
