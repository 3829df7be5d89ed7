/**
 * Clock skew: a site whose wall clock is three days ahead and one three days
 * behind, among sites whose clocks are right. They converge; an edit made
 * after seeing another wins over it wherever it is made, so the site ahead
 * does not win every conflict; stamps beyond a configured bound are applied
 * but not adopted, and counted; a stamp at the end of the HLC's range cannot
 * stop a site from writing. The two todo tests are the trade-off the engine
 * leaves open: without a bound one far-future stamp moves every clock for
 * good; with one, a site ahead wins even the edits made after its own.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_HLC_COUNTER, MAX_HLC_WALL } from "../../src/engine/constants.js";
import { generateSigner } from "../../src/engine/crypto.js";
import { signEvent, type SignedEvent } from "../../src/engine/event.js";
import type { Hlc } from "../../src/engine/hlc.js";
import { recordId, recordType } from "../../src/engine/ids.js";
import { openStore } from "../../src/engine/store/sqlite-store.js";
import { ledgered } from "./support/ledgered.js";
import { DAY, editInTurn, HOUR, SKEW_MS, skewedNetwork, type SkewedNetwork } from "./support/skewed-network.js";

const START = 1_767_225_600_000;
/** The bound the bounded runs configure: an hour is far beyond NTP or GPS error, far below a wrong date. */
const BOUND_MS = HOUR;

/** Three records per site and concurrent edits of the shared one; returns how many events were written. */
function writeEverywhere(n: SkewedNetwork): number {
  let written = 0;
  for (const s of n.net.sites) {
    for (let i = 0; i < 3; i++) s.upsert(`uuid:${s.name}-${i}`, "household", { size: i + 1, village: s.name });
    s.upsert("uuid:5ca1ab1e-0000-4000-8000-000000000001", "household", { size: s.name.length });
    written += 4;
  }
  return written;
}

const days = (ms: number) => `${(ms / DAY).toFixed(2)} d`;

describe("hardening: clock skew", () => {
  it("sites 3 days ahead and 3 days behind converge with the rest, to one view", () => ledgered({
    area: "clock skew", tried: "4 sites (one 3 days ahead, one 3 days behind, 10 % loss) each write 3 records and edit one shared record concurrently",
  }, () => {
    const n = skewedNetwork({ seed: 71 });
    try {
      const written = writeEverywhere(n);
      assert.ok(n.settle(), "the sites converge");
      assert.ok(n.viewsEqual(), "one view at every site");
      assert.equal(n.right.store.eventCount(), written);
      const dragged = n.right.store.lastHlc().wall - n.now();
      // No bound by default: the right clocks adopt the stamps of the site ahead.
      assert.ok(dragged > SKEW_MS - HOUR, `the right site's HLC is ${days(dragged)} ahead`);
      return `converged, one view at every site (${written} events); the HLC of the sites with right clocks now runs ${days(dragged)} ahead (adopted, no bound by default)`;
    } finally {
      n.net.close();
    }
  }));

  it("by default an edit made after seeing another wins over it, wherever it is made; the site ahead wins only concurrent ones", () => ledgered({
    area: "clock skew", tried: "6 edits of one field in turn (ahead, behind, right, ahead, other, behind), each after seeing the last; then a concurrent edit on each side of a partition",
  }, () => {
    const n = skewedNetwork({ seed: 72 });
    try {
      const { written, held } = editInTurn(n, "head", [n.ahead, n.behind, n.right, n.ahead, n.other, n.behind]);
      held.forEach((values, i) => assert.deepEqual(values, values.map(() => written[i]), `after edit ${i} (${written[i]}) the sites hold ${values.join(", ")}`));
      n.net.medium.setIslands([["ahead"], ["right", "behind", "other"]]);
      n.ahead.upsert("uuid:5ca1ab1e-0000-4000-8000-000000000001", "household", { notes: "ahead" });
      n.net.runFor(HOUR);
      n.right.upsert("uuid:5ca1ab1e-0000-4000-8000-000000000001", "household", { notes: "right, an hour later" });
      n.net.medium.setIslands(null);
      assert.ok(n.settle() && n.viewsEqual());
      for (const s of n.net.sites) assert.equal(n.valueAt(s, "notes"), "ahead", `${s.name}: a concurrent edit goes to the larger stamp`);
      const lost = n.right.store.conflicts().filter((c) => c.key === "notes");
      assert.equal(lost.length, 1, "the concurrent edit that lost is in the conflict log");
      return `every later edit won at every site, the behind site's included (${written.length} in turn); a concurrent edit went to the site ahead even though made an hour earlier, and the losing one is in the conflict log`;
    } finally {
      n.net.close();
    }
  }));

  it(`with a bound (maxForwardSkewMs ${BOUND_MS / HOUR} h), stamps beyond it are applied but not adopted, and counted`, () => ledgered({
    area: "clock skew", tried: `the same 4 sites with maxForwardSkewMs ${BOUND_MS / HOUR} h at every store, each writing 3 records and a concurrent edit`,
  }, () => {
    const n = skewedNetwork({ seed: 73, maxForwardSkewMs: BOUND_MS });
    try {
      writeEverywhere(n);
      assert.ok(n.settle() && n.viewsEqual(), "the sites converge to one view");
      const skewed = (s: typeof n.right) => s.store.counterValues()["hlc.skew-refused"] ?? 0;
      const eventsOf = (s: typeof n.right) => s.store.headSeq(s.signer.author);
      assert.equal(skewed(n.right), eventsOf(n.ahead), "the right site counted every event of the site ahead");
      assert.equal(skewed(n.behind), eventsOf(n.ahead) + eventsOf(n.right) + eventsOf(n.other), "the site behind counted everyone's");
      assert.equal(skewed(n.ahead), 0);
      const dragged = n.right.store.lastHlc().wall - n.now();
      assert.ok(dragged < BOUND_MS, `the right site's HLC is ${days(dragged)} ahead`);
      return `converged to one view; nothing refused; the right clocks stayed right (HLC ${days(dragged)} ahead); hlc.skew-refused counted ${skewed(n.right)} at a right site, ${skewed(n.behind)} at the site behind (everyone looks ahead to it)`;
    } finally {
      n.net.close();
    }
  }));

  it("one event stamped at the end of the HLC range does not stop a site from writing", () => ledgered({
    area: "clock skew", tried: "a member's validly signed events stamped (2^48-1 ms, 2^31-2) and (2^48-1 ms, 2^31-1), ingested by a site with no bound",
  }, () => {
    const { site, member } = pair();
    const events = [stamped(member, 1, null, { wall: MAX_HLC_WALL, counter: MAX_HLC_COUNTER - 1 })];
    events.push(stamped(member, 2, events[0] as SignedEvent, { wall: MAX_HLC_WALL, counter: MAX_HLC_COUNTER }));
    assert.equal(site.ingest(events).applied, 2, "they are valid events of the member's feed");
    const own = site.append({ kind: "upsert", record: recordId("uuid:after"), type: recordType("household"), base: null, fields: { size: 1 } });
    assert.ok(own.hlc.wall <= START + HOUR, `the site stamped its next event at ${own.hlc.wall}`);
    assert.equal(site.counterValues()["hlc.skew-refused"], 2);
    site.close();
    return "both applied, neither adopted (counted hlc.skew-refused); the site kept writing with a right stamp (before the fix every later write threw)";
  }));

  // The two halves of the trade-off the engine leaves open (see the report): each holds in one mode only.
  const noBound = "sites set no maxForwardSkewMs (there is no config for it): one far-future stamp moves every clock for good";
  it("one member's stamp a century ahead does not move a site's clock", { todo: noBound }, () => {
    const { site, member } = pair();
    site.ingest([stamped(member, 1, null, { wall: START + 100 * 365 * DAY, counter: 0 })]);
    const own = site.append({ kind: "upsert", record: recordId("uuid:after"), type: recordType("household"), base: null, fields: { size: 1 } });
    assert.ok(own.hlc.wall <= START + DAY, `the site's next event is stamped ${days(own.hlc.wall - START)} ahead`);
  });

  const bounded = "with a bound, stamps not adopted leave later edits stamped below them: the site ahead keeps winning until its clock is fixed";
  it("with a bound, an edit made after seeing the site ahead's edit still wins", { todo: bounded }, () => {
    const n = skewedNetwork({ seed: 74, maxForwardSkewMs: BOUND_MS });
    try {
      const { written, held } = editInTurn(n, "head", [n.ahead, n.right, n.behind]);
      held.forEach((values, i) => assert.deepEqual(values, values.map(() => written[i]), `after edit ${i} (${written[i]}) the sites hold ${values.join(", ")}`));
    } finally {
      n.net.close();
    }
  });
});

function pair() {
  const me = generateSigner().signer;
  const member = generateSigner().signer;
  const site = openStore({ path: ":memory:", signer: me, now: () => START, verifyPool: null });
  site.addMember(member.author, "member");
  return { site, member };
}

function stamped(by: ReturnType<typeof generateSigner>["signer"], seq: number, prev: SignedEvent | null, hlc: Hlc): SignedEvent {
  return signEvent(by, { seq, prev: prev?.id ?? null, hlc }, { kind: "upsert", record: recordId(`uuid:far-${seq}`), type: recordType("household"), base: null, fields: { size: seq } });
}
