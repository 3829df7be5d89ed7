import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SimNetwork } from "../src/demo/sim-network.js";
import { seededRandom } from "../src/engine/random.js";
import { decodeMessage, encodeMessage, type SyncMessage } from "../src/engine/sync/messages.js";
import { EVENTS_HEADER_BYTES, SYNC_DEFAULTS, SyncNode } from "../src/engine/sync/sync-node.js";
import { createTrickle } from "../src/engine/sync/trickle.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { generateSigner } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";

const short = Uint8Array.of(1, 2, 3, 4);
const digest = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

describe("sync messages", () => {
  const samples: SyncMessage[] = [
    { type: "beacon", digest, total: 1234 },
    { type: "frontier", digest, page: 0, pages: 2, entries: [{ short, seq: 7 }] },
    { type: "request", ranges: [{ short, from: 3, to: 9 }] },
    { type: "request", ranges: [{ short, from: 3, to: 9 }, { short, from: 12, to: null }], responder: short },
    { type: "events", short, start: 5, items: [[1, 0, 1, ["r", "t", null, { a: 1 }], new Uint8Array(64)]] },
  ];
  for (const [i, m] of samples.entries()) {
    it(`${m.type} round-trips (${i})`, () => {
      const parsed = decodeMessage(encodeMessage(m));
      assert.deepEqual(parsed, { ok: true, message: m });
    });
  }

  it("a beacon costs a dozen bytes", () => {
    assert.ok(encodeMessage(samples[0]!).length <= 16, `beacon is ${encodeMessage(samples[0]!).length} bytes`);
  });

  it("refuses other versions, unknown types and bad shapes", () => {
    const beacon = encodeMessage(samples[0]!);
    assert.deepEqual(decodeMessage(Buffer.concat([Buffer.of(beacon[0]!, 0x02), beacon.subarray(2)])), { ok: false, reason: "bad-version" });
    assert.deepEqual(decodeMessage(Buffer.from([0x82, 0x01, 0x09])), { ok: false, reason: "bad-type" });
    assert.deepEqual(decodeMessage(Buffer.from([0x83, 0x01, 0x03, 0x80])), { ok: true, message: { type: "request", ranges: [] } });
    assert.deepEqual(decodeMessage(Buffer.from([0x83, 0x01, 0x03, 0x83, 0x41, 0x00, 0x01, 0x01])), { ok: false, reason: "malformed-message" });
    assert.deepEqual(decodeMessage(Buffer.from([0xff])), { ok: false, reason: "undecodable" });
  });
});

describe("Trickle timer (RFC 6206)", () => {
  const options = { iminMs: 1000, imaxMs: 64_000, k: 1 };

  it("doubles its interval up to Imax while all is quiet, then fires once per interval", () => {
    const t = createTrickle(options, seededRandom(1), 0);
    let fired = 0;
    for (let now = 0; now < 3_600_000; now += 100) if (t.due(now)) fired++;
    assert.equal(t.interval(), 64_000);
    // 7 doubling intervals (1..64 s, 127 s) then one per 64 s for the rest of the hour.
    assert.ok(fired >= 55 && fired <= 65, `fired ${fired} times in an hour`);
  });

  it("is suppressed by k consistent messages and reset by an inconsistency", () => {
    const t = createTrickle(options, seededRandom(2), 0);
    for (let now = 0; now < 200_000; now += 100) t.due(now);
    assert.equal(t.interval(), 64_000);
    t.consistent();
    let fired = 0;
    for (let now = 200_000; now < 200_000 + 30_000; now += 100) if (t.due(now)) fired++;
    assert.equal(fired, 0, "a consistent beacon heard in this interval suppresses ours");
    t.inconsistent(230_000);
    assert.equal(t.interval(), 1000);
    let quick = false;
    for (let now = 230_000; now < 231_000; now += 10) quick ||= t.due(now);
    assert.ok(quick, "fires within Imin after an inconsistency");
  });
});

describe("sync node on a shared medium", () => {
  it("one answer serves every station that lacked the events (suppression)", () => {
    const names = ["src", "h1", "h2", "h3", "n1", "n2", "n3"];
    const net = new SimNetwork({ names, seed: 3 });
    try {
      // src, h1..h3 hold 30 events; then n1..n3 join. Holders must not all answer.
      net.medium.setIslands([["src", "h1", "h2", "h3"], ["n1"], ["n2"], ["n3"]]);
      for (let i = 0; i < 30; i++) net.site("src").upsert(`r${i}`, "t", { i, text: "x".repeat(20) });
      net.runFor(600_000, () => ["h1", "h2", "h3"].every((h) => net.site(h).store.eventCount() === 30));
      const before = net.sites.reduce((n, s) => n + s.node.stats.framesSent.events, 0);
      net.medium.setIslands(null);
      net.runFor(3_600_000, () => net.converged());
      assert.ok(net.converged());
      const eventFrames = net.sites.reduce((n, s) => n + s.node.stats.framesSent.events, 0) - before;
      // The fewest frames that can carry the feed: what one holder's answer takes.
      const src = net.site("src");
      let minimum = 0;
      for (let from = 1; from <= 30; minimum++) from += src.store.wireItems(src.signer.author, from, 30, SYNC_DEFAULTS.mtu - EVENTS_HEADER_BYTES).items.length;
      assert.ok(net.sites.some((s) => s.node.stats.suppressedEvents > 0), "some holder dropped events it overheard another send");
      assert.ok(eventFrames < 2 * minimum, `${eventFrames} event frames for 3 newcomers; the feed needs ${minimum}, and 4 holders answering each newcomer would send ${12 * minimum}`);
    } finally {
      net.close();
    }
  });

  it("relays feeds between sites that never meet, unknown kinds included but not applied", () => {
    const net = new SimNetwork({ names: ["a", "b", "c"], seed: 11, medium: { loss: 0.2, duplicate: 0.1, delayMs: [5, 400] } });
    try {
      const a = net.site("a");
      a.upsert("r1", "t", { v: 1 });
      const future = a.store.append({ kind: "unknown", code: 42, value: { from: "a newer meshlogd" } });
      a.node.localChange();
      a.station.kick();
      net.medium.setIslands([["a", "b"], ["c"]]);
      net.runFor(3_600_000, () => net.site("b").store.eventCount() === 2);
      net.medium.setIslands([["a"], ["b", "c"]]);
      net.runFor(3_600_000, () => net.site("c").store.eventCount() === 2);
      const c = net.site("c").store;
      assert.equal(c.headSeq(a.signer.author), 2, "c holds a's whole feed without ever hearing a");
      assert.deepEqual(c.readEvents(a.signer.author, 2, 2)[0]?.body, future.body, "the unknown kind is stored verbatim");
      assert.equal(c.recordCount(), 1, "and not applied to the view");
      assert.deepEqual(c.viewBytes(), a.store.viewBytes());
    } finally {
      net.close();
    }
  });

  it("costs almost nothing once every station agrees", () => {
    const net = new SimNetwork({ names: ["a", "b", "c", "d", "e"], seed: 5 });
    try {
      for (const s of net.sites) s.upsert(`rec-${s.name}`, "t", { v: 1 });
      net.runFor(3_600_000, () => net.converged());
      net.runFor(3_600_000); // let Trickle reach Imax
      const before = net.medium.stats.framesSent;
      const bytesBefore = net.medium.stats.bytesSent;
      net.runFor(24 * 3_600_000);
      const frames = net.medium.stats.framesSent - before;
      const bytes = net.medium.stats.bytesSent - bytesBefore;
      // Trickle with k=1: about one beacon per 10-minute interval for the whole neighbourhood.
      assert.ok(frames <= 24 * 6 * 2, `${frames} frames in a quiet day`);
      assert.ok(bytes / frames <= 16, "quiet traffic is beacons only");
    } finally {
      net.close();
    }
  });

  it("sends fresh events before backfill when the channel allows one frame", () => {
    let now = 1_767_225_600_000;
    const old = generateSigner().signer;
    const recent = generateSigner().signer;
    const me = generateSigner().signer;
    const stores = [old, recent].map((signer) => openStore({ path: ":memory:", signer, now: () => now }));
    const store = openStore({ path: ":memory:", signer: me, now: () => now });
    for (const s of [old, recent]) store.addMember(s.author);
    stores[0]!.append({ kind: "upsert", record: recordId("r-old"), type: recordType("t"), base: null, fields: { v: 1 } });
    now += 86_400_000; // a day later
    stores[1]!.append({ kind: "upsert", record: recordId("r-new"), type: recordType("t"), base: null, fields: { v: 2 } });
    store.ingest([...stores[0]!.readEvents(old.author, 1, 1), ...stores[1]!.readEvents(recent.author, 1, 1)]);
    const node = new SyncNode({ store, now: () => now, wallNow: () => now, random: () => 0 });
    // A newcomer's complete frontier lists nothing: everything we hold is missing there.
    node.receive(encodeMessage({ type: "frontier", digest: Buffer.alloc(8), page: 0, pages: 1, entries: [] }));
    // One frame per poll, as on a busy channel; control frames (our frontier) may go first.
    const frames = [];
    for (let i = 0; i < 5; i++, now += 1000) frames.push(...node.poll(1).map((f) => decodeMessage(f)));
    const first = frames.find((f) => f.ok && f.message.type === "events");
    assert.ok(first?.ok && first.message.type === "events");
    assert.deepEqual(Buffer.from(first.message.short), Buffer.from(recent.publicKey.subarray(0, 4)), "the fresh feed goes first");
  });
});
