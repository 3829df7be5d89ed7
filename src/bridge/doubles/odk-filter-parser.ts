/**
 * The OData `$filter` grammar as ODK Central parses it (it uses
 * odata-v4-parser 0.1.29; this is a re-implementation of the parts that
 * matter): comparisons `eq ne lt le gt ge`, `and`/`or` (right-recursive,
 * with `a and b or c` rotated to `(a and b) or c`), `not` (which takes
 * everything after it: `not a and b` is `not (a and b)`), parentheses,
 * literals (null, booleans, guids, dates, unquoted ISO timestamps, times,
 * numbers, 'strings'), member paths (`__system/submissionDate`,
 * `$root/Submissions/__id`) and method calls. A parse failure reads
 * "Unexpected character at N" or "Fail at 0", as the library's.
 */
import { problems } from "./odk-problems.js";

export type LiteralType = "null" | "boolean" | "guid" | "date" | "dateTimeOffset" | "timeOfDay" | "decimal" | "int" | "string";

interface Base {
  readonly position: number;
  /** The source text of the node. */
  readonly raw: string;
}

/** A `$filter` syntax tree; `type` names follow odata-v4-parser's token types (Central quotes them in 501.4 messages). */
export type FilterNode =
  | (Base & { readonly type: "Literal"; readonly literal: LiteralType })
  | (Base & { readonly type: "FirstMemberExpression" | "RootExpression" })
  | (Base & { readonly type: "MethodCallExpression"; readonly method: string; readonly args: readonly FilterNode[] })
  | (Base & { readonly type: ArithmeticType | ComparisonType; readonly left: FilterNode; readonly right: FilterNode })
  | (Base & { readonly type: "AndExpression" | "OrExpression"; readonly left: FilterNode; readonly right: FilterNode })
  | (Base & { readonly type: "NotExpression" | "BoolParenExpression" | "CommonExpression" | "ParenExpression"; readonly inner: FilterNode });

export type ComparisonType =
  | "EqualsExpression" | "NotEqualsExpression" | "LesserThanExpression" | "LesserOrEqualsExpression"
  | "GreaterThanExpression" | "GreaterOrEqualsExpression" | "HasExpression";
type ArithmeticType = "AddExpression" | "SubExpression" | "MulExpression" | "DivExpression" | "ModExpression";

const COMPARISONS: readonly [string, ComparisonType][] = [
  ["eq", "EqualsExpression"], ["ne", "NotEqualsExpression"], ["lt", "LesserThanExpression"], ["le", "LesserOrEqualsExpression"],
  ["gt", "GreaterThanExpression"], ["ge", "GreaterOrEqualsExpression"], ["has", "HasExpression"],
];
const ARITHMETIC: readonly [string, ArithmeticType][] = [
  ["add", "AddExpression"], ["sub", "SubExpression"], ["mul", "MulExpression"], ["div", "DivExpression"], ["mod", "ModExpression"],
];
/** Method names the parser knows, with [min, max] arity; any other name is a syntax error. */
const METHODS: Record<string, readonly [number, number]> = {
  contains: [2, 2], startswith: [2, 2], endswith: [2, 2], length: [1, 1], indexof: [2, 2], substring: [2, 3],
  tolower: [1, 1], toupper: [1, 1], trim: [1, 1], concat: [2, 2], year: [1, 1], month: [1, 1], day: [1, 1],
  hour: [1, 1], minute: [1, 1], second: [1, 1], fractionalseconds: [1, 1], totalseconds: [1, 1], date: [1, 1],
  time: [1, 1], totaloffsetminutes: [1, 1], mindatetime: [0, 0], maxdatetime: [0, 0], now: [0, 0],
  round: [1, 1], floor: [1, 1], ceiling: [1, 1], "geo.distance": [2, 2], "geo.length": [1, 1], "geo.intersects": [2, 2],
};

const YEAR = String.raw`-?(?:0\d{3}|[1-9]\d{3,})`;
const MONTH = String.raw`(?:0[1-9]|1[0-2])`;
const DAY = String.raw`(?:0[1-9]|[12]\d|3[01])`;
const TIME = String.raw`(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,12})?)?`;
const LITERALS: readonly [LiteralType, RegExp][] = [
  ["null", /null/y],
  ["boolean", /true|false/y],
  ["guid", /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/iy],
  ["date", new RegExp(`${YEAR}-${MONTH}-${DAY}(?!T)`, "y")],
  ["dateTimeOffset", new RegExp(`${YEAR}-${MONTH}-${DAY}T${TIME}(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)`, "y")],
  ["timeOfDay", new RegExp(TIME, "y")],
  ["decimal", /[+-]?\d+\.\d+(?:e[+-]?\d+)?|[+-]?(?:INF|NaN)/y],
  ["int", /[+-]?\d{1,19}/y],
];
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]{0,127}(?:\/[A-Za-z_][A-Za-z0-9_]{0,127})*/y;
const ROOT = /\$root\/[A-Za-z_][A-Za-z0-9_]{0,127}(?:\/[A-Za-z_][A-Za-z0-9_]{0,127})*/y;

/** Parses a `$filter` value; 400.18 with the library's reason when it is not valid. */
export function parseFilter(source: string): FilterNode {
  const parser = new FilterParser(source);
  const node = parser.boolCommon(0);
  if (node === undefined) throw problems.unparseableODataExpression("Fail at 0");
  if (node.next < source.length) throw problems.unparseableODataExpression(`Unexpected character at ${node.next}`);
  return node.node;
}

interface Parsed {
  readonly node: FilterNode;
  readonly next: number;
}

class FilterParser {
  constructor(private readonly s: string) {}

  /** Required whitespace: the index after it, or `i` when there is none. */
  private rws(i: number): number {
    let j = i;
    for (;;) {
      if (this.s[j] === " " || this.s[j] === "\t") j += 1;
      else if (this.s.startsWith("%20", j) || this.s.startsWith("%09", j)) j += 3;
      else return j;
    }
  }

  private raw(from: number, to: number): string {
    return this.s.slice(from, to);
  }

  boolCommon(i: number): Parsed | undefined {
    const tok = this.not(i) ?? this.commonAsBool(i) ?? this.boolParen(i);
    if (tok === undefined) return undefined;
    const more = this.binaryAfter(tok.next, ["and", "or"]);
    if (more === undefined) return tok;
    const right = this.boolCommon(more.at);
    if (right === undefined) return tok;
    const r = right.node;
    const raw = this.raw(i, right.next);
    if (more.op === "and" && r.type === "OrExpression") {
      // the library's one precedence fix: a and (b or c) becomes (a and b) or c
      const and: FilterNode = { type: "AndExpression", left: tok.node, right: r.left, position: i, raw: this.raw(i, r.left.position + r.left.raw.length) };
      return { node: { type: "OrExpression", left: and, right: r.right, position: i, raw }, next: right.next };
    }
    const type = more.op === "and" ? "AndExpression" : "OrExpression";
    return { node: { type, left: tok.node, right: r, position: i, raw }, next: right.next };
  }

  private not(i: number): Parsed | undefined {
    if (!this.s.startsWith("not", i)) return undefined;
    const at = this.rws(i + 3);
    if (at === i + 3) return undefined;
    const inner = this.boolCommon(at);
    if (inner === undefined) return undefined;
    return { node: { type: "NotExpression", inner: inner.node, position: i, raw: this.raw(i, inner.next) }, next: inner.next };
  }

  private commonAsBool(i: number): Parsed | undefined {
    const left = this.common(i);
    if (left === undefined) return undefined;
    const cmp = this.binaryAfter(left.next, COMPARISONS.map(([op]) => op));
    if (cmp !== undefined) {
      const right = this.common(cmp.at);
      if (right !== undefined) {
        const type = COMPARISONS.find(([op]) => op === cmp.op)?.[1] ?? "EqualsExpression";
        return { node: { type, left: left.node, right: right.node, position: i, raw: this.raw(i, right.next) }, next: right.next };
      }
    }
    return { node: { type: "CommonExpression", inner: left.node, position: i, raw: this.raw(i, left.next) }, next: left.next };
  }

  private boolParen(i: number): Parsed | undefined {
    return this.parenthesised(i, (j) => this.boolCommon(j), "BoolParenExpression");
  }

  /** `( inner )`, where `inner` is a boolean or a value expression. */
  private parenthesised(i: number, inner: (at: number) => Parsed | undefined, type: "BoolParenExpression" | "ParenExpression"): Parsed | undefined {
    if (this.s[i] !== "(") return undefined;
    const body = inner(this.bws(i + 1));
    if (body === undefined) return undefined;
    const close = this.bws(body.next);
    if (this.s[close] !== ")") return undefined;
    return { node: { type, inner: body.node, position: i, raw: this.raw(i, close + 1) }, next: close + 1 };
  }

  /** Optional whitespace. */
  private bws(i: number): number {
    return this.rws(i);
  }

  /** `RWS op RWS` after `i`: the operator and where its operand starts. */
  private binaryAfter(i: number, ops: readonly string[]): { op: string; at: number } | undefined {
    const start = this.rws(i);
    if (start === i) return undefined;
    const op = ops.find((o) => this.s.startsWith(o, start));
    if (op === undefined) return undefined;
    const at = this.rws(start + op.length);
    return at === start + op.length ? undefined : { op, at };
  }

  /** A value expression: literal, member, method call or parenthesised value, with optional arithmetic. */
  common(i: number): Parsed | undefined {
    const tok = this.literal(i) ?? this.match(ROOT, i, "RootExpression") ?? this.method(i) ?? this.match(IDENTIFIER, i, "FirstMemberExpression") ?? this.paren(i);
    if (tok === undefined) return undefined;
    const arith = this.binaryAfter(tok.next, ARITHMETIC.map(([op]) => op));
    if (arith === undefined) return tok;
    const right = this.common(arith.at);
    if (right === undefined) return tok;
    const type = ARITHMETIC.find(([op]) => op === arith.op)?.[1] ?? "AddExpression";
    return { node: { type, left: tok.node, right: right.node, position: i, raw: this.raw(i, right.next) }, next: right.next };
  }

  private literal(i: number): Parsed | undefined {
    for (const [literal, re] of LITERALS) {
      re.lastIndex = i;
      const m = re.exec(this.s);
      if (m !== null) return { node: { type: "Literal", literal, position: i, raw: m[0] }, next: i + m[0].length };
    }
    return this.string(i);
  }

  /** 'text' with '' as an escaped quote; the raw keeps the quotes. */
  private string(i: number): Parsed | undefined {
    if (this.s[i] !== "'") return undefined;
    let j = i + 1;
    while (j < this.s.length) {
      if (this.s[j] === "'") {
        if (this.s[j + 1] !== "'") return { node: { type: "Literal", literal: "string", position: i, raw: this.raw(i, j + 1) }, next: j + 1 };
        j += 2;
      } else j += 1;
    }
    return undefined;
  }

  private match(re: RegExp, i: number, type: "RootExpression" | "FirstMemberExpression"): Parsed | undefined {
    re.lastIndex = i;
    const m = re.exec(this.s);
    return m === null ? undefined : { node: { type, position: i, raw: m[0] }, next: i + m[0].length };
  }

  private method(i: number): Parsed | undefined {
    const name = Object.keys(METHODS).find((m) => this.s.startsWith(`${m}(`, i));
    if (name === undefined) return undefined;
    const [min, max] = METHODS[name] ?? [0, 0];
    let j = this.bws(i + name.length + 1);
    const args: FilterNode[] = [];
    while (args.length < max) {
      const arg = this.common(j);
      if (arg === undefined) break;
      args.push(arg.node);
      j = this.bws(arg.next);
      if (this.s[j] !== ",") break;
      j = this.bws(j + 1);
    }
    if (args.length < min || this.s[j] !== ")") return undefined;
    return { node: { type: "MethodCallExpression", method: name, args, position: i, raw: this.raw(i, j + 1) }, next: j + 1 };
  }

  private paren(i: number): Parsed | undefined {
    return this.parenthesised(i, (j) => this.common(j), "ParenExpression");
  }
}
