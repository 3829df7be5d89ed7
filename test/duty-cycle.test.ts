import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Clock } from "../src/radio/clock.js";
import {
  DEFAULT_DUTY_CYCLE,
  EU_863_0_1_PERCENT,
  EU_868_0_1_PERCENT,
  EU_868_1_PERCENT,
  EU_869_10_PERCENT,
  NO_DUTY_CYCLE,
  createDutyCycle,
} from "../src/radio/duty-cycle.js";

/** A clock the test moves by hand; the budget only reads `now`. */
function manualClock(): Clock & { set(t: number): void } {
  let t = 0;
  return {
    now: () => t,
    at: () => () => {},
    set(next) {
      t = next;
    },
  };
}

interface Interval {
  start: number;
  end: number;
}

/** Largest airtime inside any window [t − windowMs, t]; the load is piecewise linear, so the corners suffice. */
function worstWindow(intervals: readonly Interval[], windowMs: number): number {
  const ends = intervals.flatMap((i) => [i.start, i.end, i.start + windowMs, i.end + windowMs]);
  let worst = 0;
  for (const t of ends) {
    const load = intervals.reduce((sum, i) => sum + Math.max(0, Math.min(i.end, t) - Math.max(i.start, t - windowMs)), 0);
    worst = Math.max(worst, load);
  }
  return worst;
}

describe("duty-cycle budget", () => {
  it("defaults to 1 % of a rolling hour (36 s)", () => {
    const budget = createDutyCycle({ clock: manualClock() });
    assert.equal(budget.budgetMs, 36_000);
    assert.equal(budget.windowMs, 3_600_000);
    assert.equal(DEFAULT_DUTY_CYCLE, EU_868_1_PERCENT);
    assert.deepEqual(
      [EU_868_1_PERCENT, EU_869_10_PERCENT, EU_868_0_1_PERCENT, EU_863_0_1_PERCENT, NO_DUTY_CYCLE].map((p) => p.fraction),
      [0.01, 0.1, 0.001, 0.001, 1],
    );
  });

  it("allows sending until the budget is spent, then waits for the oldest airtime to slide out", () => {
    const clock = manualClock();
    const budget = createDutyCycle({ clock, fraction: 0.1, windowMs: 1_000 });
    assert.ok(budget.canSend(100));
    budget.record(100);
    clock.set(100);
    assert.equal(budget.used(), 100);
    assert.equal(budget.left(), 0);
    assert.equal(budget.canSend(50), false);
    // At 1000 the window [50, 1050] holds 50 ms of the old frame and all 50 of the new one.
    assert.equal(budget.earliestStart(50), 1_000);
    clock.set(999);
    assert.equal(budget.canSend(50), false);
    clock.set(1_000);
    assert.ok(budget.canSend(50));
  });

  it("books airtime recorded during a running transmission after it, as a half-duplex radio sends it", () => {
    const clock = manualClock();
    const budget = createDutyCycle({ clock, fraction: 0.4, windowMs: 1_000 });
    budget.record(200);
    budget.record(200);
    clock.set(300);
    assert.equal(budget.used(), 400, "booked airtime still to come counts");
    clock.set(400);
    // Booked 0..200 and 200..400: a 100 ms frame at 1000 makes [100, 1100] hold 100 + 200 + 100.
    assert.equal(budget.earliestStart(100), 1_000);
  });

  it("lets a frame start while another runs when the budget allows both", () => {
    const clock = manualClock();
    const budget = createDutyCycle({ clock, fraction: 0.5, windowMs: 1_000 });
    budget.record(100);
    clock.set(10);
    assert.ok(budget.canSend(100));
    assert.equal(budget.earliestStart(100), 10);
  });

  it("never allows a frame longer than the whole budget", () => {
    const budget = createDutyCycle({ clock: manualClock(), fraction: 0.01, windowMs: 10_000 });
    assert.equal(budget.earliestStart(101), Infinity);
    assert.equal(budget.canSend(101), false);
    assert.ok(budget.canSend(100));
    assert.throws(() => budget.record(-1), RangeError);
    assert.throws(() => createDutyCycle({ clock: manualClock(), fraction: 0 }), RangeError);
  });

  it("keeps a per-minute history of the last hour", () => {
    const clock = manualClock();
    const budget = createDutyCycle({ clock });
    clock.set(7_200_000);
    budget.record(1_000);
    clock.set(7_200_000 + 90_000);
    budget.record(500);
    clock.set(7_200_000 + 120_000);
    const history = budget.history();
    assert.equal(history.length, 60);
    assert.equal(history.at(-1)?.startMs, 7_260_000);
    assert.deepEqual(history.slice(-2).map((b) => b.airtimeMs), [1_000, 500]);
    assert.equal(history.reduce((s, b) => s + b.airtimeMs, 0), budget.used());
  });

  it("never exceeds the fraction over any window when senders honour canSend and earliestStart", () => {
    const step = fc.record({
      gapMs: fc.double({ min: 0, max: 4_000, noNaN: true }),
      share: fc.double({ min: 0.001, max: 1.1, noNaN: true }),
      wait: fc.boolean(),
    });
    const scenario = fc.record({
      fraction: fc.constantFrom(0.01, 0.1, 0.33, 1),
      steps: fc.array(step, { minLength: 1, maxLength: 120 }),
    });
    fc.assert(
      fc.property(scenario, ({ fraction, steps }) => {
        const windowMs = 10_000;
        const clock = manualClock();
        const budget = createDutyCycle({ clock, fraction, windowMs });
        const sent: Interval[] = [];
        let now = 0;
        for (const { gapMs, share, wait } of steps) {
          now += gapMs;
          clock.set(now);
          const airtime = share * budget.budgetMs;
          if (!budget.canSend(airtime)) {
            const at = budget.earliestStart(airtime);
            if (!wait || at === Infinity) continue;
            assert.ok(at > now);
            if (at - 0.01 > now) {
              clock.set(at - 0.01);
              assert.equal(budget.canSend(airtime), false, "earliestStart is the earliest");
            }
            now = at;
            clock.set(now);
            assert.ok(budget.canSend(airtime), "sendable at earliestStart");
          }
          const start = Math.max(now, sent.at(-1)?.end ?? now);
          sent.push({ start, end: start + airtime });
          budget.record(airtime);
        }
        const worst = worstWindow(sent, windowMs);
        assert.ok(worst <= budget.budgetMs * (1 + 1e-9), `worst window ${worst} > ${budget.budgetMs}`);
      }),
      { numRuns: 300, seed: 20240601 },
    );
  });
});
