/**
 * The hardening run of the station fuzz (test/support/station-fuzz-run.ts):
 * hundreds of thousands of hostile frames into one station, with its memory
 * sampled, every check of the quick fuzz, and a row in the hardening ledger
 * with the counts. One file per station (sealed, unsealed) so the two run in
 * parallel.
 *
 * Frames per station: HARDENING_FRAMES below (the default run: a million in
 * all), MESHLOGD_SOAK=1 for a million each, MESHLOGD_FUZZ_FRAMES=<n> for any
 * other count. STATION_FUZZ_SEED=<n> replays a run.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MB, summarizeMemory, type MemorySummary } from "../../support/memory-probe.js";
import { assertAirWellFormed, assertCounted, assertDeepPaths, assertStoreKept, describeRun } from "../../support/station-fuzz-checks.js";
import { runStationFuzz, type FuzzRun } from "../../support/station-fuzz-run.js";
import { recordHardening } from "../ledger.js";

/** Frames per station in the default run: two stations make the million of the issue. */
export const HARDENING_FRAMES = 500_000;
/** Frames per station with MESHLOGD_SOAK=1. */
export const SOAK_FRAMES = 1_000_000;
/**
 * Largest resident set allowed: the process holds Node itself, the test's
 * three in-memory SQLite stores (16 MB page cache each at most) and the
 * station; about 130 MB measured, so a leak of a few hundred bytes a frame
 * breaks it.
 */
const MAX_RSS = 320 * MB;
/** Largest retained V8 heap: about 15 MB measured at half a million frames. */
const MAX_HEAP = 64 * MB;
/**
 * Retained heap the run may add after warm-up: bounded tables filling up
 * (the heard-station table holds at most 64 stations); anything retaining
 * ~30 bytes a frame or more breaks this.
 */
const MAX_HEAP_GROWTH = 16 * MB;
/** What the second half of the run may add once nothing grows with traffic: garbage the collector keeps in reserve. */
const FLAT_HEAP_GROWTH = 1 * MB;

export function hardeningFrames(env: NodeJS.ProcessEnv = process.env): number {
  if (env.MESHLOGD_FUZZ_FRAMES) return Number(env.MESHLOGD_FUZZ_FRAMES);
  return env.MESHLOGD_SOAK === "1" ? SOAK_FRAMES : HARDENING_FRAMES;
}

const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

function ledgerRow(run: FuzzRun, frames: number, sealed: boolean, memory: MemorySummary, failures: readonly string[], ms: number) {
  const t = run.target;
  const s = t.codec.stats;
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  const nodeDropped = Object.values(t.node.stats.dropped).reduce((a, b) => a + b, 0);
  const insider = [...run.byGenerator].filter(([name]) => /^fork|^forgery|non-member/.test(name)).reduce((a, [, n]) => a + n, 0);
  recordHardening({
    area: "hostile input",
    tried:
      `${frames} hostile frames into ${sealed ? "a sealed" : "an unsealed"} station in ${(ms / 1000).toFixed(0)} s: random bytes, bit flips, truncations, ` +
      `replays, foreign networks, CBOR bombs, absurd and partial fragments, nacks, mutated sync messages, and ${insider} frames of forks, ` +
      `forgeries and a non-member's signed events (${run.byGenerator.size} generators)`,
    held: failures.length > 0 ? `FAILED: ${failures.join("; ")}` :
      `no throw; every frame counted: codec dropped ${dropped} by ${Object.keys(s.dropped).length} reasons, node dropped ${nodeDropped}, ` +
      `store refused ${JSON.stringify(t.ingests.refused)}; frontier, events, view unchanged; ${t.store.forks().length} forks kept as evidence; ` +
      `bounds kept; retained heap +${mb(memory.heapGrowth)} (max ${mb(memory.maxHeap)}), RSS max ${mb(memory.maxRss)}; heard table ${run.maxHeard} (unbounded: open bug)`,
    ok: failures.length === 0,
  });
}

export function describeHardeningFuzz(sealed: boolean): void {
  const frames = hardeningFrames();
  const seed = Number(process.env.STATION_FUZZ_SEED ?? 20261121);
  describe(`hardening: ${frames} hostile frames into ${sealed ? "a sealed" : "an unsealed"} station (seed ${seed})`, () => {
    let run: FuzzRun | undefined;
    let ms = 0;
    const failures: string[] = [];
    const check = (name: string, fn: () => void) => () => {
      try {
        if (!run) throw new Error("the run did not finish");
        fn();
      } catch (err) {
        failures.push(name);
        throw err;
      }
    };
    before(async () => {
      const started = performance.now();
      try {
        run = await runStationFuzz({ sealed, seed, frames });
      } catch (err) {
        failures.push(`the run: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300));
        throw err;
      }
      ms = performance.now() - started;
    });
    after(async () => {
      if (run) ledgerRow(run, frames, sealed, summarizeMemory(run.memory, frames), failures, ms);
      else recordHardening({ area: "hostile input", tried: `${frames} hostile frames into ${sealed ? "a sealed" : "an unsealed"} station`, held: `FAILED: ${failures.join("; ")}`, ok: false });
      await run?.target.station.stop();
      await run?.exchange.net.close();
    });
    const r = (): FuzzRun => run as FuzzRun;

    it("counts every frame by reason, and the counters add up (codec, node, store)", check("counting", () => {
      assertCounted(r(), frames);
    }));
    it("reaches every layer: reassembly, nacks, parsing, wire items, ingest, forks, forgeries", check("deep paths", () => {
      assertDeepPaths(r(), sealed, frames / 1_000);
    }));
    it("changes no view: frontier, events and view as before; only the pool's forks kept", check("store kept", () => {
      assertStoreKept(r());
    }));
    it("keeps its bounds, sends well-formed frames within the duty cycle", check("bounds and air", () => {
      assertAirWellFormed(r());
    }));
    it("keeps memory bounded: retained heap and resident set sampled through the run", check("memory", () => {
      const m = summarizeMemory(r().memory, frames);
      assert.ok(m.maxRss <= MAX_RSS, `resident set reached ${mb(m.maxRss)}`);
      assert.ok(m.maxHeap <= MAX_HEAP, `retained heap reached ${mb(m.maxHeap)}`);
      assert.ok(m.heapGrowth <= MAX_HEAP_GROWTH, `retained heap grew by ${mb(m.heapGrowth)}`);
    }));
    it("diagnostics", (ctx) => {
      const m = run ? summarizeMemory(run.memory, frames) : undefined;
      for (const line of run ? describeRun(run) : []) ctx.diagnostic(line);
      if (m) ctx.diagnostic(`memory: ${m.samples} samples; retained heap +${mb(m.heapGrowth)} after warm-up, max ${mb(m.maxHeap)}; RSS max ${mb(m.maxRss)}; ${(ms / 1000).toFixed(1)} s`);
    });
    // The heard-station table is capped (MAX_HEARD_STATIONS): forged sender ids no longer grow it.
    it("retains no more heap in the second half of the run than in a steady state", () => {
      const samples = r().memory;
      const half = samples.filter((s) => s.at >= frames / 2);
      const growth = (half[half.length - 1]?.heapUsed ?? 0) - Math.min(...half.map((s) => s.heapUsed));
      assert.ok(growth <= FLAT_HEAP_GROWTH, `retained heap grew by ${mb(growth)} over the second half (heard table: ${r().maxHeard})`);
    });
  });
}
