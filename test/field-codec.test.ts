import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { CborValue } from "../src/engine/cbor.js";
import { FieldValueError, valueFromOData, valueFromText, valueToText } from "../src/bridge/field-codec.js";
import type { FieldType } from "../src/bridge/form-schema.js";
import { canonicalAnswer as canonical, keptText, typedAnswer as typedValue, FIRST_DAY, LAST_DAY } from "./support/answer-arbitraries.js";
import { typedValue as centralTyped } from "../src/bridge/doubles/odk-odata-rows.js";

const ALL_TYPES: readonly FieldType[] = [
  "string", "int", "decimal", "boolean", "date", "dateTime", "time",
  "select_one", "select_multiple", "geopoint", "geotrace", "geoshape", "binary",
];

describe("valueFromText", () => {
  const cases: [FieldType, string, CborValue][] = [
    ["string", "Amina", "Amina"],
    ["string", " padded ", " padded "],
    ["select_one", "north", "north"],
    ["binary", "1714550000.jpg", "1714550000.jpg"],
    ["time", "10:00:00.000+03:00", "10:00:00.000+03:00"],
    ["int", "5", 5],
    ["int", "-12", -12],
    ["int", "-0", 0],
    ["int", "9007199254740991", 9007199254740991],
    ["int", "9007199254740993", "9007199254740993"],
    ["int", "5.0", "5.0"],
    ["int", "five", "five"],
    ["decimal", "21.50", 21.5],
    ["decimal", "21", 21],
    ["decimal", "-0.0", 0],
    ["decimal", "1e-7", 1e-7],
    ["decimal", ".5", 0.5],
    ["decimal", "1e400", "1e400"],
    ["decimal", "NaN", "NaN"],
    ["decimal", "21,5", "21,5"],
    ["boolean", "true", true],
    ["boolean", "1", true],
    ["boolean", "false", false],
    ["boolean", "0", false],
    ["boolean", "yes", "yes"],
    ["date", "1970-01-01", 0],
    ["date", "2024-05-01", 19844],
    ["date", "1969-12-31", -1],
    ["date", "0000-01-01", FIRST_DAY],
    ["date", "9999-12-31", LAST_DAY],
    ["date", "0099-03-01", -683309],
    ["date", "2024-02-29", 19782],
    ["date", "2023-02-29", "2023-02-29"],
    ["date", "2024-13-01", "2024-13-01"],
    ["date", "2024-05-01T00:00:00", "2024-05-01T00:00:00"],
    ["dateTime", "2024-05-01T10:00:00.000+03:00", "2024-05-01T10:00:00.000+03:00"],
    ["dateTime", " 2024-05-01T10:00:00.000+03\n", "2024-05-01T10:00:00.000+03:00"],
    ["dateTime", "2024-05-01T10:00:00.000Z", "2024-05-01T10:00:00.000Z"],
    ["select_multiple", "water food", ["water", "food"]],
    ["select_multiple", " water\n food ", ["water", "food"]],
    ["select_multiple", "  ", null],
    ["geopoint", "-1.2921 36.8219 1650 4.5", [-1.2921, 36.8219, 1650, 4.5]],
    ["geopoint", "-1.2921 36.8219", [-1.2921, 36.8219]],
    ["geopoint", "-1.2921 36.8219 0 0", [-1.2921, 36.8219, 0, 0]],
    ["geopoint", "-1.2921 east", "-1.2921 east"],
    ["geopoint", "1 2 3 4 5", "1 2 3 4 5"],
    ["geotrace", "1 2 3 4;5 6 7 8", [[1, 2, 3, 4], [5, 6, 7, 8]]],
    ["geotrace", "1 2 3 0; 5 6", [[1, 2, 3], [5, 6]]],
    ["geotrace", "1 2;3 4;", [[1, 2], [3, 4]]],
    ["geotrace", "1 2;;3 4", "1 2;;3 4"],
    ["geoshape", "1 2 0 0;3 4 0 0;1 2 0 0", [[1, 2, 0], [3, 4, 0], [1, 2, 0]]],
  ];
  for (const [type, text, want] of cases) {
    it(`${type} ${JSON.stringify(text)}`, () => assert.deepEqual(valueFromText(type, text), want));
  }
  it("reads the empty text as null for every type", () => {
    for (const t of ALL_TYPES) assert.equal(valueFromText(t, ""), null);
  });
});

describe("valueToText", () => {
  it("writes normal-form texts back unchanged", () => {
    const normal: [FieldType, string][] = [
      ["int", "-12"], ["decimal", "21.5"], ["decimal", "0.0000001"], ["decimal", "100000000000000000000000"],
      ["boolean", "true"], ["boolean", "false"], ["date", "2024-05-01"], ["date", "0000-01-01"],
      ["select_multiple", "water food"], ["geopoint", "-1.2921 36.8219 1650 4.5"], ["geotrace", "1 2 3 4;5 6"],
      ["geoshape", "1 2;3 4;5 6;1 2"], ["dateTime", "2024-05-01T10:00:00.000+03:00"], ["string", " kept as is "],
    ];
    for (const [t, s] of normal) assert.equal(valueToText(t, valueFromText(t, s)), s, `${t} ${s}`);
  });

  it("normalises the spelling of numbers, booleans and separators", () => {
    assert.equal(valueToText("decimal", valueFromText("decimal", "21.50")), "21.5");
    assert.equal(valueToText("decimal", valueFromText("decimal", "1e-7")), "0.0000001");
    assert.equal(valueToText("boolean", valueFromText("boolean", "1")), "true");
    assert.equal(valueToText("geotrace", valueFromText("geotrace", "1.0 2.0; 3 4;")), "1 2;3 4");
  });

  it("writes null as the empty text", () => assert.equal(valueToText("int", null), ""));

  it("refuses maps and bytes, which no reader produces", () => {
    assert.throws(() => valueToText("string", { a: 1 }), FieldValueError);
    assert.throws(() => valueToText("binary", new Uint8Array([1])), FieldValueError);
    assert.throws(() => valueToText("geotrace", [[1, 2], "x"]), FieldValueError);
  });
});

describe("valueFromOData (Central's OData JSON, lib/data/odata.js submissionToOData)", () => {
  it("reads numbers, text and null", () => {
    assert.equal(valueFromOData("int", 5), 5);
    assert.equal(valueFromOData("decimal", 21.5), 21.5);
    assert.equal(valueFromOData("decimal", -0), 0);
    assert.equal(valueFromOData("int", 1.2345678901234568e22), "12345678901234568000000");
    assert.equal(valueFromOData("date", "2024-05-01"), 19844);
    assert.equal(valueFromOData("boolean", "1"), true);
    assert.deepEqual(valueFromOData("select_multiple", "water food"), ["water", "food"]);
    assert.equal(valueFromOData("string", null), null);
    assert.equal(valueFromOData("string", undefined), null);
  });

  it("reads GeoJSON points, line strings and polygons in text order", () => {
    const point = { type: "Point", coordinates: [36.8219, -1.2921, 1650], properties: { accuracy: 4.5 } };
    assert.deepEqual(valueFromOData("geopoint", point), [-1.2921, 36.8219, 1650, 4.5]);
    assert.deepEqual(valueFromOData("geopoint", { type: "Point", coordinates: [2, 1] }), [1, 2]);
    const line = { type: "LineString", coordinates: [[2, 1, 3], [6, 5, 7]], properties: { accuracies: [4, null] } };
    assert.deepEqual(valueFromOData("geotrace", line), [[1, 2, 3, 4], [5, 6, 7]]);
    const shape = { type: "Polygon", coordinates: [[[2, 1], [4, 3], [2, 1]]] };
    assert.deepEqual(valueFromOData("geoshape", shape), [[1, 2], [3, 4], [1, 2]]);
  });

  it("reads WKT ($wkt=true), which has no accuracy", () => {
    assert.deepEqual(valueFromOData("geopoint", "POINT (36.8219 -1.2921 1650)"), [-1.2921, 36.8219, 1650]);
    assert.deepEqual(valueFromOData("geotrace", "LINESTRING (2 1 3,6 5)"), [[1, 2, 3], [5, 6]]);
    assert.deepEqual(valueFromOData("geoshape", "POLYGON ((2 1,4 3,2 1))"), [[1, 2], [3, 4], [1, 2]]);
  });

  it("keeps a shape Central does not produce as its JSON text", () => {
    assert.equal(valueFromOData("geopoint", { type: "LineString", coordinates: [[1, 2]] }), '{"type":"LineString","coordinates":[[1,2]]}');
    assert.equal(valueFromOData("string", { a: 1 }), '{"a":1}');
  });
});

describe("field codec properties", () => {
  for (const t of ALL_TYPES) {
    it(`${t}: canonical values survive text and back`, () => {
      fc.assert(fc.property(canonical(t), (v) => assert.deepEqual(valueFromText(t, valueToText(t, v)), v)));
    });

    it(`${t}: any text reads to a value that is stable under write-back, and non-fitting text is kept whole`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), canonical(t).map((v) => valueToText(t, v))), (s) => {
          const v = valueFromText(t, s);
          assert.deepEqual(valueFromText(t, valueToText(t, v)), v);
          if (typeof v === "string" && t !== "dateTime") assert.equal(v, s);
        }),
      );
    });
  }

  for (const t of ["int", "decimal", "date", "boolean", "select_multiple", "geopoint", "geotrace", "geoshape", "dateTime", "string"] as const) {
    it(`${t}: Central's OData value of the written text reads to the same value`, () => {
      const values = typedValue(t) ?? keptText(t);
      fc.assert(fc.property(values, (v) => assert.deepEqual(valueFromOData(t, centralODataValue(t, valueToText(t, v))), v)));
    });
  }

  it("dateTime: Central's OData and the XML text agree on short offsets and padding", () => {
    for (const s of ["2024-05-01T10:00:00.000+03", " 2024-05-01T10:00:00.000-07:00 ", "2024-05-01T10:00:00Z"]) {
      assert.deepEqual(valueFromOData("dateTime", centralODataValue("dateTime", s)), valueFromText("dateTime", s));
    }
  });
});

/**
 * What the ODK Central double's OData feed says for one answer's XML text
 * (src/bridge/doubles/odk-odata-rows.ts, written from the fact sheet's
 * rendering table), after a JSON round trip as on the wire. Central's binds
 * call select_one and select_multiple "string"; an empty element is null.
 */
function centralODataValue(type: FieldType, text: string): unknown {
  if (text === "") return null;
  const bind = type === "select_one" || type === "select_multiple" ? "string" : type;
  const v = centralTyped(bind, text, false);
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as unknown);
}
