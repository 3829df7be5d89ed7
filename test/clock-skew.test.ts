/**
 * The bound on clock skew as a site sees it: causal stamping in the HLC
 * (tickAbove), the config key and its errors, and what the status API, the
 * attention list and /metrics say about an author whose stamps run ahead.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { ConfigError } from "../src/bridge/mapping-config.js";
import { MAX_HLC_COUNTER, MAX_HLC_WALL } from "../src/engine/constants.js";
import { generateSigner } from "../src/engine/crypto.js";
import { signEvent } from "../src/engine/event.js";
import { compareHlc, createHlcClock, DEFAULT_MAX_FORWARD_SKEW_MS, isValidHlc } from "../src/engine/hlc.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { createApi } from "../src/http/api.js";
import { silentLogger } from "../src/log/logger.js";
import { maxForwardSkewMsOf, parseSiteConfig } from "../src/service/site-config.js";
import { siteSummary } from "../src/service/site-status.js";
import { HTTP_TOKEN, startServiceSite, type ServiceSite } from "./support/service-site.js";

const DAY = 86_400_000;

describe("HLC: causal stamping (tickAbove)", () => {
  it("stamps just above a floor beyond the clock, and the clock follows so the next stamp is later still", () => {
    const clock = createHlcClock({ now: () => 1_000, maxForwardSkewMs: 60_000 });
    assert.equal(clock.observe({ wall: 5 * DAY, counter: 3 }), "skew-refused");
    assert.deepEqual(clock.tickAbove({ wall: 5 * DAY, counter: 3 }), { wall: 5 * DAY, counter: 4 });
    assert.deepEqual(clock.tick(), { wall: 5 * DAY, counter: 5 });
  });

  it("is a plain tick when the clock is already above the floor", () => {
    const clock = createHlcClock({ now: () => 9_000 });
    assert.deepEqual(clock.tickAbove({ wall: 2_000, counter: 7 }), { wall: 9_000, counter: 0 });
  });

  it("carries a full counter into the wall, and ignores a floor that would leave no later stamp", () => {
    const clock = createHlcClock({ now: () => 1_000 });
    assert.deepEqual(clock.tickAbove({ wall: 5_000, counter: MAX_HLC_COUNTER }), { wall: 5_001, counter: 0 });
    const end = createHlcClock({ now: () => 1_000 });
    const stamp = end.tickAbove({ wall: MAX_HLC_WALL, counter: MAX_HLC_COUNTER - 1 });
    assert.deepEqual(stamp, { wall: 1_000, counter: 0 }, "the edit gets a plain stamp (and loses to the forged one)");
    assert.ok(isValidHlc(end.tick()));
  });
});

describe("config: clock.max_forward_skew_h", () => {
  const base = {
    site: { name: "base" }, network: { name: "net" }, server: { kind: "kobo", url: "http://kf.local", token: "t" },
    mappings: [{ type: "household", source: { kobo: { asset: "aAsset" } } }],
  };
  const problems = (clock: unknown): string[] => {
    try {
      parseSiteConfig({ ...base, clock });
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
    assert.fail("expected a ConfigError");
  };

  it("defaults to a day, and the store gets it in ms", () => {
    const config = parseSiteConfig(base);
    assert.equal(config.clock.max_forward_skew_h, 24);
    assert.equal(maxForwardSkewMsOf(config), DEFAULT_MAX_FORWARD_SKEW_MS);
    assert.equal(maxForwardSkewMsOf(parseSiteConfig({ ...base, clock: { max_forward_skew_h: 6 } })), 6 * 3_600_000);
  });

  it("a bad value names the key, the value and the fix", () => {
    const [zero] = problems({ max_forward_skew_h: 0 });
    assert.match(zero ?? "", /^clock\.max_forward_skew_h: use at least 1 hour.*\(got 0\)$/);
    const [text] = problems({ max_forward_skew_h: "1d" });
    assert.match(text ?? "", /^clock\.max_forward_skew_h: use a number of hours, e\.g\. 24.*\(got "1d"\)$/);
    assert.match(problems({ max_forward_skew_h: 24 * 400 })[0] ?? "", /use at most 8784 hours/);
    assert.match(problems({ max_skew: 24 })[0] ?? "", /^clock/);
  });
});

describe("status and metrics: an author whose stamps run ahead", () => {
  let s: ServiceSite;
  const member = generateSigner().signer;

  before(async () => {
    s = await startServiceSite({ members: [{ name: "field-team-1", key: member.author }] });
    // Three days ahead of this machine's clock: beyond the default bound whatever the clock says.
    const far = { wall: Date.now() + 3 * DAY, counter: 0 };
    const ev = signEvent(member, { seq: 1, prev: null, hlc: far }, { kind: "upsert", record: recordId("uuid:far"), type: recordType("household"), base: null, fields: { size: 2 } });
    assert.equal(s.site.store.ingest([ev]).applied, 1);
  });
  after(() => s.close());

  it("the status API lists the violation by author and the attention list names the member", async () => {
    const summary = siteSummary(s.site);
    assert.equal(summary.clock.maxForwardSkewH, 24);
    assert.deepEqual(summary.clock.violations.map((v) => [v.author, v.name, v.count]), [[member.author, "field-team-1", 1]]);
    const ahead = summary.clock.violations[0]?.aheadH ?? 0;
    assert.ok(ahead > 70 && ahead <= 72, `${ahead} h ahead`);
    const line = summary.attention.find((a) => a.includes("field-team-1"));
    assert.ok(line, `attention: ${summary.attention.join(" | ")}`);
    assert.match(line, /1 event by field-team-1 carry clock stamps up to 3\.0 days ahead/);
    const res = await request(createApi({ site: s.site, log: silentLogger, token: HTTP_TOKEN })).get("/api/status").expect(200);
    assert.equal(res.body.clock.violations[0].name, "field-team-1");
  });

  it("the attention line goes once the last violation is more than a day old", () => {
    assert.equal(siteSummary(s.site, Date.now() + 2 * DAY).attention.some((a) => a.includes("field-team-1")), false);
  });

  it("the site's own next edit of that record is stamped above it and counted; /metrics shows both counters", async () => {
    const held = s.site.store.getRecord(recordId("uuid:far"))?.lastWrite;
    assert.ok(held);
    const own = s.site.store.append({ kind: "upsert", record: recordId("uuid:far"), type: recordType("household"), base: { wall: held.wall, counter: held.counter }, fields: { size: 5 } });
    assert.ok(compareHlc(own.hlc, held) > 0);
    const res = await request(createApi({ site: s.site, log: silentLogger, token: HTTP_TOKEN })).get("/metrics").expect(200);
    assert.match(res.text, new RegExp(`meshlogd_hlc_skew_violations_total\\{author="${member.author.slice(0, 16)}",name="field-team-1"\\} 1`));
    assert.match(res.text, /meshlogd_hlc_causal_ahead_total 1/);
  });
});
