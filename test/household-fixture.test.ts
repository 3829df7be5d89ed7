/**
 * The 40-question household assessment fixture: its Kobo asset reads with the
 * bridge's own schema reader, and its 1,000 data API rows convert to canonical
 * values of the expected types, with the form's skip logic honoured.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { CborMap, CborValue } from "../src/engine/cbor.js";
import { isDayNumber } from "../src/bridge/field-codec.js";
import { SchemaError, walkSchema, type FieldNode, type FormSchema, type RepeatNode } from "../src/bridge/form-schema.js";
import { koboSchemaFromAsset } from "../src/bridge/kobo-schema.js";
import { valuesFromKoboJson } from "../src/bridge/submission-values.js";
import { formatDataPage, makeHouseholdData, type KoboRow } from "./support/make-household-data.js";

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), "utf8");

interface SurveyRow {
  readonly type: string;
  readonly $xpath?: string;
  readonly select_from_list_name?: string;
}
interface Asset {
  readonly uid: string;
  readonly asset_type: string;
  readonly deployment__active: boolean;
  readonly deployment__uuid: string;
  readonly deployed_versions: { readonly results: readonly { readonly uid: string }[] };
  readonly content: { readonly survey: readonly SurveyRow[]; readonly choices: readonly { readonly list_name: string; readonly name: string }[] };
}

const assetText = fixture("household-assessment-asset.json");
const dataText = fixture("household-assessment-data.json");
const asset = JSON.parse(assetText) as Asset;
const page = JSON.parse(dataText) as { count: number; next: null; previous: null; results: KoboRow[] };

function readSchema(): FormSchema {
  const s = koboSchemaFromAsset(asset);
  if (s instanceof SchemaError) assert.fail(s.message);
  return s;
}
const schema = readSchema();

/** Metadata the device records without asking: not questions. */
const DEVICE_METADATA = new Set(["start", "end"]);
const fields = [...walkSchema(schema.nodes)].filter((n): n is FieldNode => n.kind === "field");
const questions = fields.filter((f) => !DEVICE_METADATA.has(f.path));
const members = schema.nodes.find((n): n is RepeatNode => n.kind === "repeat" && n.name === "members");

/** Choice names by the path of the select that uses them. */
const choicesByPath = new Map<string, Set<string>>(
  asset.content.survey
    .filter((r) => r.select_from_list_name !== undefined && r.$xpath !== undefined)
    .map((r) => [r.$xpath as string, new Set(asset.content.choices.filter((c) => c.list_name === r.select_from_list_name).map((c) => c.name))]),
);

const isNumber = (v: CborValue): v is number => typeof v === "number" && Number.isFinite(v);

/** Fails unless `value` is the canonical value of an answer to `field` (field-codec.ts). */
function assertCanonical(field: FieldNode, path: string, value: CborValue, where: string): void {
  const choices = choicesByPath.get(path);
  const ok = ((): boolean => {
    switch (field.type) {
      case "int":
        return Number.isSafeInteger(value);
      case "decimal":
        return isNumber(value);
      case "date":
        return typeof value === "number" && isDayNumber(value);
      case "geopoint":
        return Array.isArray(value) && value.length === 4 && value.every(isNumber);
      case "select_multiple":
        return Array.isArray(value) && value.length > 0 && value.every((c) => typeof c === "string" && choices?.has(c) === true);
      case "select_one":
        return typeof value === "string" && choices?.has(value) === true;
      default:
        return typeof value === "string" && value !== "";
    }
  })();
  assert.ok(ok, `${where}: ${path} (${field.type}) = ${JSON.stringify(value)} is not canonical`);
}

const values = page.results.map((row) => valuesFromKoboJson(schema, row));

describe("household assessment asset", () => {
  it("is a deployed survey the schema reader reads, with 40 questions", () => {
    assert.equal(asset.asset_type, "survey");
    assert.equal(asset.deployment__active, true);
    assert.equal(schema.formId, asset.uid);
    assert.equal(questions.length, 40);
    const byType: Record<string, number> = {};
    for (const q of questions) byType[q.type] = (byType[q.type] ?? 0) + 1;
    assert.deepEqual(byType, { select_one: 15, select_multiple: 3, int: 14, decimal: 2, string: 4, date: 1, geopoint: 1 });
  });

  it("has groups, a members repeat of three questions, and no calculate among the questions", () => {
    const groups = schema.nodes.filter((n) => n.kind === "group").map((g) => g.name);
    assert.deepEqual(groups, ["loc", "hh", "wash", "fs", "health", "needs"]);
    assert.deepEqual(members?.children.map((c) => c.path), ["members/name", "members/age", "members/sex"]);
    const calculates = asset.content.survey.filter((r) => r.type === "calculate").map((r) => r.$xpath);
    assert.deepEqual(calculates, ["__version__"]);
  });
});

describe("household assessment data", () => {
  it("is one data API page of 1,000 rows in _id order", () => {
    assert.equal(page.count, 1000);
    assert.equal(page.results.length, 1000);
    assert.equal(page.next, null);
    const ids = page.results.map((r) => r._id as number);
    assert.ok(ids.every((id, i) => i === 0 || id > (ids[i - 1] as number)));
  });

  it("converts every row, losing no answer, to canonical values", () => {
    const byPath = new Map(fields.map((f) => [f.path, f]));
    page.results.forEach((row, i) => {
      const v = values[i] as Map<string, CborValue>;
      const answerKeys = Object.keys(row).filter((k) => !k.startsWith("_") && !k.startsWith("meta/") && !k.startsWith("formhub/"));
      assert.deepEqual([...v.keys()].sort(), answerKeys.sort(), `row ${i}: converted keys`);
      for (const [path, value] of v) {
        const field = byPath.get(path);
        if (field) assertCanonical(field, path, value, `row ${i}`);
        else assertMembers(value, `row ${i}`);
      }
    });
  });

  it("honours the form's skip logic", () => {
    for (const [i, v] of values.entries()) {
      const where = `row ${i}`;
      if (v.get("consent") === "no") {
        assert.ok([...v.keys()].every((k) => DEVICE_METADATA.has(k) || k.startsWith("loc/") || k === "consent"), where);
        continue;
      }
      assert.equal(v.has("hh/months_displaced"), v.get("hh/displacement") !== "host", where);
      assert.equal(v.has("health/illness_type"), v.get("health/illness") === "yes", where);
      assert.equal(v.has("health/vaccination"), (v.get("hh/children_u5") as number) > 0, where);
      assert.equal((v.get("members") as CborMap[]).length, v.get("hh/size"), where);
      assert.ok((v.get("hh/children_u5") as number) < (v.get("hh/size") as number), where);
      const priority = v.get("needs/priority") as string[];
      assert.ok(priority.length <= 3, where);
      const coping = v.get("fs/coping") as string[];
      assert.ok(!coping.includes("none") || coping.length === 1, where);
    }
  });

  it("carries kpi's envelope", () => {
    const versions = new Set(asset.deployed_versions.results.map((v) => v.uid));
    for (const row of page.results) {
      assert.equal(row["formhub/uuid"], asset.deployment__uuid);
      assert.equal(row["meta/instanceID"], `uuid:${String(row._uuid)}`);
      assert.match(String(row["meta/rootUuid"]), /^uuid:[0-9a-f-]{36}$/);
      assert.ok(versions.has(String(row.__version__)));
      assert.match(String(row.start), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+01:00$/);
      assert.match(String(row._submission_time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      const gps = row["loc/gps"];
      const expected = typeof gps === "string" ? gps.split(" ").slice(0, 2).map(Number) : [null, null];
      assert.deepEqual(row._geolocation, expected);
    }
  });

  it("is what the generator makes", () => {
    assert.equal(formatDataPage(makeHouseholdData()), dataText);
  });
});

/** Fails unless `value` is the members repeat: one map of canonical answers per member. */
function assertMembers(value: CborValue, where: string): void {
  assert.ok(members && Array.isArray(value) && value.length > 0, `${where}: members`);
  for (const instance of value as CborMap[]) {
    assert.deepEqual(Object.keys(instance), ["name", "age", "sex"], `${where}: member keys`);
    for (const child of members.children as FieldNode[]) assertCanonical(child, child.path, instance[child.name] as CborValue, where);
  }
}
