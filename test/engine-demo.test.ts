import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runEngineDemo } from "../src/demo/engine-demo.js";

describe("engine demo (the README's main command)", () => {
  for (const [seed, loss] of [[42, 0.2], [1, 0.4], [7, 0]] as const) {
    it(`converges with one winner everywhere (seed ${seed}, ${loss * 100} % loss)`, () => {
      const lines: string[] = [];
      const r = runEngineDemo({ log: (l) => lines.push(l), seed, loss });
      assert.equal(r.frontiersEqual, true);
      assert.equal(r.viewsEqual, true);
      assert.equal(r.winner, "AT_CAPACITY");
      assert.equal(r.sameWinnerEverywhere, true);
      assert.equal(r.passed, true);
      assert.ok(lines.some((l) => l.includes("lost a concurrent race")), "the conflict log shows base's losing edit");
      assert.ok(lines.some((l) => l.includes("Phase 2")), "progress is printed per healing stage");
    });
  }
});
