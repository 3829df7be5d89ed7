import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPacer } from "../src/radio/pacer.js";

describe("pacer", () => {
  it("lets a burst go at once, then earns airtime at the duty fraction", () => {
    const clock = { now: 0 };
    const pacer = createPacer({ now: () => clock.now }, 0.01, 6_000);
    assert.equal(pacer.readyAt(6_000), 0, "a full bucket");
    pacer.spend(6_000);
    assert.equal(pacer.readyAt(1_000), 100_000, "1 s of airtime takes 100 s to earn at 1 %");
    clock.now = 100_000;
    assert.equal(pacer.readyAt(1_000), 100_000);
  });

  it("never holds more than the burst, and a message longer than it waits only for a full bucket", () => {
    const clock = { now: 0 };
    const pacer = createPacer({ now: () => clock.now }, 0.1, 2_000);
    clock.now = 10_000_000;
    pacer.spend(2_000);
    assert.equal(pacer.readyAt(2_000), 10_020_000, "the long quiet spell earned no more than the burst");
    clock.now = 10_020_000;
    assert.equal(pacer.readyAt(5_000), 10_020_000, "longer than the burst: a full bucket is enough");
  });

  it("an unpaced frame spent below zero is paid back before the next paced one", () => {
    const clock = { now: 0 };
    const pacer = createPacer({ now: () => clock.now }, 0.5, 1_000);
    pacer.spend(3_000);
    assert.equal(pacer.readyAt(500), 5_000, "2 s of debt and 0.5 s more at 50 %");
  });
});
