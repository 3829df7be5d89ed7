/**
 * `$filter` and `$orderby` over submissions, with Central's rules
 * (lib/data/odata-filter.js): only `__id` and `__system/{submissionDate,
 * updatedAt, submitterId, reviewState, deletedAt}` (also under
 * `$root/Submissions/`, the only form allowed on repeat tables) may appear;
 * anything else is 501.5 (501.4 for an unsupported construct). Comparisons
 * follow SQL: a literal is cast to the column's type, `eq`/`ne` are
 * null-safe, the others are NULL against null, and NULL rows do not match.
 * Deleted submissions are excluded unless the filter mentions deletedAt.
 */
import { parseFilter, type FilterNode } from "./odk-filter-parser.js";
import { REVIEW_STATES, type Micros, type OdkSubmission } from "./odk-model.js";
import { OdkInternalError, problems } from "./odk-problems.js";

type ColumnType = "text" | "timestamp" | "int" | "reviewState";
interface Column {
  readonly type: ColumnType;
  readonly read: (s: OdkSubmission) => string | number | null;
}

const COLUMNS: Record<string, Column> = {
  __id: { type: "text", read: (s) => s.instanceId },
  "__system/submissionDate": { type: "timestamp", read: (s) => s.createdAt },
  "__system/updatedAt": { type: "timestamp", read: (s) => s.updatedAt },
  "__system/submitterId": { type: "int", read: (s) => s.submitterId },
  "__system/reviewState": { type: "reviewState", read: (s) => s.reviewState },
  "__system/deletedAt": { type: "timestamp", read: (s) => s.deletedAt },
};

/** A column by its OData name; bare names only on the Submissions table. */
function columnFor(name: string, submissionsTable: boolean): Column | undefined {
  if (name.startsWith("$root/Submissions/")) return COLUMNS[name.slice("$root/Submissions/".length)];
  return submissionsTable ? COLUMNS[name] : undefined;
}

type Truth = boolean | null;
/** A typed operand: `value` null is SQL NULL; `literal` marks an untyped constant still to be cast. */
interface Operand {
  readonly type: ColumnType | "number" | "literal";
  readonly value: string | number | null;
}
type Eval<T> = (s: OdkSubmission) => T;

/** A compiled `$filter`: which submissions match, and whether deleted ones stay in. */
export interface SubmissionFilter {
  readonly matches: (s: OdkSubmission) => boolean;
  readonly includesDeleted: boolean;
}

/** Compiles `$filter` (absent → everything not deleted). `now` is the query's now(). */
export function compileFilter(expr: string | undefined, submissionsTable: boolean, now: Micros): SubmissionFilter {
  if (expr === undefined) return { matches: (s) => s.deletedAt === null, includesDeleted: false };
  const ast = parseFilter(expr);
  const test = new Compiler(submissionsTable, now).bool(ast);
  const includesDeleted = mentionsDeletedAt(ast);
  return { matches: (s) => (includesDeleted || s.deletedAt === null) && test(s) === true, includesDeleted };
}

function mentionsDeletedAt(n: FilterNode): boolean {
  switch (n.type) {
    case "FirstMemberExpression":
    case "RootExpression":
      return n.raw === "__system/deletedAt" || n.raw === "$root/Submissions/__system/deletedAt";
    case "MethodCallExpression":
      return n.args[0] !== undefined && mentionsDeletedAt(n.args[0]);
    case "NotExpression":
    case "BoolParenExpression":
      return mentionsDeletedAt(n.inner);
    case "Literal":
    case "CommonExpression":
    case "ParenExpression":
      return false;
    default:
      return mentionsDeletedAt(n.left) || mentionsDeletedAt(n.right);
  }
}

const EXTRACT = ["year", "month", "day", "hour", "minute", "second"];

class Compiler {
  constructor(
    private readonly submissionsTable: boolean,
    private readonly now: Micros,
  ) {}

  bool(n: FilterNode): Eval<Truth> {
    switch (n.type) {
      case "AndExpression": {
        const [l, r] = [this.bool(n.left), this.bool(n.right)];
        return (s) => and(l(s), r(s));
      }
      case "OrExpression": {
        const [l, r] = [this.bool(n.left), this.bool(n.right)];
        return (s) => or(l(s), r(s));
      }
      case "NotExpression": {
        const inner = this.bool(n.inner);
        return (s) => negate(inner(s));
      }
      case "BoolParenExpression":
        return this.bool(n.inner);
      case "EqualsExpression":
      case "NotEqualsExpression": {
        const eq = this.comparison(n.left, n.right, (c) => c === 0, true);
        return n.type === "EqualsExpression" ? eq : (s) => negate(eq(s));
      }
      case "LesserThanExpression": return this.comparison(n.left, n.right, (c) => c < 0, false);
      case "LesserOrEqualsExpression": return this.comparison(n.left, n.right, (c) => c <= 0, false);
      case "GreaterThanExpression": return this.comparison(n.left, n.right, (c) => c > 0, false);
      case "GreaterOrEqualsExpression": return this.comparison(n.left, n.right, (c) => c >= 0, false);
      default:
        throw problems.unsupportedODataExpression(n.position, n.type, n.raw);
    }
  }

  /** `nullSafe`: SQL `IS NOT DISTINCT FROM` (eq/ne); otherwise NULL on either side is NULL. */
  private comparison(ln: FilterNode, rn: FilterNode, accept: (c: number) => boolean, nullSafe: boolean): Eval<Truth> {
    const [l, r] = [this.operand(ln), this.operand(rn)];
    coercePair(l(undefined), r(undefined)); // a constant that cannot be cast fails before any row is read, as in PostgreSQL
    return (s) => {
      const [a, b] = coercePair(l(s), r(s));
      if (a === null || b === null) return nullSafe ? a === b : null;
      return accept(a < b ? -1 : a > b ? 1 : 0);
    };
  }

  /** An operand evaluator; called with undefined it yields constants (and NULL for columns). */
  private operand(n: FilterNode): (s: OdkSubmission | undefined) => Operand {
    switch (n.type) {
      case "Literal": {
        const value = n.literal === "null" ? null : n.literal === "string" ? n.raw.slice(1, -1) : n.raw;
        return () => ({ type: "literal", value });
      }
      case "FirstMemberExpression":
      case "RootExpression": {
        const col = columnFor(n.raw, this.submissionsTable);
        if (col === undefined) throw problems.unsupportedODataField(n.raw, n.position);
        return (s) => ({ type: col.type, value: s === undefined ? null : col.read(s) });
      }
      case "MethodCallExpression":
        return this.method(n);
      default:
        throw problems.unsupportedODataExpression(n.position, n.type, n.raw);
    }
  }

  private method(n: FilterNode & { type: "MethodCallExpression" }): (s: OdkSubmission | undefined) => Operand {
    if (n.method === "now") return () => ({ type: "timestamp", value: this.now });
    const arg = n.args[0];
    if (!EXTRACT.includes(n.method) || arg === undefined) throw problems.unsupportedODataExpression(n.position, n.type, n.raw);
    const inner = this.operand(arg);
    return (s) => {
      const o = inner(s);
      const us = o.value === null ? null : o.type === "literal" ? parseTimestamp(String(o.value)) : o.type === "timestamp" ? Number(o.value) : NaN;
      if (Number.isNaN(us)) throw new OdkInternalError(`function ${n.method}() does not accept ${o.type}`);
      return { type: "number", value: us === null ? null : extract(n.method, us) };
    };
  }
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

function negate(a: Truth): Truth {
  return a === null ? null : !a;
}

/** Casts an untyped literal to the other side's type, as PostgreSQL does with an unknown-typed parameter. */
function coercePair(a: Operand, b: Operand): [string | number | null, string | number | null] {
  const target = a.type !== "literal" ? a.type : b.type;
  return [cast(a, target), cast(b, target)];
}

function cast(o: Operand, target: Operand["type"]): string | number | null {
  if (o.value === null || o.type !== "literal") return o.value;
  const text = String(o.value);
  switch (target) {
    case "timestamp":
      return parseTimestamp(text);
    case "int":
    case "number": {
      if (!/^[+-]?\d+(\.\d+)?$/.test(text.trim())) throw problems.invalidDataType(text, "type integer");
      return Number(text);
    }
    case "reviewState":
      if (!REVIEW_STATES.includes(text)) throw new OdkInternalError(`invalid input value for enum: "${text}"`);
      return text;
    default:
      return text;
  }
}

const TIMESTAMP = /^(-?\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** A PostgreSQL timestamptz literal → microseconds (UTC when no offset is given); a bare 500 when it is not one. */
export function parseTimestamp(text: string): Micros {
  const m = TIMESTAMP.exec(text.trim());
  if (m === null) throw new OdkInternalError(`invalid input syntax for type timestamp with time zone: "${text}"`);
  const n = (i: number): number => Number(m[i] ?? 0);
  const ms = Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6));
  const fraction = Math.round(Number(`0.${m[7] ?? "0"}`) * 1e6);
  const zone = m[8] ?? "Z";
  let offsetMin = 0;
  if (zone.toUpperCase() !== "Z") {
    const digits = zone.replace(":", "");
    offsetMin = (zone.startsWith("-") ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || 0));
  }
  return (ms - offsetMin * 60000) * 1000 + fraction;
}

function extract(field: string, us: Micros): number {
  const d = new Date(Math.floor(us / 1000));
  switch (field) {
    case "year": return d.getUTCFullYear();
    case "month": return d.getUTCMonth() + 1;
    case "day": return d.getUTCDate();
    case "hour": return d.getUTCHours();
    case "minute": return d.getUTCMinutes();
    default: return d.getUTCSeconds() + (us % 1_000_000) / 1e6;
  }
}

/** One `$orderby` clause. */
interface OrderClause {
  readonly column: Column;
  readonly desc: boolean;
}

/**
 * Parses `$orderby` ("__system/updatedAt desc, __id") into a comparator:
 * ASC puts NULLs first, DESC last; ties fall back on the internal id in
 * the first clause's direction. Without `$orderby`: newest submission first.
 */
export function compileOrderBy(expr: string | undefined): (a: OdkSubmission, b: OdkSubmission) => number {
  if (expr === undefined) return (a, b) => b.createdAt - a.createdAt || b.id - a.id;
  const clauses: OrderClause[] = expr.split(",").map((part) => {
    const [name = "", order] = part.trim().split(/\s+/);
    const column = columnFor(name, true);
    if (column === undefined) throw problems.unsupportedODataField(name);
    if (order !== undefined && !/^(asc|desc)$/i.test(order)) throw problems.unsupportedODataField(order);
    return { column, desc: order?.toLowerCase() === "desc" };
  });
  const firstDesc = clauses[0]?.desc ?? false;
  return (a, b) => {
    for (const { column, desc } of clauses) {
      const c = compareNullable(column.read(a), column.read(b), desc);
      if (c !== 0) return c;
    }
    return firstDesc ? b.id - a.id : a.id - b.id;
  };
}

function compareNullable(x: string | number | null, y: string | number | null, desc: boolean): number {
  if (x === y) return 0;
  if (x === null) return desc ? 1 : -1;
  if (y === null) return desc ? -1 : 1;
  const c = x < y ? -1 : 1;
  return desc ? -c : c;
}
