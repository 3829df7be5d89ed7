import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createHlcClock } from "../src/engine/hlc.js";
import { planUpserts } from "../bench/fixtures.js";
import { pyFloatRepr, pyJsonDumps, SeedFeed, seedEventsMessage, seedToWire, type PyValue } from "../src/baseline/seed-encoding.js";

const hasPython = !spawnSync("python3", ["--version"]).error;

/**
 * Runs Python's json.dumps on each value (handed over as JSON: integral
 * numbers arrive as ints, others as floats) and returns, per value, the compact
 * insertion-order dump, the compact sorted dump, and the prototype's event id
 * of the value taken as an event's fields.
 */
function pythonDumps(values: readonly PyValue[]): { plain: string; sorted: string }[] {
  const script = [
    "import json, sys",
    "for v in json.loads(sys.stdin.read()):",
    "    print(json.dumps(v, separators=(',', ':')))",
    "    print(json.dumps(v, sort_keys=True, separators=(',', ':')))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", script], { input: JSON.stringify(values), encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n");
  return values.map((_, i) => ({ plain: lines[2 * i] ?? "", sorted: lines[2 * i + 1] ?? "" }));
}

/** Numbers on which Python and our encoder must agree: ints, and floats with a fraction. */
const pyNumber = fc.oneof(
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(0.1, 1e-5, 0.0001, 1.5e16, 123456789.123, 1e-300, 2.5e-7, 3002399751580330.5),
);
const key = fc.string({ unit: "binary", maxLength: 12 }).filter((k) => !/^(0|[1-9][0-9]*)$/.test(k) && k !== "__proto__");
const { value: pyValue } = fc.letrec<{ value: PyValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    pyNumber,
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.constantFrom("\ud800", "a\udfffb", "\u007f\u0000\u001f", "Aïcha Traoré 😀", "tab\tquote\"back\\slash/"),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }),
  ),
}));

describe("seed prototype JSON encoding", { skip: hasPython ? false : "python3 is not installed" }, () => {
  it("writes floats as Python's repr does", () => {
    const xs = [0.1, 1e-5, 1e-4, 1.5e16, 1e15 + 0.5, 123.456, -2.5e-7, 5e-324, 1.7976931348623157e308];
    const r = spawnSync("python3", ["-c", "import sys\nfor x in sys.argv[1:]: print(repr(float(x)))", ...xs.map(String)], { encoding: "utf8" });
    assert.deepEqual(xs.map(pyFloatRepr), r.stdout.trim().split("\n"));
  });

  it("matches json.dumps (compact, ensure_ascii, insertion and sorted key order) on arbitrary values", () => {
    const values = fc.sample(pyValue, { numRuns: 300, seed: 42 });
    const expected = pythonDumps(values);
    values.forEach((v, i) => {
      assert.equal(pyJsonDumps(v), expected[i]?.plain, `value ${i}`);
      assert.equal(pyJsonDumps(v, { sortKeys: true }), expected[i]?.sorted, `value ${i} sorted`);
    });
  });

  it("encodes the prototype's events message and ids for a generated Kobo submission byte for byte", () => {
    const [p] = [...planUpserts({ seed: 3, authors: 1, events: 1, editShare: 0 })];
    assert.ok(p);
    const clock = createHlcClock({ now: () => p.hlc.wall });
    const events = new SeedFeed("0123456789abcdef0123456789abcdef").submission(p.body.record, p.body.type, p.body.fields, () => clock.tick());
    assert.equal(events.length, 21);
    // Python rebuilds each event from its parts, computes the id as Event._hash_fields does, and encodes the message.
    const script = [
      "import hashlib, json, sys",
      "evs = json.loads(sys.stdin.read())",
      "prev = ''",
      "wire = []",
      "for e in evs:",
      "    canon = {'author': e['a'], 'seq': e['s'], 'hlc': list(e['h']), 'kind': e['k'], 'payload': e['p'], 'prev': prev}",
      "    i = hashlib.sha256(json.dumps(canon, sort_keys=True, separators=(',', ':')).encode('utf-8')).hexdigest()[:32]",
      "    wire.append({'a': e['a'], 's': e['s'], 'h': list(e['h']), 'k': e['k'], 'p': e['p'], 'v': prev, 'i': i})",
      "    prev = i",
      "sys.stdout.write(json.dumps({'t': 'events', 'e': wire}, separators=(',', ':')))",
    ].join("\n");
    const input = JSON.stringify(events.map((e) => ({ a: e.author, s: e.seq, h: e.hlc, k: e.kind, p: e.payload })));
    const r = spawnSync("python3", ["-c", script], { input, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(seedEventsMessage(events).toString("utf8"), r.stdout);
    assert.deepEqual(Object.keys(seedToWire(events[0]!)), ["a", "s", "h", "k", "p", "v", "i"]);
  });
});
