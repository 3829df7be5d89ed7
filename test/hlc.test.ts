import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareHlc, createHlcClock, type Hlc } from "../src/engine/hlc.js";

describe("HLC", () => {
  it("never goes backwards when the physical clock does", () => {
    const times = [1000, 1000, 999, 500, 1001, 1001];
    let i = 0;
    const clock = createHlcClock({ now: () => times[i++] ?? 1001 });
    const stamps: Hlc[] = times.map(() => clock.tick());
    for (let j = 1; j < stamps.length; j++) assert.ok(compareHlc(stamps[j]!, stamps[j - 1]!) > 0, `stamp ${j} ordered after ${j - 1}`);
    assert.deepEqual(stamps[3], { wall: 1000, counter: 3 });
  });

  it("orders a local event after every stamp it observed", () => {
    const clock = createHlcClock({ now: () => 10 });
    assert.equal(clock.observe({ wall: 5000, counter: 7 }), "advanced");
    assert.ok(compareHlc(clock.tick(), { wall: 5000, counter: 7 }) > 0);
  });

  it("resumes above the last persisted stamp after a restart", () => {
    const clock = createHlcClock({ now: () => 100, last: { wall: 200, counter: 4 } });
    assert.deepEqual(clock.tick(), { wall: 200, counter: 5 });
  });

  it("refuses to adopt a remote stamp beyond the skew bound", () => {
    const clock = createHlcClock({ now: () => 1_000, maxForwardSkewMs: 60_000 });
    assert.equal(clock.observe({ wall: 1_000 + 86_400_000, counter: 0 }), "skew-refused");
    assert.equal(clock.tick().wall, 1_000);
  });
});
