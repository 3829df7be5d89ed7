import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_HLC_COUNTER, MAX_HLC_WALL } from "../src/engine/constants.js";
import { compareHlc, createHlcClock, isValidHlc, type Hlc } from "../src/engine/hlc.js";

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

  it("never adopts a stamp that would leave no later stamp, whatever the bound", () => {
    const clock = createHlcClock({ now: () => 1_000 });
    assert.equal(clock.observe({ wall: MAX_HLC_WALL, counter: MAX_HLC_COUNTER }), "skew-refused");
    assert.equal(clock.observe({ wall: MAX_HLC_WALL, counter: MAX_HLC_COUNTER - 1 }), "skew-refused");
    assert.deepEqual(clock.tick(), { wall: 1_000, counter: 0 });
    // A full counter below the last wall carries into the wall, as a local tick does.
    assert.equal(clock.observe({ wall: 5_000, counter: MAX_HLC_COUNTER }), "advanced");
    assert.deepEqual(clock.last(), { wall: 5_001, counter: 0 });
    assert.ok(isValidHlc(clock.tick()));
  });

  it("refuses to adopt a remote stamp beyond the skew bound", () => {
    const clock = createHlcClock({ now: () => 1_000, maxForwardSkewMs: 60_000 });
    assert.equal(clock.observe({ wall: 1_000 + 86_400_000, counter: 0 }), "skew-refused");
    assert.equal(clock.tick().wall, 1_000);
  });
});
