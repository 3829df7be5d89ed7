/**
 * A form server unreachable for hours, in virtual time (node:test's mock
 * timers drive the site's retry timer; HTTP to the double stays real): the
 * site keeps trying to open the server, never further apart than
 * SERVER_RETRY_MAX_MS, its status names the fault the whole time, and once
 * the server answers the site opens within that cap and takes in what people
 * submitted during the outage.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createKoboDouble } from "../../src/bridge/doubles/kobo-double.js";
import { generateSigner } from "../../src/engine/crypto.js";
import { recordId } from "../../src/engine/ids.js";
import { silentLogger } from "../../src/log/logger.js";
import { parseSiteConfig } from "../../src/service/site-config.js";
import { siteSummary } from "../../src/service/site-status.js";
import { createSite, SERVER_RETRY_MAX_MS } from "../../src/service/site.js";
import { householdAsset, TOKEN } from "../support/bridge-sites.js";
import { recordHardening } from "./ledger.js";

const ASSET = "aHouseholdSurveyKoboU1";
const OUTAGE_MS = 3 * 3_600_000;
const TICK_MS = 1_000;
/** Loop turns given to real I/O after each virtual second: a refused connection on loopback needs a few. */
const IO_TURNS = 20;

describe("hardening: a form server unreachable for hours", () => {
  it("retries stay within the cap, the status says why throughout, and the site opens soon after the server returns", async (t) => {
    const kobo = createKoboDouble({ token: TOKEN });
    kobo.addAsset(householdAsset(ASSET));
    const url = await kobo.start(0);
    const config = parseSiteConfig({
      site: { name: "hours" }, network: { name: "n" }, server: { kind: "kobo", url, token: TOKEN },
      mappings: [{ type: "household", source: { kobo: { asset: ASSET } } }],
    });
    kobo.faults.set({ kind: "down" });
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let virtual = 0;
    const site = createSite({ config, signer: generateSigner().signer, dataDir: ":memory:", log: silentLogger, manualPolls: true, now: () => 1_790_000_000_000 + virtual });
    const tried = `KoboToolbox refusing every connection for ${OUTAGE_MS / 3_600_000} hours (virtual time) while 3 submissions were made, then answering`;
    try {
      await site.start();
      const attempts: number[] = [];
      let seen = kobo.faults.applied.down;
      const step = async () => {
        t.mock.timers.tick(TICK_MS);
        virtual += TICK_MS;
        for (let k = 0; k < IO_TURNS; k++) await new Promise((r) => setImmediate(r));
        if (kobo.faults.applied.down !== seen) attempts.push(virtual);
        seen = kobo.faults.applied.down;
      };
      const ids: string[] = [];
      while (virtual < OUTAGE_MS) {
        await step();
        if (virtual % 3_600_000 === 0) ids.push(String(kobo.submitLocal(ASSET, { village: "north", "hh/head_name": `Hour ${virtual / 3_600_000}` })["meta/rootUuid"]));
        const st = siteSummary(site, 1_790_000_000_000 + virtual);
        assert.ok(st.server.state === "unreachable" && st.attention.some((a) => a.startsWith("The form server cannot be reached: ")), `status at ${virtual} ms`);
      }
      const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
      assert.ok(attempts.length >= OUTAGE_MS / SERVER_RETRY_MAX_MS - 1, `${attempts.length} attempts in ${OUTAGE_MS} ms`);
      assert.ok(Math.max(...gaps) <= SERVER_RETRY_MAX_MS + 2 * TICK_MS, `retries ${Math.max(...gaps)} ms apart`);
      kobo.faults.clear();
      const back = virtual;
      while (site.server().state !== "ok" && virtual - back <= SERVER_RETRY_MAX_MS + 2 * TICK_MS) await step();
      assert.equal(site.server().state, "ok", `opened within ${SERVER_RETRY_MAX_MS} ms of the server's return`);
      await site.pollNow();
      assert.deepEqual(siteSummary(site).attention, []);
      for (const id of ids) assert.ok(site.store.getRecord(recordId(id)), `${id} taken in`);
      recordHardening({
        area: "upstream faults", tried,
        held: `${attempts.length} attempts, at most ${Math.max(...gaps) / 1000} s apart; status said "cannot be reached" with the socket error throughout; opened ${(virtual - back) / 1000} s after the server returned; the 3 submissions taken in`,
        ok: true,
      });
    } catch (err) {
      recordHardening({ area: "upstream faults", tried, held: `FAILED: ${String(err).slice(0, 200)}`, ok: false });
      throw err;
    } finally {
      t.mock.timers.reset();
      await site.stop();
      await kobo.stop();
    }
  });
});
