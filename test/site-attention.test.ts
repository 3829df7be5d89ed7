/**
 * The banner's lines about the form server: each problem the bridge reports
 * per form (poll, write, attachments) becomes one line naming the form; and a
 * mapping that turns out not to fit when the server comes back after an
 * outage is shown as such (not as an outage), with what to do.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createKoboDouble, type KoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { generateSigner } from "../src/engine/crypto.js";
import { silentLogger } from "../src/log/logger.js";
import { parseSiteConfig, type SiteConfig } from "../src/service/site-config.js";
import { retryDelay } from "../src/bridge/constants.js";
import { createSite, SERVER_RETRY_MAX_MS } from "../src/service/site.js";
import { linkProblems, serverProblems, type FormAttention, type LinkAttention } from "../src/service/site-attention.js";
import { TOKEN } from "./support/bridge-sites.js";

const FORM = 'KoboToolbox asset aPhotos ("Photos") at http://kf.local';

/** The readings of a site whose server answers and whose one form has `form`'s errors. */
function siteWith(form: Partial<FormAttention>): Parameters<typeof serverProblems>[0] {
  return {
    server: { state: "ok", error: null, since: 0 },
    problems: { round: null, storage: null },
    forms: [{ describe: FORM, lastPollError: null, lastWriteError: null, files: { lastError: null }, ...form }],
  };
}

describe("site attention lines", () => {
  it("says nothing when every form is well", () => {
    assert.deepEqual(serverProblems(siteWith({})), []);
  });

  it("names the form whose attachments cannot be read, and says they are retried", () => {
    const files = { events: 2, metadataOnly: 0, checksOpen: 1, awaitingBytes: 0, lastError: "GET …/attachments/3/: 500" };
    const lines = serverProblems(siteWith({ files }));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^Reading attachments from KoboToolbox asset aPhotos .* fails \(retried on later polls\): GET …\/attachments\/3\/: 500$/);
  });

  it("keeps poll and write failures apart", () => {
    const lines = serverProblems(siteWith({ lastPollError: "timeout", lastWriteError: "HTTP 500" }));
    assert.deepEqual(lines, [`Polling ${FORM} fails: timeout`, `Writing to ${FORM} fails: HTTP 500`]);
  });
});

/** A Kobo double (token TOKEN, no asset), and a site config for it whose one mapping names `asset`; the site uses `token`. */
async function koboAndConfig(site: string, asset: string, token = TOKEN): Promise<{ kobo: KoboDouble; config: SiteConfig }> {
  const kobo = createKoboDouble({ token: TOKEN });
  const url = await kobo.start(0);
  const config = parseSiteConfig({
    site: { name: site }, network: { name: "n" }, server: { kind: "kobo", url, token },
    mappings: [{ type: "household", source: { kobo: { asset } } }],
  });
  return { kobo, config };
}

describe("a mapping found not to fit after an outage", () => {
  it("turns the status from unreachable to the mapping problem, naming the fix", async (t) => {
    const { kobo, config } = await koboAndConfig("later", "aGoneSinceTheOutage1");
    kobo.faults.set({ kind: "down" });
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const site = createSite({ config, signer: generateSigner().signer, dataDir: ":memory:", log: silentLogger, manualPolls: true });
    try {
      await site.start();
      assert.equal(site.server().state, "unreachable");
      kobo.faults.clear();
      t.mock.timers.tick(SERVER_RETRY_MAX_MS);
      for (let k = 0; k < 50 && site.server().state === "unreachable"; k++) await new Promise((r) => setImmediate(r));
      assert.equal(site.server().state, "mapping");
      const lines = serverProblems({ server: site.server(), problems: site.problems(), forms: site.bridge.status().forms });
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /^The mappings do not fit the form server, so nothing is polled or written: .*aGoneSinceTheOutage1.* Fix the mappings in the config and restart meshlogd\.$/s);
    } finally {
      await site.stop();
      await kobo.stop();
    }
  });
});

describe("a form server unreachable at start", () => {
  it("is tried again after the bridge's jittered back-off, drawn from the site's random source", async (t) => {
    const { kobo, config } = await koboAndConfig("backoff", "aNeverOpenedHere001");
    kobo.faults.set({ kind: "down" });
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const firstWaits: number[] = [];
    try {
      for (const draw of [0, 0.99]) {
        const random = () => draw;
        const site = createSite({ config, signer: generateSigner().signer, dataDir: ":memory:", log: silentLogger, manualPolls: true, random });
        const open = t.mock.method(site.bridge, "open");
        /** Moves the mock clock on by `ms`, lets a failed attempt finish (it schedules the next), and says how many there were. */
        const attemptsAfter = async (ms: number) => {
          t.mock.timers.tick(ms);
          await open.mock.calls.at(-1)?.result;
          await new Promise((r) => setImmediate(r));
          return open.mock.callCount();
        };
        try {
          await site.start();
          assert.equal(open.mock.callCount(), 1);
          for (let n = 1; n <= 3; n++) {
            const wait = retryDelay(n, random);
            if (n === 1) firstWaits.push(wait);
            assert.equal(await attemptsAfter(wait - 1), n, `attempt ${n + 1} not before ${wait} ms (draw ${draw})`);
            assert.equal(await attemptsAfter(1), n + 1, `attempt ${n + 1} after ${wait} ms (draw ${draw})`);
          }
          assert.equal(site.server().state, "unreachable");
        } finally {
          await site.stop();
        }
      }
      assert.notEqual(firstWaits[0], firstWaits[1], "sites with different draws do not retry in step");
    } finally {
      t.mock.timers.reset();
      await kobo.stop();
    }
  });
});

describe("a form server that refuses the credentials at start", () => {
  it("is shown as refusing them, not as unreachable, with the config keys to check", async () => {
    const { kobo, config } = await koboAndConfig("wrong-token", "aNeverOpenedHere001", "f".repeat(40));
    const site = createSite({ config, signer: generateSigner().signer, dataDir: ":memory:", log: silentLogger, manualPolls: true });
    try {
      await site.start();
      assert.equal(site.server().state, "refused");
      const lines = serverProblems({ server: site.server(), problems: site.problems(), forms: site.bridge.status().forms });
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /^The form server refuses this site's credentials, so nothing is polled or written: HTTP 401.*\. Check server\.token in the config \(or the environment variable it names\) and restart meshlogd$/s);
    } finally {
      await site.stop();
      await kobo.stop();
    }
  });
});

describe("a link that is down", () => {
  it("is named with its reason and what to check", () => {
    const link = (index: number, kind: string, target: string, state: string): LinkAttention => ({ index, kind, target, state, reason: "serial port closed" });
    const lines = linkProblems([link(0, "rnode", "/dev/ttyUSB0", "down"), link(1, "udp", "0.0.0.0:4242", "down"), link(2, "udp", "0.0.0.0:4243", "up")]);
    assert.deepEqual(lines, [
      "The radio on /dev/ttyUSB0 is down: serial port closed. Check that the RNode on /dev/ttyUSB0 is plugged in and powered (links[0].port); meshlogd reconnects by itself.",
      "The link on 0.0.0.0:4242 is down: serial port closed. Check the network and links[1]; meshlogd keeps trying.",
    ]);
  });
});
