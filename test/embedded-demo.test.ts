/**
 * The embedded default: three sites, their Kobo doubles and admin pages,
 * virtual RNodes on the simulated air. In the test mode it converges and
 * stops by itself; in-process, every server ends with the same answers.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { startEmbeddedDemo } from "../src/demo/embedded-demo.js";
import { silentLogger } from "../src/log/logger.js";
import { waitFor } from "./support/site-process.js";

const run = promisify(execFile);
const MAIN = new URL("../src/cli/main.js", import.meta.url).pathname;

describe("the embedded default", () => {
  it("`meshlogd --exit-when-converged` starts three sites, says where to look, converges and stops by itself", async () => {
    const { stdout } = await run(process.execPath, [MAIN, "--speed", "20", "--port", "0", "--submissions", "2", "--exit-when-converged"], { timeout: 120_000 });
    const urls = stdout.match(/http:\/\/127\.0\.0\.1:\d+\//g) ?? [];
    assert.equal(urls.length, 3, stdout);
    assert.match(stdout, /converged: records on each site's server: team-north 4, base-camp 4, team-south 4 — all the same/);
    assert.match(stdout, /stopped\.$/m);
  });

  it("every site's server ends with the same answers, and each admin API says so", async () => {
    const demo = await startEmbeddedDemo({ speed: 20, basePort: 0, seed: 3, initialPerSite: 2, arrivals: false, out: () => {}, log: silentLogger });
    try {
      await waitFor("the three servers to agree", () => demo.converged(4), 90_000);
      const answers = demo.sites.map((s) =>
        s.kobo.submissions((s.running.site.config.mappings[0]?.source as { kobo: { asset: string } }).kobo.asset)
          .map((r) => `${String(r["meta/rootUuid"])} ${String(r.village)} ${String(r["hh/head_name"])} ${String(r.needs)}`)
          .sort(),
      );
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(answers[2], answers[0]);
      for (const s of demo.sites) {
        const status = (await (await fetch(new URL("api/status", s.running.http.url))).json()) as { site: { name: string }; store: { records: number }; links: { kind: string; state: string }[] };
        assert.equal(status.site.name, s.name);
        assert.equal(status.store.records, 4);
        assert.equal(status.links[0]?.kind, "rnode");
        assert.equal(status.links[0]?.state, "up");
      }
    } finally {
      await demo.stop();
    }
  });
});
