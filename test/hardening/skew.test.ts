/**
 * Clock skew: a site whose wall clock is three days ahead and one three days
 * behind, among sites whose clocks are right. They converge, with or without a
 * bound; an edit made after seeing another wins over it wherever it is made, so
 * the site ahead does not win every conflict; stamps beyond the bound are
 * applied but not adopted, and counted per author; a far-future stamp does not
 * move a bounded clock; a stamp at the end of the HLC's range cannot stop a site
 * from writing. With a bound, causal stamping (a local edit is stamped above
 * every stamp held on its record) keeps "an edit made after seeing wins".
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MAX_HLC_COUNTER, MAX_HLC_WALL } from "../../src/engine/constants.js";
import { generateSigner } from "../../src/engine/crypto.js";
import { signEvent, type SignedEvent } from "../../src/engine/event.js";
import { compareHlc, DEFAULT_MAX_FORWARD_SKEW_MS, type Hlc } from "../../src/engine/hlc.js";
import { recordId, recordType } from "../../src/engine/ids.js";
import { openStore } from "../../src/engine/store/sqlite-store.js";
import { ledgered } from "./support/ledgered.js";
import { DAY, editInTurn, HOUR, SHARED, SKEW_MS, skewedNetwork, type SkewedNetwork } from "./support/skewed-network.js";

const START = 1_767_225_600_000;
/** The bound the bounded runs configure: an hour is far beyond NTP or GPS error, far below a wrong date. */
const BOUND_MS = HOUR;

/** Three records per site and concurrent edits of the shared one; returns how many events were written. */
function writeEverywhere(n: SkewedNetwork): number {
  let written = 0;
  for (const s of n.net.sites) {
    for (let i = 0; i < 3; i++) s.upsert(`uuid:${s.name}-${i}`, "household", { size: i + 1, village: s.name });
    s.upsert(SHARED, "household", { size: s.name.length });
    written += 4;
  }
  return written;
}

const days = (ms: number) => `${(ms / DAY).toFixed(2)} d`;

describe("hardening: clock skew", () => {
  it("without a bound, sites 3 days ahead and 3 days behind converge with the rest, to one view", () => ledgered({
    area: "clock skew", tried: "4 sites (one 3 days ahead, one 3 days behind, 10 % loss) each write 3 records and edit one shared record concurrently",
  }, () => {
    const n = skewedNetwork({ seed: 71 });
    try {
      const written = writeEverywhere(n);
      assert.ok(n.settle(), "the sites converge");
      assert.ok(n.viewsEqual(), "one view at every site");
      assert.equal(n.right.store.eventCount(), written);
      const dragged = n.right.store.lastHlc().wall - n.now();
      // No bound (the engine's default; a site configures one): the right clocks adopt the stamps of the site ahead.
      assert.ok(dragged > SKEW_MS - HOUR, `the right site's HLC is ${days(dragged)} ahead`);
      return `converged, one view at every site (${written} events); the HLC of the sites with right clocks now runs ${days(dragged)} ahead (adopted: no bound)`;
    } finally {
      n.net.close();
    }
  }));

  it("without a bound an edit made after seeing another wins over it, wherever it is made; the site ahead wins only concurrent ones", () => ledgered({
    area: "clock skew", tried: "6 edits of one field in turn (ahead, behind, right, ahead, other, behind), each after seeing the last; then a concurrent edit on each side of a partition",
  }, () => {
    const n = skewedNetwork({ seed: 72 });
    try {
      const { written, held } = editInTurn(n, "head", [n.ahead, n.behind, n.right, n.ahead, n.other, n.behind]);
      held.forEach((values, i) => assert.deepEqual(values, values.map(() => written[i]), `after edit ${i} (${written[i]}) the sites hold ${values.join(", ")}`));
      n.net.medium.setIslands([["ahead"], ["right", "behind", "other"]]);
      n.ahead.upsert(SHARED, "household", { notes: "ahead" });
      n.net.runFor(HOUR);
      n.right.upsert(SHARED, "household", { notes: "right, an hour later" });
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

  it("one member's stamp a century ahead does not move a site's clock (the site's default bound)", () => ledgered({
    area: "clock skew", tried: "a member's event stamped a century ahead, ingested by a site with the default bound (1 d); then the site writes another record",
  }, () => {
    const { site, member } = pair(DEFAULT_MAX_FORWARD_SKEW_MS);
    assert.equal(site.ingest([stamped(member, 1, null, { wall: START + 100 * 365 * DAY, counter: 0 })]).applied, 1, "applied all the same");
    const own = site.append({ kind: "upsert", record: recordId("uuid:after"), type: recordType("household"), base: null, fields: { size: 1 } });
    assert.ok(own.hlc.wall <= START + DAY, `the site's next event is stamped ${days(own.hlc.wall - START)} ahead`);
    assert.deepEqual(site.skewViolations().map((v) => [v.author, v.count]), [[member.author, 1]], "counted, naming the member");
    site.close();
    return `applied and counted against the member (hlc.skew-refused:<author>); the site's next event was stamped ${days(own.hlc.wall - START)} ahead`;
  }));

  it(`with a bound (maxForwardSkewMs ${BOUND_MS / HOUR} h), an edit made after seeing the site ahead's edit still wins, at every site`, () => ledgered({
    area: "clock skew", tried: `maxForwardSkewMs ${BOUND_MS / HOUR} h at every store; 6 edits of one field in turn (ahead, right, behind, other, ahead, behind), each after seeing the last`,
  }, () => {
    const n = skewedNetwork({ seed: 74, maxForwardSkewMs: BOUND_MS });
    try {
      const { written, held } = editInTurn(n, "head", [n.ahead, n.right, n.behind, n.other, n.ahead, n.behind]);
      held.forEach((values, i) => assert.deepEqual(values, values.map(() => written[i]), `after edit ${i} (${written[i]}) the sites hold ${values.join(", ")}`));
      assert.ok(n.viewsEqual(), "one view at every site");
      assert.equal(n.right.store.conflicts().length, 0, "no edit made after seeing another is logged as a lost race");
      const causal = (s: typeof n.right) => s.store.counterValues()["hlc.causal-ahead"] ?? 0;
      assert.ok(causal(n.right) >= 1 && causal(n.behind) >= 1, "the edits stamped above the site ahead's were counted");
      return `every later edit won at every site (${written.length} in turn) though no clock adopted the stamps of the site ahead; hlc.causal-ahead counted ${causal(n.right)} at a right site, ${causal(n.behind)} at the site behind`;
    } finally {
      n.net.close();
    }
  }));

  it(`with the site default bound (${DEFAULT_MAX_FORWARD_SKEW_MS / DAY} d), sites 3 days ahead and behind converge and are counted per author`, () => ledgered({
    area: "clock skew", tried: `4 sites (one 3 days ahead, one 3 days behind, 10 % loss) with the default bound ${DEFAULT_MAX_FORWARD_SKEW_MS / HOUR} h, each writing 3 records and a concurrent edit`,
  }, () => {
    const n = skewedNetwork({ seed: 75, maxForwardSkewMs: DEFAULT_MAX_FORWARD_SKEW_MS });
    try {
      const written = writeEverywhere(n);
      assert.ok(n.settle() && n.viewsEqual(), "the sites converge to one view");
      assert.equal(n.right.store.eventCount(), written);
      const byAuthor = (s: typeof n.right) => new Map(s.store.skewViolations().map((v) => [v.author, v.count]));
      assert.deepEqual(byAuthor(n.right), new Map([[n.ahead.signer.author, n.ahead.store.headSeq(n.ahead.signer.author)]]), "a right site names only the site ahead");
      assert.deepEqual([...byAuthor(n.behind).keys()].sort(), [n.ahead, n.right, n.other].map((s) => s.signer.author).sort(), "the site behind names everyone");
      assert.equal(byAuthor(n.ahead).size, 0);
      const far = n.right.store.skewViolations()[0]?.aheadMs ?? 0;
      assert.ok(far > SKEW_MS - HOUR && far <= SKEW_MS + HOUR, `the site ahead's stamps ran ${days(far)} ahead`);
      const dragged = n.right.store.lastHlc().wall - n.now();
      assert.ok(dragged < HOUR, `the right site's HLC is ${days(dragged)} ahead`);
      return `converged, one view (${written} events); a right site counted only the site ahead (${days(far)} ahead), the site behind counted all three others; the right clocks stayed right`;
    } finally {
      n.net.close();
    }
  }));

  it("with a bound, a concurrent (not-seen) edit still resolves the same way everywhere", () => ledgered({
    area: "clock skew", tried: `maxForwardSkewMs ${BOUND_MS / HOUR} h; the site ahead cut off, it and a right site edit the same field; then the right site edits after seeing the result`,
  }, () => {
    const n = skewedNetwork({ seed: 76, maxForwardSkewMs: BOUND_MS });
    try {
      editInTurn(n, "notes", [n.right]);
      n.net.medium.setIslands([["ahead"], ["right", "behind", "other"]]);
      n.ahead.upsert(SHARED, "household", { notes: "ahead" });
      n.net.runFor(HOUR);
      n.behind.upsert(SHARED, "household", { notes: "behind" });
      n.net.medium.setIslands(null);
      assert.ok(n.settle() && n.viewsEqual(), "one view at every site");
      for (const s of n.net.sites) assert.equal(n.valueAt(s, "notes"), "ahead", `${s.name}: the larger stamp wins a concurrent edit`);
      assert.deepEqual(n.right.store.conflicts().filter((c) => c.key === "notes").map((c) => c.author), [n.behind.signer.author], "the losing edit is logged");
      const { written, held } = editInTurn(n, "notes", [n.behind]);
      assert.deepEqual(held[0], n.net.sites.map(() => written[0]), "an edit after seeing the winner wins");
      return "the concurrent edit went to the larger stamp at every site and the loser was logged; the next edit, made after seeing it, won";
    } finally {
      n.net.close();
    }
  }));

  it("the stamp rule survives a restart, and the feed it leaves is valid at a peer, in full and on the wire", () => ledgered({
    area: "clock skew", tried: "a site (default bound, SQLite file) holds a member's edit stamped 3 days ahead; reopened, it edits that record, reopened again, another",
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-skew-"));
    const me = generateSigner().signer;
    const member = generateSigner().signer;
    const open = () => {
      const s = openStore({ path: join(dir, "site.db"), signer: me, now: () => START, verifyPool: null, maxForwardSkewMs: DEFAULT_MAX_FORWARD_SKEW_MS });
      s.addMember(member.author, "member");
      return s;
    };
    try {
      const far = stamped(member, 1, null, { wall: START + SKEW_MS, counter: 5 });
      let site = open();
      site.ingest([far]);
      site.close();
      site = open();
      const held = site.getRecord(recordId("uuid:far-1"))?.lastWrite;
      const edit = site.append({ kind: "upsert", record: recordId("uuid:far-1"), type: recordType("household"), base: held ? { wall: held.wall, counter: held.counter } : null, fields: { size: 9 } });
      assert.ok(compareHlc(edit.hlc, far.hlc) > 0, "the edit is stamped above the far stamp it saw");
      assert.equal(site.getRecord(recordId("uuid:far-1"))?.fields.get("size")?.value, 9, "and wins");
      site.close();
      site = open();
      const next = site.append({ kind: "upsert", record: recordId("uuid:after"), type: recordType("household"), base: null, fields: { size: 1 } });
      assert.ok(compareHlc(next.hlc, edit.hlc) > 0, "the feed's stamps still increase after the restart");
      const full = openStore({ path: ":memory:", verifyPool: null, now: () => START });
      const wire = openStore({ path: ":memory:", verifyPool: null, now: () => START });
      for (const peer of [full, wire]) {
        peer.addMember(me.author, "site");
        peer.addMember(member.author, "member");
        peer.ingest([far]);
      }
      assert.equal(full.ingest(site.readEvents(me.author, 1, 2)).applied, 2, "a peer takes both events, no hlc-regression");
      assert.equal(wire.ingestWire(me.author, 1, site.wireItems(me.author, 1, 2, 10_000).items).applied, 2, "and from wire items");
      assert.ok(full.viewBytes().equals(site.viewBytes()) && wire.viewBytes().equals(site.viewBytes()), "one view");
      const counted = site.counterValues()["hlc.causal-ahead"];
      site.close();
      return `after a restart the edit was stamped above the member's (${days(edit.hlc.wall - START)} ahead, counted hlc.causal-ahead ${counted}) and won; the next event on another record came after it; peers took the feed in full and as wire items, one view`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));
});

/** A site with one member; `maxForwardSkewMs` undefined: no bound. */
function pair(maxForwardSkewMs?: number) {
  const me = generateSigner().signer;
  const member = generateSigner().signer;
  const bound = maxForwardSkewMs === undefined ? {} : { maxForwardSkewMs };
  const site = openStore({ path: ":memory:", signer: me, now: () => START, verifyPool: null, ...bound });
  site.addMember(member.author, "member");
  return { site, member };
}

function stamped(by: ReturnType<typeof generateSigner>["signer"], seq: number, prev: SignedEvent | null, hlc: Hlc): SignedEvent {
  return signEvent(by, { seq, prev: prev?.id ?? null, hlc }, { kind: "upsert", record: recordId(`uuid:far-${seq}`), type: recordType("household"), base: null, fields: { size: seq } });
}
