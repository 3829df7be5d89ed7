/**
 * A removed member: once every site has removed it, its later events are
 * refused everywhere (and counted), its earlier ones stay, and the rest of
 * the network still converges. Removal today is a local act at each site
 * (the config's member list, applied to the store at start-up), not a
 * replicated event: the last test shows what that leaves open.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SimNetwork, type SimSite } from "../../src/demo/sim-network.js";
import { generateSigner } from "../../src/engine/crypto.js";
import { recordId } from "../../src/engine/ids.js";
import { parseSiteConfig } from "../../src/service/site-config.js";
import { openSiteStore } from "../../src/service/site.js";
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

describe("hardening: a removed member", () => {
  it("once removed at every site, its later events are refused everywhere and counted; its earlier ones stay", () => ledgered({
    area: "hostile input",
    tried: "a member removed at all 3 other sites (10 % loss), then it wrote 2 more events (an edit, a new record) and kept sending; the same events offered again as a bundle",
  }, () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 61, medium: { loss: 0.1, delayMs: [5, 200] } });
    try {
      const [a, , , m] = net.sites as [SimSite, SimSite, SimSite, SimSite];
      for (let i = 0; i < 3; i++) m.upsert(`uuid:m-${i}`, "household", { size: i + 1, village: "north" });
      a.upsert("uuid:a-0", "household", { size: 7 });
      net.runFor(2 * HOUR, () => net.converged());
      assert.ok(net.converged(), "the four sites converge before the removal");
      const mSeq = m.store.headSeq(m.signer.author);

      for (const s of honest(net)) s.store.removeMember(m.signer.author);
      m.upsert("uuid:m-0", "household", { size: 99 }); // an edit of an earlier record
      m.upsert("uuid:m-9", "household", { size: 5 }); // a new record
      const aEv = a.upsert("uuid:a-1", "household", { size: 8 });
      net.runFor(6 * HOUR, () => settled(net, a, aEv.seq));
      net.runFor(HOUR); // m keeps beaconing and answering: give it time to push its later events

      const views = honest(net).map((s) => s.store.viewBytes().toString("hex"));
      assert.ok(settled(net, a, aEv.seq) && views.every((v) => v === views[0]), "the other sites still converge, to one view");
      let dropped = 0;
      for (const s of honest(net)) {
        assert.equal(s.store.headSeq(m.signer.author), mSeq, `${s.name} took none of m's later events`);
        assert.equal(field(s, "uuid:m-0", "size"), 1, `${s.name} keeps m's earlier value`);
        assert.equal(s.store.getRecord(recordId("uuid:m-9")), undefined, `${s.name} has no record from m's later events`);
        assert.equal(field(s, "uuid:a-1", "size"), 8);
        assert.equal(s.store.isMember(m.signer.author), false);
        dropped += s.node.stats.dropped["unknown-author"] ?? 0;
      }
      assert.ok(dropped > 0, "the sync nodes counted m's frames as from an unknown author");
      // The same events by bundle (full events) are refused by the store and counted by reason.
      const later = m.store.readEvents(m.signer.author, mSeq + 1, mSeq + 2);
      const before = a.store.counterValues()["refused.non-member"] ?? 0;
      assert.deepEqual(a.store.ingest(later).refused, { "non-member": later.length });
      assert.equal(a.store.counterValues()["refused.non-member"], before + later.length);
      return `no site took them (${dropped} sync frames dropped as unknown-author, ${later.length} bundle events refused.non-member); ` +
        `its ${mSeq} earlier events and their values stay; the 3 sites converge to one view. OPEN (todo tests): the removed member, ` +
        `still on the air, keeps the others sending beacons and frontiers at full rate; sites removing it at different times keep different views`;
    } finally {
      net.close();
    }
  }));

  describe("a member taken out of the config", () => {
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-members-"));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("is no longer a member after a restart: its later events are refused, its earlier ones stay", () => ledgered({
      area: "hostile input",
      tried: "a member deleted from network.members, the site restarted, then 2 of its later events offered",
    }, () => {
      const me = generateSigner().signer;
      const net = new SimNetwork({ names: ["m"], seed: 62 });
      const m = net.sites[0] as SimSite;
      const config = (members: { name: string; key: string }[]) => parseSiteConfig({
        site: { name: "base" }, network: { name: "n", members }, server: { kind: "kobo", url: "http://kf.local", token: "t" },
        mappings: [{ type: "household", source: { kobo: { asset: "a" } } }],
      });
      try {
        for (let i = 0; i < 4; i++) m.upsert(`uuid:m-${i}`, "household", { size: i });
        const events = m.store.readEvents(m.signer.author, 1, 4);
        let store = openSiteStore({ config: config([{ name: "m", key: m.signer.author }]), signer: me, dataDir: dir });
        assert.equal(store.ingest(events.slice(0, 2)).applied, 2);
        store.close();
        store = openSiteStore({ config: config([]), signer: me, dataDir: dir });
        try {
          assert.equal(store.isMember(m.signer.author), false, "the store still trusts a member the config no longer lists");
          assert.deepEqual(store.ingest(events.slice(2)).refused, { "non-member": 2 });
          assert.equal(store.headSeq(m.signer.author), 2);
          assert.ok(store.getRecord(recordId("uuid:m-1")), "its earlier records stay");
          assert.deepEqual(store.frontier().has(m.signer.author), false, "it is no longer offered to peers");
        } finally {
          store.close();
        }
        return "no longer a member after the restart (fixed: the store kept trusting it); both refused as non-member; its 2 earlier events stay";
      } finally {
        net.close();
      }
    }));
  });

  // Fails today: the removed member's beacons carry a digest over its own feed, which the others never match, so
  // every beacon resets their Trickle timers; and they answer its frontier (which lacks nothing) again and again.
  const chatter = "sync-node.ts: a removed member still on the air keeps every other station's beacons and frontiers at full rate";
  it("a removed member still on the air does not keep the others from settling", { todo: chatter }, () => {
    const sent = (s: SimSite) => Object.values(s.node.stats.framesSent).reduce((x, y) => x + y, 0);
    const net = new SimNetwork({ names: ["a", "b", "c", "m"], seed: 64 });
    try {
      const m = net.sites[3] as SimSite;
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(2 * HOUR, () => net.converged());
      for (const s of honest(net)) s.store.removeMember(m.signer.author);
      m.upsert("uuid:m-1", "household", { size: 2 });
      net.runFor(2 * HOUR);
      const before = honest(net).map(sent);
      net.runFor(4 * HOUR);
      const per4h = honest(net).map((s, i) => sent(s) - (before[i] ?? 0));
      assert.ok(per4h.every((n) => n <= SETTLED_FRAMES_4H), `the other stations sent ${per4h.join(", ")} frames in 4 h`);
    } finally {
      net.close();
    }
  });

  // Fails today: removal is not an event. A site that removes the member later than another applies events
  // the other refused, and nothing ever makes them agree again: the views differ for good.
  const todo = "no replicated removal (a signed 'remove member M after seq N' event every site applies alike)";
  it("sites that learn of a removal at different times still end with one view", { todo }, () => {
    const net = new SimNetwork({ names: ["a", "b", "m"], seed: 63 });
    try {
      const [a, b, m] = net.sites as [SimSite, SimSite, SimSite];
      m.upsert("uuid:m-0", "household", { size: 1 });
      net.runFor(HOUR, () => net.converged());
      a.store.removeMember(m.signer.author); // a's admin acts at once
      m.upsert("uuid:m-0", "household", { size: 2 });
      net.runFor(HOUR, () => b.store.headSeq(m.signer.author) === 2);
      b.store.removeMember(m.signer.author); // b's admin a day later
      net.runFor(HOUR);
      assert.equal(field(a, "uuid:m-0", "size"), field(b, "uuid:m-0", "size"), "a and b disagree on m's record");
    } finally {
      net.close();
    }
  });
});
