/**
 * The seed prototype's wire encoding (meshlogd 0.1.0, Python), re-implemented
 * to measure it: events are JSON objects, one `record.create` plus one
 * `field.set` per answer, sent in `{"t":"events","e":[...]}` messages made by
 * `json.dumps(obj, separators=(",", ":"))` — insertion key order,
 * `ensure_ascii=True`, Python's repr for floats. Event ids are the first 32
 * hex chars of SHA-256 over `json.dumps(..., sort_keys=True)` of the event.
 */
import { createHash } from "node:crypto";
import type { CborMap, CborValue } from "../engine/cbor.js";
import type { Hlc } from "../engine/hlc.js";

/** A value of Python's JSON data model. Integral numbers are Python ints; others are floats. */
export type PyValue = null | boolean | number | string | readonly PyValue[] | PyDict;

/** A Python dict with string keys, in insertion order. */
export interface PyDict {
  readonly [key: string]: PyValue;
}

/** Options of {@link pyJsonDumps}, named as in Python's `json.dumps`. */
export interface PyJsonOptions {
  /** `sort_keys`: default false (insertion order). */
  readonly sortKeys?: boolean;
  /** `separators`: default `[",", ":"]`, the prototype's compact form. */
  readonly separators?: readonly [string, string];
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"', 0x5c: "\\\\", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t",
};

/** A string as `json.dumps` writes it with `ensure_ascii=True`: every code unit outside ' '..'~' escaped. */
export function pyJsonString(s: string): string {
  let out = '"';
  let run = 0; // start of the pending run of plain characters
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(run, i) + (SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`);
    run = i + 1;
  }
  return `${out}${s.slice(run)}"`;
}

/**
 * Python's `repr(float)`: the shortest digits that round-trip (as JS finds
 * them), in fixed notation for decimal exponents -4..15, else `d.ddde±XX`.
 */
export function pyFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`json.dumps would write ${x} as a non-standard token`);
  const [mant = "", expText = "0"] = x.toExponential().split("e");
  const exp = Number(expText);
  const digits = mant.replace("-", "").replace(".", "");
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    return `${sign}${whole}.${digits.slice(exp + 1) || "0"}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

function pyNumber(v: number): string {
  if (Number.isInteger(v) && !Object.is(v, -0)) return BigInt(v).toString();
  return pyFloatRepr(v);
}

/** Code point order, as Python compares str (UTF-16 order differs only above U+FFFF). */
function compareCodePoints(a: string, b: string): number {
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = (x.value.codePointAt(0) as number) - (y.value.codePointAt(0) as number);
    if (d !== 0) return d;
  }
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function dictKeys(d: PyDict, sortKeys: boolean): string[] {
  const keys = Object.keys(d);
  // JS objects list integer-like keys first, whatever the insertion order: refuse rather than misencode.
  if (!sortKeys && keys.some((k) => ARRAY_INDEX.test(k) && Number(k) < 2 ** 32 - 1)) {
    throw new RangeError("a dict with integer-like keys cannot keep Python's insertion order in a JS object");
  }
  return sortKeys ? keys.sort(compareCodePoints) : keys;
}

/** `json.dumps(value, separators=…, sort_keys=…)` with the defaults ensure_ascii=True, allow_nan=True. */
export function pyJsonDumps(value: PyValue, options: PyJsonOptions = {}): string {
  const [item, kv] = options.separators ?? [",", ":"];
  const sortKeys = options.sortKeys ?? false;
  const write = (v: PyValue): string => {
    if (v === null) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return pyNumber(v);
    if (typeof v === "string") return pyJsonString(v);
    if (Array.isArray(v)) return `[${(v as readonly PyValue[]).map(write).join(item)}]`;
    const d = v as PyDict;
    return `{${dictKeys(d, sortKeys).map((k) => `${pyJsonString(k)}${kv}${write(d[k] as PyValue)}`).join(item)}}`;
  };
  return write(value);
}

/** A CBOR value of a submission as the prototype would hold it (no byte strings in Kobo answers). */
export function toPyValue(v: CborValue): PyValue {
  if (v instanceof Uint8Array) throw new TypeError("the prototype's JSON has no byte strings");
  if (Array.isArray(v)) return v.map(toPyValue);
  if (v !== null && typeof v === "object") {
    const out: Record<string, PyValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toPyValue(x);
    return out;
  }
  return v;
}

/** One prototype event (`meshlog.event.Event`). */
export interface SeedEvent {
  readonly author: string;
  readonly seq: number;
  readonly hlc: readonly [number, number];
  readonly kind: string;
  readonly payload: PyDict;
  readonly prev: string;
  readonly id: string;
}

/** `Event._hash_fields`: SHA-256 over the sorted-key JSON of the event, first 16 bytes in hex. */
export function seedEventId(e: Omit<SeedEvent, "id">): string {
  const canonical = pyJsonDumps(
    { author: e.author, seq: e.seq, hlc: [...e.hlc], kind: e.kind, payload: e.payload, prev: e.prev },
    { sortKeys: true },
  );
  return createHash("sha256").update(canonical, "utf8").digest("hex").slice(0, 32);
}

/** `Event.to_wire()`: the one-letter keys, in the prototype's order. */
export function seedToWire(e: SeedEvent): PyDict {
  return { a: e.author, s: e.seq, h: [...e.hlc], k: e.kind, p: e.payload, v: e.prev, i: e.id };
}

/** `Node._encode({"t": "events", "e": [...]})` as bytes. */
export function seedEventsMessage(events: readonly SeedEvent[]): Buffer {
  return Buffer.from(pyJsonDumps({ t: "events", e: events.map(seedToWire) }), "utf8");
}

/** One prototype node's feed: `Node.emit` with the HLC stamps the caller supplies. */
export class SeedFeed {
  private seq = 0;
  private prev = "";

  /** `author` is what the prototype's CLI uses: the node's 32-hex-char RNS identity hash. */
  constructor(readonly author: string) {}

  /** The feed's next event, chained to the previous one by its id. */
  emit(kind: string, payload: PyDict, hlc: Hlc): SeedEvent {
    const parts = { author: this.author, seq: this.seq + 1, hlc: [hlc.wall, hlc.counter] as const, kind, payload, prev: this.prev };
    const ev: SeedEvent = { ...parts, id: seedEventId(parts) };
    this.seq = ev.seq;
    this.prev = ev.id;
    return ev;
  }

  /**
   * A new submission as the prototype records it (`create_record` then
   * `set_field` per answer), each event stamped by `tick`.
   */
  submission(record: string, form: string, fields: CborMap, tick: () => Hlc): SeedEvent[] {
    const out = [this.emit("record.create", { record_id: record, form, by: this.author }, tick())];
    for (const [field, value] of Object.entries(fields)) {
      out.push(this.emit("field.set", { record_id: record, field, value: toPyValue(value) }, tick()));
    }
    return out;
  }
}
