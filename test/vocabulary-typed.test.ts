/**
 * Typed packing (src/engine/typed-pack.ts and its codes): every answer comes
 * back exactly — packed when it fits its field's format, as a literal when it
 * does not — and the codes have the bit layouts the module documents.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { BitReader, BitWriter, readCount, readDelta, readInt, writeCount, writeDelta, writeEscape, writeInt } from "../src/engine/bit-pack.js";
import { decodeStrict, encodeCanonical, type CborMap, type CborValue } from "../src/engine/cbor.js";
import { recordType } from "../src/engine/ids.js";
import { formatDateTime, parseDateTime } from "../src/engine/time-pack.js";
import {
  createLexicon, FORMAT_CODE, packFields, parseVocabulary, unpackFields, vocabularyToCbor, type FieldFormat, type Lexicon, type VocabularyField,
} from "../src/engine/vocabulary.js";
import { translateDataPage } from "../src/cli/airtime-report.js";
import { cborValueArbitrary } from "./support/arbitraries.js";

const household = recordType("household");
/** 2024-03-04T10:13:19Z: the HLC wall the answers below are packed against. */
const WALL = Date.UTC(2024, 2, 4, 10, 13, 19);

function bitString(write: (w: BitWriter) => void): string {
  const w = new BitWriter();
  write(w);
  return [...w.bytes()].map((b) => b.toString(2).padStart(8, "0")).join("");
}

/** The packed form of one answer of `field`, and what unpacking gives back. */
function roundTrip(field: VocabularyField, value: CborValue, wall = WALL): { packed: CborValue; back: CborMap | undefined } {
  const lex = createLexicon(household, [field]);
  const packed = packFields({ [field.name]: value }, lex, { wall });
  const wire = decodeStrict(encodeCanonical(packed));
  assert.ok(wire.ok);
  return { packed, back: unpackFields(wire.value, lex, { wall }) };
}

/** `v` as the canonical event carries it: CBOR has no -0 and no lone surrogates. */
function viaCbor(v: CborValue): CborValue {
  const d = decodeStrict(encodeCanonical(v));
  assert.ok(d.ok);
  return d.value;
}

/** Asserts that `value` round-trips, and whether it went packed (no literal list) or as a literal. */
function assertRoundTrip(field: VocabularyField, value: CborValue, expect: "packed" | "literal" | "either", wall = WALL): void {
  const { packed, back } = roundTrip(field, value, wall);
  assert.deepEqual(back, viaCbor({ [field.name]: value }), `${field.format ?? "no format"}: ${JSON.stringify(value)}`);
  if (expect !== "either") assert.equal(packed instanceof Uint8Array ? "packed" : "literal", expect, JSON.stringify(value));
}

describe("bit codes", () => {
  it("write counts as a gamma-coded bit length and the bits below the leading 1", () => {
    assert.equal(bitString((w) => writeCount(w, 0)), "10000000");
    assert.equal(bitString((w) => writeCount(w, 1)), "01000000");
    assert.equal(bitString((w) => writeCount(w, 2)), "01100000");
    assert.equal(bitString((w) => writeCount(w, 5)), "00100010");
    assert.equal(bitString((w) => writeEscape(w)).slice(0, 11), "00000110111", "the escape is bit length 54");
    assert.equal(bitString((w) => writeInt(w, -1)).slice(0, 12), "000001110001", "a negative is bit length 55, then its magnitude less one");
    assert.equal(bitString((w) => writeDelta(w, -1)), "01000000", "deltas are zigzag counts");
  });

  it("read back any sequence of codes, over the whole safe range", () => {
    const code = fc.oneof(
      fc.record({ kind: fc.constant("count" as const), v: fc.oneof(fc.nat(300), fc.maxSafeNat()) }),
      fc.record({ kind: fc.constant("int" as const), v: fc.oneof(fc.integer({ min: -300, max: 300 }), fc.maxSafeInteger()) }),
      fc.record({ kind: fc.constant("delta" as const), v: fc.integer({ min: -(2 ** 52 - 1), max: 2 ** 52 - 1 }) }),
      fc.record({ kind: fc.constant("escape" as const), v: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(code, { maxLength: 20 }), (codes) => {
        const w = new BitWriter();
        for (const c of codes) {
          if (c.kind === "count") writeCount(w, c.v);
          else if (c.kind === "int") writeInt(w, c.v + 0);
          else if (c.kind === "delta") writeDelta(w, c.v + 0);
          else writeEscape(w);
        }
        const r = new BitReader(w.bytes());
        for (const c of codes) {
          const read = c.kind === "count" ? readCount(r) : c.kind === "int" ? readInt(r) : c.kind === "delta" ? readDelta(r) : readCount(r);
          assert.equal(read, c.kind === "escape" ? "escape" : c.v + 0);
        }
        assert.ok(r.atPaddedEnd());
      }),
    );
  });
});

describe("typed answers", () => {
  it("text: names in 5-bit letters, phone numbers in 4-bit digits, anything else as UTF-8 or a literal", () => {
    const name: VocabularyField = { name: "n", format: "text" };
    const { packed } = roundTrip(name, "Abubakar Mustapha");
    assert.ok(packed instanceof Uint8Array);
    assert.equal(packed.length, Math.ceil((1 + 2 + 9 + 17 * 5) / 8), "all present, title mode, count 17, 17 letters");
    for (const v of ["Abubakar Mustapha", "GPS taken at the camp block entrance.", "08164554348", "10:32:00.000+01:00", "Ñuñoa — 水井 ✓ 🚰", "", "ALL CAPS", "a  b", "O'Neil-Smith"]) {
      assertRoundTrip(name, v, "packed");
    }
    for (const v of [12, null, ["a"], { "#h": Uint8Array.of(1) }, "\ud800 lone surrogate"]) assertRoundTrip(name, v, "literal");
    fc.assert(fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string(), fc.stringMatching(/^[A-Za-z .,'-]*$/)), (s) => assertRoundTrip(name, s, "either")));
  });

  it("datetime: an instant relative to the HLC wall, its fraction digits and its zone", () => {
    const at: VocabularyField = { name: "t", format: "datetime" };
    assert.equal((roundTrip(at, "2024-03-04T10:13:19Z").packed as Uint8Array).length, 1, "the wall itself: all present, delta 0, 0 digits, same zone");
    for (const v of ["2024-03-04T08:02:03.700+01:00", "2024-03-04T10:13:19.123Z", "1969-12-31T23:59:59.9-03:30", "0000-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999-12:00"]) {
      assertRoundTrip(at, v, "packed");
    }
    for (const v of ["2024-02-30T00:00:00Z", "2024-03-04T10:13:19-00:00", "2024-03-04T10:13:19.1234Z", "2024-03-04T10:13:19+01", "2024-03-04 10:13:19Z", "2024-03-04T24:00:00Z", 1709547199000]) {
      assertRoundTrip(at, v, "literal");
    }
    const zone = fc.oneof(fc.constant<"Z">("Z"), fc.integer({ min: -(99 * 60 + 59), max: 99 * 60 + 59 }));
    const instant = fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9998, 11, 31) });
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 3 }), zone, fc.integer({ min: 0, max: 2 ** 45 }), (ms, digits, z, wall) => {
        const text = formatDateTime({ instant: ms - (ms % 10 ** (3 - digits)), digits, zone: z });
        assert.ok(text !== undefined && parseDateTime(text) !== undefined);
        assertRoundTrip(at, text, "packed", wall);
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => assertRoundTrip(at, s, "either")));
  });

  it("date, int, decimal and boolean", () => {
    for (const v of [19_786, -719_528, 2_932_896, 0]) assertRoundTrip({ name: "d", format: "date" }, v, "packed");
    assertRoundTrip({ name: "d", format: "date" }, "2024-13-01", "literal");
    for (const v of [0, 7, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) assertRoundTrip({ name: "i", format: "int" }, v, "packed");
    for (const v of [1.5, "12a", -0]) assertRoundTrip({ name: "i", format: "int" }, v, "literal");
    for (const v of [87.5, 2.4, 0.001, -12.25, 3, 1e15]) assertRoundTrip({ name: "x", format: "decimal" }, v, "packed");
    for (const v of [0.1 + 0.2, 1e-300, -0, "2,5"]) assertRoundTrip({ name: "x", format: "decimal" }, v, "literal");
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => assertRoundTrip({ name: "x", format: "decimal" }, v, "either")));
    for (const v of [true, false]) assertRoundTrip({ name: "b", format: "boolean" }, v, "packed");
    assertRoundTrip({ name: "b", format: "boolean" }, "yes", "literal");
  });

  it("geopoints: 7-decimal degrees in 32 bits, altitude and accuracy as decimals", () => {
    const gps: VocabularyField = { name: "g", format: "geopoint" };
    for (const v of [[11.5051861, 13.7102343, 413.1, 3.4], [-90, 180], [0, -0.0000001, 0], [12.3456789012, 1, 2]]) assertRoundTrip(gps, v, "packed");
    for (const v of [[1], [1, 2, 3, 4, 5], [1, "2"], "11.5 13.7", [-0, 1]]) assertRoundTrip(gps, v, "literal");
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(fc.property(fc.array(finite, { minLength: 1, maxLength: 5 }), (p) => assertRoundTrip(gps, p, "either")));
    const trace: VocabularyField = { name: "t", format: "geotrace" };
    fc.assert(fc.property(fc.array(fc.array(finite, { minLength: 2, maxLength: 4 }), { maxLength: 4 }), (t) => assertRoundTrip(trace, t, "either")));
    assertRoundTrip(trace, [[1.5, 2.5], [1.25, 2.75, 3]], "packed");
  });

  it("selects: a choice's index, a set of choices as bits, any other list as indices", () => {
    const one: VocabularyField = { name: "s", format: "select_one", choices: ["yes", "no"] };
    assertRoundTrip(one, "no", "packed");
    for (const v of ["maybe", 1, ["yes"]]) assertRoundTrip(one, v, "literal");
    const many: VocabularyField = { name: "m", format: "select_multiple", choices: ["food", "water", "shelter", "cash"] };
    for (const v of [["food"], ["water", "cash"], ["cash", "food"], ["food", "food"], []]) assertRoundTrip(many, v, "packed");
    for (const v of [["food", "other"], "food", [0]]) assertRoundTrip(many, v, "literal");
    assertRoundTrip({ name: "e", format: "select_one", choices: [] }, "x", "literal");
  });

  it("repeats: each instance packed under the repeat's fields", () => {
    const members: VocabularyField = {
      name: "members", format: "repeat",
      fields: [{ name: "name", format: "text" }, { name: "age", format: "int" }, { name: "sex", format: "select_one", choices: ["female", "male"] }],
    };
    const people: CborMap[] = [{ name: "Abubakar", age: 40, sex: "male" }, { name: "Asabe", age: 2 }, {}];
    const { packed } = roundTrip(members, people);
    assert.ok(packed instanceof Uint8Array);
    assert.ok(packed.length < encodeCanonical(people).length / 2);
    assertRoundTrip(members, people, "packed");
    assertRoundTrip(members, [{ name: "A", age: "forty" }], "either");
    assertRoundTrip(members, [{ name: "A", hobby: "chess" }], "literal");
    assertRoundTrip(members, "none", "literal");
  });
});

// ---------------------------------------------------------------- whole records

const FORMATS = Object.keys(FORMAT_CODE) as FieldFormat[];
const choiceNames = fc.uniqueArray(fc.constantFrom("a", "b", "c", "yes", "no", "other", "x_1"), { maxLength: 6 });

function fieldsArbitrary(depth: number): fc.Arbitrary<VocabularyField[]> {
  const field = fc.record({ format: fc.option(fc.constantFrom(...FORMATS), { nil: undefined }), choices: choiceNames, sub: depth > 0 ? fieldsArbitrary(depth - 1) : fc.constant([]) });
  return fc.uniqueArray(fc.tuple(fc.constantFrom("a", "b", "c", "g/d", "e", "f", "h", "@t"), field), { selector: ([n]) => n, maxLength: 6 }).map((list) =>
    list.map(([name, f]): VocabularyField => {
      if (f.format === undefined) return { name };
      if (f.format === "repeat") return { name, format: "repeat", fields: f.sub };
      if (f.format === "select_one" || f.format === "select_multiple") return { name, format: f.format, choices: f.choices };
      return { name, format: f.format };
    }),
  );
}

/** Values that fit a field's format (often) or anything at all. */
function answerFor(f: VocabularyField, depth: number): fc.Arbitrary<CborValue> {
  const any = cborValueArbitrary({ maxDepth: 2, maxTextLength: 12 });
  const fitting: Partial<Record<FieldFormat, fc.Arbitrary<CborValue>>> = {
    text: fc.string(), int: fc.maxSafeInteger().map((n) => n + 0), decimal: fc.double({ noNaN: true, noDefaultInfinity: true }),
    date: fc.integer({ min: -800_000, max: 3_000_000 }), boolean: fc.boolean(),
    datetime: fc.date({ min: new Date(Date.UTC(1, 0, 1)), max: new Date(Date.UTC(9998, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString()),
    geopoint: fc.array(fc.integer({ min: -1_800_000_000, max: 1_800_000_000 }).map((n) => n / 1e7), { minLength: 2, maxLength: 4 }),
    geotrace: fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 2, maxLength: 4 }), { maxLength: 3 }),
    select_one: f.choices && f.choices.length > 0 ? fc.constantFrom(...f.choices) : fc.string(),
    select_multiple: fc.array(f.choices && f.choices.length > 0 ? fc.constantFrom(...f.choices) : fc.string(), { maxLength: 4 }),
    repeat: depth > 2 ? fc.constant([]) : fc.array(recordArbitrary(f.fields ?? [], depth + 1, false), { maxLength: 3 }),
  };
  const fits = f.format && fitting[f.format];
  return fits ? fc.oneof({ weight: 3, arbitrary: fits }, { weight: 1, arbitrary: any }) : any;
}

function recordArbitrary(fields: readonly VocabularyField[], depth: number, extras: boolean): fc.Arbitrary<CborMap> {
  const entries = fields.map((f) => fc.option(answerFor(f, depth), { nil: undefined }).map((v): [string, CborValue][] => (v === undefined ? [] : [[f.name, v]])));
  const extra = extras ? fc.dictionary(fc.constantFrom("z", "y/1", "a"), cborValueArbitrary({ maxDepth: 1, maxTextLength: 6 }), { maxKeys: 2, noNullPrototype: true }) : fc.constant({});
  return fc.tuple(fc.tuple(...entries), extra).map(([lists, more]) => ({ ...more, ...Object.fromEntries(lists.flat()) }));
}

describe("typed packing of whole records", () => {
  it("vocabularies with formats read back as written", () => {
    fc.assert(fc.property(fieldsArbitrary(2), (fields) => assert.deepEqual(parseVocabulary(vocabularyToCbor(household, fields)), { type: household, fields })));
  });

  it("refuses vocabulary entries no writer produces", () => {
    const bad: CborValue[] = [["a", 99], ["a", FORMAT_CODE.select_one], ["a", FORMAT_CODE.int, ["x"]], ["a", FORMAT_CODE.repeat], ["a", FORMAT_CODE.repeat, [1]], ["a", "int"], ["__proto__", 1]];
    for (const entry of bad) assert.equal(parseVocabulary([household, [entry]]), undefined, JSON.stringify(entry));
  });

  it("round-trips any answers under any vocabulary, fitting their formats or not (property)", () => {
    const input = fieldsArbitrary(2).chain((fields) => fc.tuple(fc.constant(fields), recordArbitrary(fields, 0, true), fc.integer({ min: 0, max: 2 ** 46 })));
    fc.assert(
      fc.property(input, ([fields, record, wall]) => {
        const lex: Lexicon = createLexicon(household, fields);
        const wire = decodeStrict(encodeCanonical(packFields(record, lex, { wall })));
        assert.ok(wire.ok);
        if (!lex.typed) return;
        assert.deepEqual(unpackFields(wire.value, lex, { wall }), viaCbor(record));
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on hostile input, and refuses what no packer writes", () => {
    const lex = createLexicon(household, [
      { name: "a", format: "text" }, { name: "r", format: "repeat", fields: [{ name: "x", format: "geotrace" }, { name: "s", format: "select_multiple", choices: ["p", "q"] }] },
      { name: "t", format: "datetime" }, { name: "n" },
    ]);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), cborValueArbitrary({ maxDepth: 2, maxTextLength: 6 })), (packed) => {
        const out = unpackFields(packed, lex, { wall: WALL });
        assert.ok(out === undefined || typeof out === "object");
      }),
      { numRuns: 2000 },
    );
    const ok = packFields({ a: "x", n: 1 }, lex, { wall: WALL });
    assert.ok(Array.isArray(ok));
    assert.equal(unpackFields([ok[0] as CborValue, []], lex, { wall: WALL }), undefined, "a literal missing");
    assert.equal(unpackFields([ok[0] as CborValue, [1, 2]], lex, { wall: WALL }), undefined, "a literal too many");
    assert.equal(unpackFields([ok[0] as CborValue, [1], { a: "y" }], lex, { wall: WALL }), undefined, "a field said twice");
    const bits = packFields({ a: "x" }, lex, { wall: WALL });
    assert.ok(bits instanceof Uint8Array);
    assert.deepEqual(unpackFields(bits, lex, { wall: WALL }), { a: "x" });
    assert.equal(unpackFields(Uint8Array.from([...bits, 0]), lex, { wall: WALL }), undefined, "a byte beyond the padding");
    assert.equal(unpackFields(bits.subarray(0, bits.length - 1), lex, { wall: WALL }), undefined, "bits missing");
  });
});

describe("the household assessment as the bridge publishes it", () => {
  const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), "utf8"));
  const page = translateDataPage(fixture("household-assessment-asset.json"), fixture("household-assessment-data.json"));

  it("has a format for every field sent as it is, and the repeat's fields", () => {
    const byName = new Map(page.vocabulary.map((f) => [f.name, f]));
    assert.equal(byName.get("@submitted")?.format, "datetime");
    assert.equal(byName.get("loc/gps")?.format, "geopoint");
    assert.equal(byName.get("loc/village")?.format, "select_one");
    assert.deepEqual(byName.get("members"), {
      name: "members", format: "repeat",
      fields: [{ name: "name", format: "text" }, { name: "age", format: "int" }, { name: "sex", format: "select_one", choices: ["female", "male"] }],
    });
    assert.ok(page.vocabulary.every((f) => f.format !== undefined), "every answer type has a format");
  });

  it("packs every submission without a literal, exactly, and smaller than a vocabulary without formats", () => {
    const typed = createLexicon(page.type, page.vocabulary);
    const untyped = createLexicon(page.type, page.vocabulary.map((f) => (f.choices && f.format === "select_one" ? { name: f.name, choices: f.choices } : { name: f.name })));
    for (const s of page.submissions) {
      const packed = packFields(s.fields, typed, { wall: s.wall });
      assert.ok(packed instanceof Uint8Array, `${s.record}: every answer fits its format`);
      assert.deepEqual(unpackFields(viaCbor(packed), typed, { wall: s.wall }), viaCbor(s.fields));
      assert.ok(packed.length < encodeCanonical(packFields(s.fields, untyped, { wall: s.wall })).length, s.record);
    }
  });
});
