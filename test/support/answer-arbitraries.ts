/** fast-check generators of canonical answer values (see src/bridge/field-codec.ts) and whole submissions. */
import fc from "fast-check";
import type { CborMap, CborValue } from "../../src/engine/cbor.js";
import { valueFromText } from "../../src/bridge/field-codec.js";
import { type FieldType, type FormSchema, type SchemaNode } from "../../src/bridge/form-schema.js";

/** Day numbers of 0000-01-01 and 9999-12-31, the range with a "YYYY-MM-DD" form. */
export const FIRST_DAY = -719528;
export const LAST_DAY = 2932896;

const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (d === 0 ? 0 : d));
const token = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/\s/.test(s));
const point = fc.array(finite, { minLength: 2, maxLength: 4 });
/** Trace points never carry a zero accuracy (Central cannot tell it from none). */
const tracePoint = point.filter((p) => p.length < 4 || p[3] !== 0);

/** Text that reads back as itself: the form of answers that do not fit their type. */
export const keptText = (t: FieldType): fc.Arbitrary<CborValue> => fc.string({ minLength: 1 }).filter((s) => valueFromText(t, s) === s);

/** Canonical values of a type other than kept text; undefined for the text types. */
export function typedAnswer(t: FieldType): fc.Arbitrary<CborValue> | undefined {
  switch (t) {
    case "int": return fc.maxSafeInteger().map((n) => n + 0);
    case "decimal": return finite;
    case "boolean": return fc.boolean();
    case "date": return fc.integer({ min: FIRST_DAY, max: LAST_DAY });
    case "select_multiple": return fc.array(token, { minLength: 1, maxLength: 5 });
    case "geopoint": return point;
    case "geotrace":
    case "geoshape": return fc.array(tracePoint, { minLength: 1, maxLength: 5 });
    default: return undefined;
  }
}

/** Every canonical value of a type: typed values and kept text. */
export function canonicalAnswer(t: FieldType): fc.Arbitrary<CborValue> {
  const typed = typedAnswer(t);
  if (t === "select_multiple" && typed) return typed; // every text splits into choices: nothing is kept whole
  return typed ? fc.oneof(typed, keptText(t)) : keptText(t);
}

/** Optional entries for `nodes` keyed by path relative to `prefix`: an instance map, or top-level values. */
function entriesFor(nodes: readonly SchemaNode[], prefix: string, depth: number): fc.Arbitrary<[string, CborValue][]> {
  const parts: fc.Arbitrary<[string, CborValue][]>[] = nodes.map((n) => {
    const key = prefix + n.name;
    if (n.kind === "group") return entriesFor(n.children, `${key}/`, depth);
    const value = n.kind === "field" ? canonicalAnswer(n.type) : instancesFor(n.children, depth + 1);
    return fc.option(value, { nil: undefined }).map((v): [string, CborValue][] => (v === undefined ? [] : [[key, v]]));
  });
  return fc.tuple(...parts).map((lists) => lists.flat());
}

function instancesFor(children: readonly SchemaNode[], depth: number): fc.Arbitrary<CborValue> {
  const instance = entriesFor(children, "", depth).map((entries): CborMap => Object.fromEntries(entries));
  return fc.array(instance, { minLength: 1, maxLength: depth > 1 ? 2 : 3 });
}

/** Submissions of a schema as value maps (absent answers absent), keys in form order. */
export function submissionValues(schema: FormSchema): fc.Arbitrary<Map<string, CborValue>> {
  return entriesFor(schema.nodes, "", 0).map((entries) => new Map(entries));
}
