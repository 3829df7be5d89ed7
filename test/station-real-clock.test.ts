/**
 * A real clock moves while the station asks the budget and the pacer when it
 * may send. On virtual time it does not, which hid a livelock: the station
 * compared "allowed now" (read a moment later) with its stale `now`, put the
 * start off, and never sent a frame over a real RNode. Here the clock moves
 * by a microsecond at every read.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateSigner } from "../src/engine/crypto.js";
import { seededRandom } from "../src/engine/random.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { recordId, recordType } from "../src/engine/ids.js";
import type { Clock } from "../src/radio/clock.js";
import { createLoRaMedium } from "../src/radio/lora-medium.js";
import { createRadioStack } from "../src/radio/radio-stack.js";
import { createSimLink } from "../src/radio/sim-link.js";
import { VirtualScheduler } from "../src/radio/virtual-time.js";
import { REFERENCE_SETTINGS } from "../src/demo/radio-network.js";

/** Virtual time that also advances 1 µs at every now(): as performance.now() does between two reads. */
function tickingClock(scheduler: VirtualScheduler): Clock {
  let drift = 0;
  return {
    now: () => scheduler.now() + (drift += 0.001),
    at: (at, run) => {
      let cancelled = false;
      scheduler.at(Math.max(scheduler.now(), at - drift), () => {
        if (!cancelled) run();
      });
      return () => void (cancelled = true);
    },
  };
}

describe("a station on a clock that moves between reads", () => {
  it("sends, and two stations converge", async () => {
    const scheduler = new VirtualScheduler(1_767_225_600_000);
    const clock = tickingClock(scheduler);
    const random = seededRandom(5);
    const medium = createLoRaMedium({ clock, random });
    const signers = [generateSigner().signer, generateSigner().signer];
    const sites = signers.map((signer, i) => {
      const store = openStore({ path: ":memory:", signer, now: () => scheduler.now(), verifyPool: null });
      store.addMember((signers[1 - i] as typeof signer).author, `s${1 - i}`);
      const link = createSimLink({ medium, id: `s${i}`, settings: REFERENCE_SETTINGS, clock, random });
      const stack = createRadioStack({ store, signer, link, clock, random, networkId: 7, networkKey: null, dutyFraction: 0.01, wallNow: () => scheduler.now() });
      return { store, ...stack };
    });
    for (const s of sites) await s.station.start();
    sites[0]?.store.append({ kind: "upsert", record: recordId("uuid:one"), type: recordType("t"), base: null, fields: { a: 1 } });
    sites[0]?.station.kick();
    // A livelock spins at one instant of virtual time: bound the steps so it fails instead of hanging.
    let steps = 0;
    scheduler.run({ until: scheduler.now() + 3_600_000, stop: () => ++steps > 200_000 || sites[1]?.store.getRecord(recordId("uuid:one")) !== undefined });
    assert.ok(steps <= 200_000, "the stations spun without time passing (a livelock)");
    assert.ok((sites[0]?.station.status().framesSent ?? 0) > 0, "the station sent nothing");
    assert.equal(sites[1]?.store.getRecord(recordId("uuid:one"))?.fields.get("a")?.value, 1);
    for (const s of sites) await s.station.stop();
  });
});
