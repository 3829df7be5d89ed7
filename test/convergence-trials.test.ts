/**
 * The seed prototype's acceptance test, now over a lossy medium: 200
 * randomized trials of 5–7 sites that collect records while islanded, edit
 * each other's records concurrently, delete some, and heal in stages under
 * 20 % loss, duplication and reordering. Every site must end with the same
 * frontier and a byte-identical view.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runTrial } from "./support/partition-trial.js";

const TRIALS = 200;

describe(`${TRIALS} randomized partition trials (5–7 sites, 20 % loss, duplication, reordering)`, () => {
  it("every site ends with identical frontiers and byte-identical views", () => {
    const failures: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const r = runTrial(trial);
      const complete = r.held.every((h) => h === r.expected);
      if (!r.converged || !r.frontiersEqual || !r.viewsEqual || !complete) {
        failures.push(`trial ${trial}: converged=${r.converged} frontiers=${r.frontiersEqual} views=${r.viewsEqual} expected=${r.expected} held=${r.held.join(",")}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
