/**
 * A removed member: a removal event (kind 5) that one member's admin appends
 * voids the removed member's events after the newest one that site held, at
 * every site that ingests it, whenever it arrives (before or after those
 * events); its earlier events stay and still spread. Every site ends with one
 * view, and a removed station still on the air does not keep the others from
 * settling.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exportBundle, importBundle } from "../../src/bundle/index.js";
import { SimNetwork, type SimSite } from "../../src/demo/sim-network.js";
import { generateSigner } from "../../src/engine/crypto.js";
import { recordId } from "../../src/engine/ids.js";
import { encodeView, foldEvents } from "../../src/engine/view.js";
import type { SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { parseSiteConfig } from "../../src/service/site-config.js";
import { openSiteStore } from "../../src/service/site.js";
import { removalNotes } from "../../src/service/removal-notes.js";
import { ledgered } from "./support/ledgered.js";

const HOUR = 3_600_000;
/** Frames a settled station may send in four hours: Trickle's longest interval gives a handful (6 to 8 measured), four times that at most. */
const SETTLED_FRAMES_4H = 30;

function honest(net: SimNetwork): SimSite[] {
  return net.sites.filter((s) => s.name !== "m");
}

/** True when the honest sites hold the same frontier and `author` has reached `seq` at each. */
function settled(net: SimNetwork, author: SimSite, seq: number): boolean {
  const sites = honest(net);
  const first = sites[0]?.store.digest();
  return sites.every((s) => first !== undefined && s.store.digest().equals(first) && s.store.headSeq(author.signer.author) >= seq);
}

function field(site: SimSite, record: string, name: string): unknown {
  return site.store.getRecord(recordId(record))?.fields.get(name)?.value;
}

/** `site`'s admin removes `member` from the network (as a config change does at start-up); the station tells its neighbours. */
function removeEverywhere(site: SimSite, member: SimSite): number {
  const r = site.store.removeMemberEverywhere(member.signer.author);
  assert.ok(r.ok, `${site.name} could not remove ${member.name}: ${r.ok ? "" : r.reason}`);
  site.node.localChange();
  site.station.kick();
  return r.event.body.kind === "removal" ? r.event.body.after : -1;
}

/** The view a store would have if it folded the events it holds from scratch. */
function refold(store: SqliteStore): Buffer {
  const events = [...store.frontier()].flatMap(([author, seq]) => store.readEvents(author, 1, seq));
  const f = foldEvents(events);
  return encodeView(f.records.values(), f.conflicts.values());
}

/** Asserts one view and one frontier at `sites`, each equal to a re-fold of the events it holds. */
function assertOneView(sites: readonly SimSite[]): void {
  const first = sites[0] as SimSite;
  for (const s of sites) {
    assert.ok(s.store.viewBytes().equals(refold(s.store)), `${s.name}'s view is a re-fold of its events`);
    assert.ok(s.store.viewBytes().equals(first.store.viewBytes()), `${s.name} and ${first.name} hold one view`);
    assert.deepEqual([...s.store.frontier()].sort(), [...first.store.frontier()].sort(), `${s.name} and ${first.name} hold one frontier`);
  }
}

const framesSent = (s: SimSite) => Object.values(s.node.stats.framesSent).reduce((x, y) => x + y, 0);

describe("hardening: a removed member", () => {
  it("removed by one site's admin: its later events are refused everywhere and counted; its earlier ones stay", () => ledgered({
    area: "hostile input",
    tried: "one site's admin removed a member (a removal event, 10 % loss, 4 sites), which then wrote 2 more events (an edit, a new record) and kept sending; the same events offered again as a bundle",
  }, () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 61, medium: { loss: 0.1, delayMs: [5, 200] } });
    try {
      const [a, , , m] = net.sites as [SimSite, SimSite, SimSite, SimSite];
      for (let i = 0; i < 3; i++) m.upsert(`uuid:m-${i}`, "household", { size: i + 1, village: "north" });
      a.upsert("uuid:a-0", "household", { size: 7 });
      net.runFor(2 * HOUR, () => net.converged());
      assert.ok(net.converged(), "the four sites converge before the removal");
      const mSeq = m.store.headSeq(m.signer.author);

      assert.equal(removeEverywhere(a, m), mSeq);
      const removal = a.store.headSeq(a.signer.author);
      m.upsert("uuid:m-0", "household", { size: 99 }); // an edit of an earlier record
      m.upsert("uuid:m-9", "household", { size: 5 }); // a new record
      const aEv = a.upsert("uuid:a-1", "household", { size: 8 });
      net.runFor(6 * HOUR, () => settled(net, a, aEv.seq));
      net.runFor(HOUR); // m keeps beaconing and answering: give it time to push its later events

      assert.ok(settled(net, a, Math.max(aEv.seq, removal)), "the other sites still converge");
      assertOneView(honest(net));
      let refused = 0;
      for (const s of honest(net)) {
        assert.equal(s.store.headSeq(m.signer.author), mSeq, `${s.name} took none of m's later events`);
        assert.equal(field(s, "uuid:m-0", "size"), 1, `${s.name} keeps m's earlier value`);
        assert.equal(s.store.getRecord(recordId("uuid:m-9")), undefined, `${s.name} has no record from m's later events`);
        assert.equal(field(s, "uuid:a-1", "size"), 8);
        assert.equal(s.store.isMember(m.signer.author), false);
        refused += (s.node.stats.dropped["removed-member"] ?? 0) + (s.store.counterValues()["refused.removed-member"] ?? 0);
      }
      assert.equal(m.store.acceptsUpTo(m.signer.author), mSeq, "m learnt of its removal too");
      assert.ok(m.store.digest().equals(a.store.digest()), "m offers no more than the others hold");
      // The same events by bundle (full events) are refused by the store and counted by reason.
      const later = m.store.readEvents(m.signer.author, mSeq + 1, mSeq + 2);
      const before = a.store.counterValues()["refused.removed-member"] ?? 0;
      assert.deepEqual(a.store.ingest(later).refused, { "removed-member": later.length });
      assert.equal(a.store.counterValues()["refused.removed-member"], before + later.length);
      return `one removal event reached all 3 other sites and m; none took m's later events (${refused} refused at sync or ingest: m, told, ` +
        `offered them no more); the same ${later.length} as full events refused.removed-member; its ${mSeq} earlier events and their values stay; ` +
        "the 3 sites hold one view, equal to a re-fold";
    } finally {
      net.close();
    }
  }));

  it("sites that learn of a removal at different times, before and after its later events, end with one view", () => ledgered({
    area: "hostile input",
    tried: "4 sites on islands: a removed m alone; m wrote a late edit (racing b's edit of the same field) and a new record that b took; c learnt the removal before those events, b after; then all joined",
  }, () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 63, medium: { delayMs: [5, 100] } });
    try {
      const [a, b, c, m] = net.sites as [SimSite, SimSite, SimSite, SimSite];
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(HOUR, () => net.converged());
      net.medium.setIslands([["a"], ["b", "m"], ["c"]]);
      const cut = removeEverywhere(a, m); // a's admin acts at once; nobody hears it yet
      m.upsert("uuid:m-0", "household", { size: 2 }); // races b's edit below: neither has seen the other
      b.upsert("uuid:m-0", "household", { size: 3 });
      m.upsert("uuid:m-5", "household", { size: 5 });
      net.runFor(HOUR, () => b.store.headSeq(m.signer.author) === 3 && m.store.headSeq(b.signer.author) === b.store.headSeq(b.signer.author));
      assert.equal(b.store.headSeq(m.signer.author), 3, "b took m's late events before it heard of the removal");
      assert.ok(b.store.conflicts(recordId("uuid:m-0")).length > 0, "b logged the race with m's late edit");
      net.medium.setIslands([["a", "c"], ["b", "m"]]);
      net.runFor(HOUR, () => c.store.acceptsUpTo(m.signer.author) === cut);
      assert.equal(c.store.acceptsUpTo(m.signer.author), cut, "c learnt of the removal before m's late events");
      net.medium.setIslands(null);
      net.runFor(3 * HOUR, () => settled(net, a, 1) && b.store.headSeq(m.signer.author) === cut && m.store.acceptsUpTo(m.signer.author) === cut);

      assertOneView([a, b, c]);
      assert.equal(b.store.headSeq(m.signer.author), cut, "b cut m's feed at the removal");
      assert.equal(b.store.counterValues()["removal.dropped-events"], 2, "b counted the 2 events it dropped");
      for (const s of [a, b, c]) {
        assert.equal(field(s, "uuid:m-0", "size"), 3, `${s.name}: b's edit stands, m's late one is gone`);
        assert.deepEqual(s.store.conflicts(recordId("uuid:m-0")), [], `${s.name}: no conflict with a void event remains`);
        assert.equal(s.store.getRecord(recordId("uuid:m-5")), undefined, `${s.name} has no record from m's late events`);
      }
      return "a, b (cut 2 events it held, and the race they made) and c (refused them) hold one view and one frontier, each equal to a re-fold of its events";
    } finally {
      net.close();
    }
  }));

  it("two removals with different cuts: the smaller wins at every site, whatever the order", () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 65 });
    try {
      const [a, b, c, m] = net.sites as [SimSite, SimSite, SimSite, SimSite];
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(HOUR, () => net.converged());
      net.medium.setIslands([["a"], ["b", "m"], ["c"]]);
      m.upsert("uuid:m-1", "household", { size: 2 });
      net.runFor(HOUR, () => b.store.headSeq(m.signer.author) === 2);
      assert.equal(removeEverywhere(b, m), 2);
      assert.equal(removeEverywhere(a, m), 1);
      // c hears b's removal first, then a's; m hears b's only, then a's through c.
      net.medium.setIslands([["b", "c", "m"], ["a"]]);
      net.runFor(HOUR, () => c.store.acceptsUpTo(m.signer.author) === 2 && c.store.headSeq(m.signer.author) === 2);
      net.medium.setIslands(null);
      net.runFor(3 * HOUR, () => settled(net, a, 1) && net.sites.every((s) => s.store.acceptsUpTo(m.signer.author) === 1));
      for (const s of net.sites) assert.equal(s.store.acceptsUpTo(m.signer.author), 1, `${s.name} cuts m's feed at the smaller after`);
      assertOneView([a, b, c]);
      assert.equal(c.store.getRecord(recordId("uuid:m-1")), undefined, "the event between the two cuts is gone");
    } finally {
      net.close();
    }
  });

  it("a bundle carrying a removed member's later events is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-removal-bundle-"));
    const net = new SimNetwork({ names: ["a", "b", "m"], seed: 66 });
    try {
      const [a, b, m] = net.sites as [SimSite, SimSite, SimSite];
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(HOUR, () => net.converged());
      net.medium.setIslands([["a"], ["b", "m"]]);
      removeEverywhere(a, m);
      m.upsert("uuid:m-0", "household", { size: 2 });
      net.runFor(HOUR, () => b.store.headSeq(m.signer.author) === 2);
      const path = join(dir, "b.bundle");
      await exportBundle(b.store, { path }, { signer: b.signer, networkKey: null, network: null });
      const result = await importBundle(a.store, { path }, { networkKey: null, network: null });
      assert.ok(result.ok, "the bundle reads");
      assert.deepEqual(result.counts.refused, { "removed-member": 1 });
      assert.equal(a.store.headSeq(m.signer.author), 1);
      assert.equal(field(a, "uuid:m-0", "size"), 1);
    } finally {
      net.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("a member taken out of the config", () => {
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-members-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const me = generateSigner().signer;
    const config = (members: { name: string; key: string }[]) => parseSiteConfig({
      site: { name: "base" }, network: { name: "n", members }, server: { kind: "kobo", url: "http://kf.local", token: "t" },
      mappings: [{ type: "household", source: { kobo: { asset: "a" } } }],
    });

    it("is removed by a removal event at the next start, which a restart keeps: its later events are refused, its earlier ones stay", () => ledgered({
      area: "hostile input",
      tried: "a member deleted from network.members, the site restarted (twice), then 2 of its later events offered; then the member listed again",
    }, () => {
      const net = new SimNetwork({ names: ["m"], seed: 62 });
      const m = net.sites[0] as SimSite;
      const listed = [{ name: "m", key: m.signer.author }];
      try {
        for (let i = 0; i < 4; i++) m.upsert(`uuid:m-${i}`, "household", { size: i });
        const events = m.store.readEvents(m.signer.author, 1, 4);
        let store = openSiteStore({ config: config(listed), signer: me, dataDir: dir });
        assert.equal(store.ingest(events.slice(0, 2)).applied, 2);
        store.close();
        store = openSiteStore({ config: config([]), signer: me, dataDir: dir });
        assert.equal(store.headSeq(me.author), 0, "a CLI command opening the file (export, import) signs no removal");
        store.close();
        store = openSiteStore({ config: config([]), signer: me, dataDir: dir }, true);
        assert.equal(store.headSeq(me.author), 1, "the start appended one removal event");
        store.close();
        store = openSiteStore({ config: config([]), signer: me, dataDir: dir }, true);
        try {
          assert.equal(store.headSeq(me.author), 1, "a second start appends no second one");
          assert.equal(store.isMember(m.signer.author), false, "the store still trusts a member the config no longer lists");
          assert.equal(store.acceptsUpTo(m.signer.author), 2);
          assert.deepEqual(store.ingest(events.slice(2)).refused, { "removed-member": 2 });
          assert.equal(store.headSeq(m.signer.author), 2);
          assert.ok(store.getRecord(recordId("uuid:m-1")), "its earlier records stay");
          assert.equal(store.frontier().get(m.signer.author), 2, "its earlier events are still offered, so every site ends up with them");
        } finally {
          store.close();
        }
        store = openSiteStore({ config: config(listed), signer: me, dataDir: dir }, true);
        try {
          assert.equal(store.isMember(m.signer.author), false, "the removal event wins over the config");
          const notes = removalNotes(store, config(listed), me.author);
          assert.equal(notes.length, 1);
          assert.match(notes[0] as string, /network\.members still lists m/);
        } finally {
          store.close();
        }
        return "removed by a removal event at the restart (fixed: the store kept trusting it; then: removal was local only); both refused as removed-member; " +
          "its 2 earlier events stay and are still offered; listing it again does not bring it back, the status says so";
      } finally {
        net.close();
      }
    }));
  });

  // The removed member's beacons carry a digest over its own feed, which the others never match: each one used
  // to reset their Trickle timers, and they answered its frontier again and again.
  it("a removed member still on the air, never told, does not keep the others from settling", () => ledgered({
    area: "hostile input",
    tried: "a member de-trusted locally at 3 sites (no removal event: it never learns) kept writing and beaconing for 6 h",
  }, () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 64 });
    try {
      const m = net.sites[3] as SimSite;
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(2 * HOUR, () => net.converged());
      for (const s of honest(net)) s.store.removeMember(m.signer.author);
      m.upsert("uuid:m-1", "household", { size: 2 });
      net.runFor(2 * HOUR);
      const before = honest(net).map(framesSent);
      net.runFor(4 * HOUR);
      const per4h = honest(net).map((s, i) => framesSent(s) - (before[i] ?? 0));
      assert.ok(per4h.every((n) => n <= SETTLED_FRAMES_4H), `the other stations sent ${per4h.join(", ")} frames in 4 h`);
      return `the 3 others sent ${per4h.join(", ")} frames in the last 4 h (bound ${SETTLED_FRAMES_4H}; they used to stay at full rate)`;
    } finally {
      net.close();
    }
  }));

  it("a removed member that learns of its removal and keeps writing does not keep the others from settling", () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 67 });
    try {
      const [a, , , m] = net.sites as [SimSite, SimSite, SimSite, SimSite];
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(2 * HOUR, () => net.converged());
      const cut = removeEverywhere(a, m);
      for (let i = 1; i <= 6; i++) {
        m.upsert(`uuid:m-${i}`, "household", { size: i });
        net.runFor(HOUR / 3);
      }
      const before = honest(net).map(framesSent);
      net.runFor(4 * HOUR);
      const per4h = honest(net).map((s, i) => framesSent(s) - (before[i] ?? 0));
      assert.ok(per4h.every((n) => n <= SETTLED_FRAMES_4H), `the other stations sent ${per4h.join(", ")} frames in 4 h`);
      assert.equal(m.store.acceptsUpTo(m.signer.author), cut, "m learnt of its removal");
      assert.equal(m.store.headSeq(m.signer.author), cut + 6, "m keeps its own later writes");
      assert.ok(m.store.digest().equals(a.store.digest()), "m offers no more than the others hold");
      assertOneView(honest(net));
    } finally {
      net.close();
    }
  });
});
