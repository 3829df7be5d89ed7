/**
 * The `query`, `sort` and `fields` parameters of kpi's data API, evaluated
 * in memory the way kpi's MongoHelper hands them to MongoDB. kpi rewrites
 * every `$key` outside its whitelist (and every dotted key) into a literal
 * field name, so such operators never error: they silently match nothing
 * (`{"_id": {"$eq": 3}}` finds no rows). Whitelisted operators the double
 * does not implement are refused as "Unsupported query", like a MongoDB error.
 */

/** A Mongo document: one submission's data-API JSON. */
export type MongoDoc = Readonly<Record<string, unknown>>;
export type DocFilter = (doc: MongoDoc) => boolean;
export type DocOrder = (a: MongoDoc, b: MongoDoc) => number;
/** Either the compiled value, or the parameter could not be run (kpi answers 400 "Unsupported query"). */
export type Compiled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

/** `{"$date": …}` from bson.json_util: never equal to the strings kpi stores. */
class BsonDate {
  constructor(readonly ms: number) {}
}

/** kpi's MongoHelper.KEY_WHITELIST: the only `$` keys that reach MongoDB as operators. */
const WHITELIST = new Set(["$or", "$and", "$in", "$nin", "$not", "$exists", "$gt", "$gte", "$lt", "$lte", "$regex", "$options", "$all", "$elemMatch", "$ne", "$expr", "$ifNull"]);
/** Attributes kpi keeps nested, so a dotted key into them is a real sub-field path. */
const NESTED_ATTRIBUTES = ["_validation_status."];
const ALL: DocFilter = () => true;
const fail = { ok: false } as const;
const ok = <T>(value: T): Compiled<T> => ({ ok: true, value });

/** JSON.parse plus the bson.json_util extended forms a query may use. Undefined when not valid JSON. */
export function parseJsonParam(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text, (_k, v: unknown) => extendedJson(v)) };
  } catch {
    return undefined;
  }
}

function extendedJson(v: unknown): unknown {
  if (!isPlainObject(v)) return v;
  const keys = Object.keys(v);
  if (keys.length !== 1) return v;
  const inner = v[keys[0]!];
  if (keys[0] === "$date") return new BsonDate(typeof inner === "number" ? inner : Date.parse(String(inner)));
  if (keys[0] === "$numberLong" || keys[0] === "$numberInt" || keys[0] === "$numberDouble") return Number(inner);
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof BsonDate);
}

/** Python's int() on what kpi coerces (`_id` values, sort directions); undefined when it would raise. */
export function pythonInt(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(v)) return Number(v.replace(/_/g, ""));
  return undefined;
}

/** How MongoHelper.to_safe_dict names a key: operators it does not whitelist become plain (absent) fields. */
function safeKey(key: string): string {
  if (WHITELIST.has(key)) return key;
  if (NESTED_ATTRIBUTES.some((p) => key.startsWith(p))) return key;
  return key.replace(/^\$/, "JA==").replace(/\./g, "Lg==");
}

function fieldValue(doc: MongoDoc, key: string): unknown {
  if (!key.includes(".")) return doc[key];
  let cur: unknown = doc;
  for (const step of key.split(".")) cur = isPlainObject(cur) ? cur[step] : undefined;
  return cur;
}

/** Compiles a parsed `query`. */
export function compileFilter(query: unknown): Compiled<DocFilter> {
  if (query === null || query === undefined) return ok(ALL);
  return isPlainObject(query) ? compileDocument(query) : fail;
}

function compileDocument(query: Record<string, unknown>): Compiled<DocFilter> {
  const clauses: DocFilter[] = [];
  for (const [rawKey, value] of Object.entries(query)) {
    const key = safeKey(rawKey);
    const clause = key === "$and" || key === "$or" ? compileLogical(key, value) : key.startsWith("$") ? fail : compileField(key, rawKey === "_id" ? coerceId(value) : value);
    if (!clause.ok) return fail;
    clauses.push(clause.value);
  }
  return ok((doc) => clauses.every((c) => c(doc)));
}

/** kpi turns a scalar `_id` into an int when Python's int() accepts it. */
function coerceId(value: unknown): unknown {
  if (typeof value === "object" && value !== null) return value;
  return pythonInt(value) ?? value;
}

function compileLogical(op: "$and" | "$or", value: unknown): Compiled<DocFilter> {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isPlainObject)) return fail;
  const parts: DocFilter[] = [];
  for (const sub of value) {
    const c = compileDocument(sub);
    if (!c.ok) return fail;
    parts.push(c.value);
  }
  return ok(op === "$and" ? (doc) => parts.every((p) => p(doc)) : (doc) => parts.some((p) => p(doc)));
}

function compileField(key: string, value: unknown): Compiled<DocFilter> {
  const expr = isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [safeKey(k), v])) : undefined;
  const isOperatorExpr = expr !== undefined && Object.keys(expr)[0]?.startsWith("$") === true;
  if (!isOperatorExpr) return ok((doc) => equalsField(fieldValue(doc, key), expr ?? value));
  const tests: ((v: unknown) => boolean)[] = [];
  for (const [op, arg] of Object.entries(expr)) {
    const t = compileOperator(op, arg, expr);
    if (!t.ok) return fail;
    tests.push(t.value);
  }
  return ok((doc) => {
    const v = fieldValue(doc, key);
    return tests.every((t) => t(v));
  });
}

function compileOperator(op: string, arg: unknown, expr: Record<string, unknown>): Compiled<(v: unknown) => boolean> {
  switch (op) {
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return ok((v) => anyElement(v, (e) => compareOp(op, e, arg)));
    case "$ne":
      return ok((v) => !equalsField(v, arg));
    case "$in":
      return Array.isArray(arg) ? ok((v) => arg.some((a) => equalsField(v, a))) : fail;
    case "$nin":
      return Array.isArray(arg) ? ok((v) => !arg.some((a) => equalsField(v, a))) : fail;
    case "$exists":
      return ok((v) => (v !== undefined) === Boolean(arg));
    case "$regex":
      return compileRegex(arg, expr["$options"]);
    case "$options":
      return "$regex" in expr ? ok(() => true) : fail;
    default:
      return fail;
  }
}

function compileRegex(pattern: unknown, options: unknown): Compiled<(v: unknown) => boolean> {
  if (typeof pattern !== "string" || (options !== undefined && typeof options !== "string")) return fail;
  try {
    const re = new RegExp(pattern, (options ?? "").replace(/[^ims]/g, ""));
    return ok((v) => anyElement(v, (e) => typeof e === "string" && re.test(e)));
  } catch {
    return fail;
  }
}

function anyElement(v: unknown, test: (e: unknown) => boolean): boolean {
  return Array.isArray(v) ? v.some(test) : test(v);
}

/** Mongo equality: null also matches a missing field, and an array field matches any of its elements. */
function equalsField(v: unknown, target: unknown): boolean {
  if (target === null && (v === undefined || v === null)) return true;
  if (v === undefined) return false;
  return deepEqual(v, target) || (Array.isArray(v) && v.some((e) => deepEqual(e ?? null, target)));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof BsonDate || b instanceof BsonDate) return a instanceof BsonDate && b instanceof BsonDate && a.ms === b.ms;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && deepEqual(a[k], b[k]));
  }
  return a === b;
}

/** Range operators only compare values of the same BSON type bracket (strings with strings, numbers with numbers). */
function compareOp(op: string, v: unknown, arg: unknown): boolean {
  const rank = typeRank(v);
  if (v === undefined || rank !== typeRank(arg)) return false;
  const c = compareBson(v, arg);
  return op === "$gt" ? c > 0 : op === "$gte" ? c >= 0 : op === "$lt" ? c < 0 : c <= 0;
}

/** MongoDB's cross-type sort order: null < numbers < strings < objects < arrays < booleans < dates. */
function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 1;
  if (typeof v === "number") return 2;
  if (typeof v === "string") return 3;
  if (v instanceof BsonDate) return 9;
  if (Array.isArray(v)) return 5;
  if (typeof v === "boolean") return 8;
  return 4;
}

function compareBson(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  if (a instanceof BsonDate && b instanceof BsonDate) return a.ms - b.ms;
  const ja = JSON.stringify(a);
  const jb = JSON.stringify(b);
  return ja < jb ? -1 : ja > jb ? 1 : 0;
}

/** Compiles a parsed `sort`; empty means kpi's default `{"_id": 1}`. Directions must be 1 or -1. */
export function compileSort(sort: unknown): Compiled<DocOrder> {
  if (sort === null || sort === undefined || (isPlainObject(sort) && Object.keys(sort).length === 0)) return compileSort({ _id: 1 });
  if (!isPlainObject(sort)) return fail;
  const keys: [string, number][] = [];
  for (const [key, dir] of Object.entries(sort)) {
    const d = pythonInt(dir);
    if (d !== 1 && d !== -1) return fail;
    keys.push([safeKey(key), d]);
  }
  return ok((a, b) => {
    for (const [key, d] of keys) {
      const c = compareBson(fieldValue(a, key) ?? null, fieldValue(b, key) ?? null);
      if (c !== 0) return c * d;
    }
    return 0;
  });
}

/** kpi always adds these to a projection: attachment links and root uuid injection need them. */
const ALWAYS_PROJECTED = ["_id", "_uuid", "meta/rootUuid"];

/** Compiles a parsed `fields` (a list of keys, or a Mongo inclusion object). Undefined value: no projection. */
export function compileProjection(fields: unknown): Compiled<((doc: MongoDoc) => Record<string, unknown>) | undefined> {
  const names = Array.isArray(fields) ? fields : isPlainObject(fields) ? Object.keys(fields) : undefined;
  if (names === undefined || !names.every((n): n is string => typeof n === "string")) return fail;
  if (names.length === 0) return ok(undefined);
  const keep = new Set([...names.map(safeKey), ...ALWAYS_PROJECTED]);
  return ok((doc) => {
    const out: Record<string, unknown> = Object.fromEntries(Object.entries(doc).filter(([k]) => keep.has(k)));
    out["_validation_status"] ??= {};
    return out;
  });
}
