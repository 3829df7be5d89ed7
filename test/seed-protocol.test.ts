/**
 * The seed prototype's protocol, re-implemented for benchmarks
 * (bench/seed-protocol.ts), on a loopback bus: stations with disjoint feeds
 * converge, frames fit the mtu, messages are the prototype's JSON, and a
 * duty-cycle gate is obeyed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHash } from "node:crypto";
import { SeedFeed, seedEventsMessage, type PyDict, type SeedEvent } from "../src/baseline/seed-encoding.js";
import { decodeSeedFrame, encodeSeedFrames, SeedReassembler, SEED_FRAME_HEADER_BYTES } from "../bench/seed-framing.js";
import { createSeedStation, SEED_MAX_EVENTS_PER_MSG, type SeedGate, type SeedStation, type SeedStationOptions } from "../bench/seed-protocol.js";
import type { CborMap } from "../src/engine/cbor.js";
import { LoopbackBus, VirtualClock } from "./support/loopback-link.js";

const MTU = 200;

/** A prototype author id: 32 hex characters, like an RNS identity hash. */
const authorOf = (name: string): string => createHash("sha256").update(name).digest("hex").slice(0, 32);

/** `submissions` household-like records by one author, as the prototype's events. */
function feedEvents(name: string, submissions: number): SeedEvent[] {
  const feed = new SeedFeed(authorOf(name));
  let wall = 1_710_000_000_000;
  const tick = () => ({ wall: wall++, counter: 0 });
  const out: SeedEvent[] = [];
  for (let i = 0; i < submissions; i++) {
    const fields: CborMap = {
      "loc/village": "dalori", "hh/head_name": `Aisha ${name}`, "hh/size": 3 + i, "wash/water_litres": 62.5,
      "needs/priority": ["food", "shelter", "water"], "loc/gps": [11.8793, 13.2936, 312.4, 4.8],
      members: [{ name: "Aisha", age: 34, sex: "female" }, { name: "Modu", age: 3, sex: "male" }],
    };
    out.push(...feed.submission(`uuid:${name}-${i}`, "aMsnaHousehold2024", fields, tick));
  }
  return out;
}

/** An event as `Event.to_wire` writes it. */
interface WireEvent {
  readonly a: string;
  readonly s: number;
  readonly h: [number, number];
  readonly k: string;
  readonly p: PyDict;
  readonly v: string;
  readonly i: string;
}

interface Net {
  readonly clock: VirtualClock;
  readonly bus: LoopbackBus;
  readonly stations: SeedStation[];
}

async function network(feeds: readonly SeedEvent[][], extra: Partial<SeedStationOptions> = {}, clock = new VirtualClock()): Promise<Net> {
  const bus = new LoopbackBus(clock, { mtu: MTU });
  const stations: SeedStation[] = [];
  for (const [i, events] of feeds.entries()) {
    const link = bus.attach(`s${i}`);
    await link.start();
    // Stagger the rounds, as nodes started by hand would be.
    stations.push(createSeedStation({ address: i + 1, link, clock, events, firstRoundAt: 1_000 + 2_500 * i, ...extra }));
  }
  for (const s of stations) s.start();
  return { clock, bus, stations };
}

const sortedFrontier = (s: SeedStation): [string, number][] => Object.entries(s.frontier()).sort(([a], [b]) => (a < b ? -1 : 1));
const converged = (stations: readonly SeedStation[], total: number): boolean => stations.every((s) => s.eventCount() === total);

/** Every message carried on the bus, put back together from its frames. */
function messagesOnBus(bus: LoopbackBus): Uint8Array[] {
  const r = new SeedReassembler();
  const out: Uint8Array[] = [];
  for (const f of bus.frames) {
    const frame = decodeSeedFrame(f.bytes);
    assert.ok(frame, "every frame on the bus decodes");
    const m = r.accept(frame);
    if (m) out.push(m);
  }
  return out;
}

describe("seed protocol station", () => {
  it("converges three stations with disjoint feeds to identical frontiers", async () => {
    const feeds = ["base", "team_a", "team_b"].map((n, i) => feedEvents(n, 3 + i));
    const total = feeds.reduce((n, f) => n + f.length, 0);
    const { clock, bus, stations } = await network(feeds);
    assert.equal(clock.run(600_000, () => converged(stations, total)), "stopped");
    const expected = feeds.map((f) => [f[0]?.author, f.length]).sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
    for (const s of stations) assert.deepEqual(sortedFrontier(s), expected);
    assert.ok(bus.frames.every((f) => f.bytes.length <= MTU));
    for (const s of stations) assert.deepEqual(s.peers().sort(), [1, 2, 3].filter((a) => a !== s.address));
    // Each frontier went to one peer; the third station heard it and let it be.
    assert.ok(stations.every((s) => s.stats().framesIgnored > 0));
  });

  it("never sends a frame longer than the mtu, and counts what it sent", async () => {
    const { clock, bus, stations } = await network([feedEvents("a", 4), feedEvents("b", 2), []]);
    clock.run(120_000);
    assert.ok(bus.frames.length > 0);
    assert.ok(bus.frames.every((f) => f.bytes.length <= MTU));
    assert.ok(bus.frames.some((f) => f.bytes.length === MTU), "long messages are cut into full frames");
    for (const [i, s] of stations.entries()) {
      const mine = bus.frames.filter((f) => f.from === `s${i}`);
      const st = s.stats();
      assert.equal(st.framesSent, mine.length);
      assert.equal(st.bytesSent, mine.reduce((n, f) => n + f.bytes.length, 0));
      assert.equal(st.airtimeMs, mine.reduce((n, f) => n + f.airtimeMs, 0));
    }
  });

  it("sends one frame at a time, each after the previous one's airtime", async () => {
    const { clock, bus } = await network([feedEvents("a", 3), feedEvents("b", 3)]);
    clock.run(60_000);
    for (const name of ["s0", "s1"]) {
      const mine = bus.frames.filter((f) => f.from === name);
      assert.ok(mine.length > 10);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.at >= mine[i - 1]!.at + mine[i - 1]!.airtimeMs, `${name} frame ${i}`);
    }
  });

  it("speaks the prototype's JSON: frontiers, and events in chunks of 32", async () => {
    const feeds = [feedEvents("a", 3), feedEvents("b", 1)];
    const { clock, bus, stations } = await network(feeds);
    assert.equal(clock.run(600_000, () => converged(stations, feeds[0]!.length + feeds[1]!.length)), "stopped");
    const messages = messagesOnBus(bus).map((m) => Buffer.from(m).toString("utf8"));
    const frontiers = messages.filter((m) => m.startsWith('{"t":"frontier","f":{'));
    const events = messages.filter((m) => m.startsWith('{"t":"events","e":['));
    assert.ok(frontiers.length > 0 && events.length > 0);
    assert.equal(frontiers.length + events.length, messages.length);
    for (const m of events) {
      const wire = (JSON.parse(m) as { e: WireEvent[] }).e;
      assert.ok(wire.length <= SEED_MAX_EVENTS_PER_MSG);
      const again = wire.map((w): SeedEvent => ({ author: w.a, seq: w.s, hlc: w.h, kind: w.k, payload: w.p, prev: w.v, id: w.i }));
      assert.equal(seedEventsMessage(again).toString("utf8"), m, "re-encoding a message gives its bytes back");
    }
  });

  it("waits for the duty-cycle gate before every frame", async () => {
    const clock = new VirtualClock();
    const feeds = [feedEvents("a", 1), feedEvents("b", 1)];
    const total = feeds[0]!.length + feeds[1]!.length;
    const { bus, stations } = await network(feeds, { gate: percentGate(clock, 1, 30_000) }, clock);
    assert.equal(clock.run(24 * 3_600_000, () => converged(stations, total)), "stopped");
    assert.ok(bus.frames.every((f) => f.at >= 30_000), "nothing before the gate opens");
    for (const [i, f] of bus.frames.entries()) {
      const prev = bus.frames[i - 1];
      if (prev) assert.ok(f.at >= prev.at + prev.airtimeMs * 100 - 1e-9, `frame ${i} kept the 1 % off-time`);
    }
  });
});

describe("seed frames", () => {
  it("split a message into frames of at most the mtu that reassemble in any order", () => {
    const message = Buffer.from("x".repeat(1000));
    const frames = encodeSeedFrames(2, 1, 7, message, 100);
    assert.equal(frames.length, Math.ceil(1000 / (100 - SEED_FRAME_HEADER_BYTES)));
    const r = new SeedReassembler();
    const shuffled = [...frames.slice(5), frames[0]!, ...frames.slice(0, 5)];
    const done = shuffled.map((f) => r.accept(decodeSeedFrame(f)!)).filter((m) => m !== undefined);
    assert.deepEqual(done.map((m) => Buffer.from(m).toString()), [message.toString()]);
    assert.equal(r.pending(), 0);
  });
});

/**
 * A gate shared by every station on the bus (one channel): closed until
 * `opensAt`, then after each frame silent for 99 times its airtime (1 %).
 */
function percentGate(clock: VirtualClock, percent: number, opensAt: number): SeedGate {
  let next = opensAt;
  return {
    canSend: () => clock.now() >= next,
    earliestStart: () => next,
    onSent: (airtime) => {
      next = clock.now() + airtime * (100 / percent);
    },
  };
}
