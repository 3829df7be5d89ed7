/**
 * Hostile air against a whole station (sync node, air codec, duty cycle,
 * scheduler), sealed and unsealed: 100 000 frames each, drawn from a real
 * exchange between three sites and mutated at every layer, with forks,
 * forgeries and a non-member's events from a key holder (see
 * support/station-fuzz-run.ts). The station under test is one of those sites,
 * so it already holds every genuine event: nothing may change its store but
 * fork evidence. Nothing may throw, memory must stay within the modules'
 * bounds, every frame must be counted (decoded or dropped by reason) and the
 * counters add up. The hardening suite runs the same for a million frames
 * (test/hardening/hostile-frames.test.ts).
 *
 * STATION_FUZZ_SEED=<n> replays a run with another seed.
 */
import assert from "node:assert/strict";
import { MAX_HEARD_STATIONS } from "../src/radio/heard-stations.js";
import { after, before, describe, it } from "node:test";
import { assertAirWellFormed, assertCounted, assertDeepPaths, assertStoreKept, describeRun } from "./support/station-fuzz-checks.js";
import { runStationFuzz, type FuzzRun } from "./support/station-fuzz-run.js";

const SEED = Number(process.env.STATION_FUZZ_SEED ?? 20260611);
const FRAMES = 100_000;
/** Strangers a station may remember hearing besides the members: a bound that does not grow with what it is sent. */
const HEARD_STRANGERS = 64;

for (const sealed of [true, false]) {
  describe(`${FRAMES} hostile frames into a ${sealed ? "sealed" : "unsealed"} station (seed ${SEED})`, () => {
    let run: FuzzRun;
    before(async () => {
      run = await runStationFuzz({ sealed, seed: SEED, frames: FRAMES });
    });
    after(async () => {
      await run?.target.station.stop();
      await run?.exchange.net.close();
    });

    it("counts every frame, decoded or dropped by reason, and the counters add up", (ctx) => {
      for (const line of describeRun(run)) ctx.diagnostic(line);
      assertCounted(run, FRAMES);
    });

    it("reaches the deep paths: reassembly, nacks, decoding, parsing, wire items, ingest, forks", () => {
      assertDeepPaths(run, sealed, 100);
    });

    it("leaves the store as it was: frontier, events, view; nothing applied; only the pool's forks recorded", () => {
      assertStoreKept(run);
    });

    it("stays within its memory bounds, and what it sent is well-formed and within the duty cycle", () => {
      assertAirWellFormed(run);
    });

    // Forged sender ids (anyone's on an unsealed network, a key holder's on a sealed one) must not grow it without bound.
    it("keeps its heard-station table bounded", () => {
      const members = run.target.store.members().length;
      assert.ok(run.maxHeard <= Math.max(MAX_HEARD_STATIONS, members + HEARD_STRANGERS), `the heard-station table grew to ${run.maxHeard} entries for ${members} members`);
      assert.ok(run.maxHeard >= MAX_HEARD_STATIONS / 2, "the corpus forged enough sender ids to test the bound");
    });
  });
}
