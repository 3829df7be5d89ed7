/**
 * Fragmentation, reassembly and re-requests between codecs wired together by
 * a tiny in-test broadcast air on a virtual time counter: any order,
 * duplication and loss of fragments ends with every station holding the
 * message exactly once; buffers stay bounded under floods; stale partials
 * expire; nacks and re-sends are suppressed by what a station overhears.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { seededRandom } from "../src/engine/random.js";
import { createAirCodec, type AirCodec, type AirCodecOptions } from "../src/radio/air/codec.js";
import { FRAME_KIND, HEADER_BYTES, NACKS_WITHOUT_FIRST, OFFSET } from "../src/radio/air/constants.js";
import { parseNetworkKey } from "../src/radio/air/network-key.js";

const KEY = parseNetworkKey("42".repeat(32));
/** Virtual ms between two frames of one burst (about a frame's airtime at SF7). */
const FRAME_MS = 100;

interface Station {
  readonly codec: AirCodec;
  readonly delivered: Uint8Array[];
  /** Whether a copy of the broadcast message's first fragment reached it. */
  heardFirst: boolean;
}

/** Whether `to` hears this copy of `frame` from `from` (in addition to random loss). */
type Hears = (from: number, to: number, frame: Uint8Array) => boolean;

interface AirOptions {
  readonly stations: number;
  readonly seed?: number;
  readonly loss?: number;
  readonly duplicate?: number;
  readonly maxDelayMs?: number;
  readonly hears?: Hears;
  readonly codec?: (i: number) => Partial<AirCodecOptions>;
}

/** A broadcast channel: each frame sent reaches every other station after a random delay, unless lost. */
class Air {
  t = 0;
  readonly stations: Station[];
  private queue: { at: number; to: number; frame: Uint8Array }[] = [];
  private readonly rng: () => number;
  /** The first frame of the message broadcast (its fragment 0; a re-send is the same bytes). */
  private first: Uint8Array | null = null;

  constructor(readonly o: AirOptions) {
    this.rng = seededRandom(o.seed ?? 1);
    this.stations = Array.from({ length: o.stations }, (_, i) => ({
      delivered: [],
      heardFirst: false,
      codec: createAirCodec({
        networkId: 7, stationId: Uint8Array.of(0xc0, 0, 0, i + 1), clock: { now: () => this.t },
        random: seededRandom((o.seed ?? 1) * 31 + i), ...o.codec?.(i),
      }),
    }));
  }

  send(from: number, frames: readonly Uint8Array[]): void {
    frames.forEach((frame, k) => {
      for (let to = 0; to < this.stations.length; to++) {
        if (to === from || this.rng() < (this.o.loss ?? 0) || !(this.o.hears?.(from, to, frame) ?? true)) continue;
        const copies = this.rng() < (this.o.duplicate ?? 0) ? 2 : 1;
        for (let c = 0; c < copies; c++) {
          this.queue.push({ at: this.t + k * FRAME_MS + this.rng() * (this.o.maxDelayMs ?? 0), to, frame });
        }
      }
    });
  }

  /** Runs deliveries and polls until nothing is left to do or `untilMs` passes. */
  run(untilMs = 24 * 3_600_000): void {
    for (let steps = 0; steps < 1_000_000; steps++) {
      const next = Math.min(...this.queue.map((q) => q.at), ...this.stations.map((s) => s.codec.nextWake()));
      if (!Number.isFinite(next) || next > untilMs) return;
      this.t = Math.max(this.t, next);
      const due = this.queue.filter((q) => q.at <= this.t).sort((a, b) => a.at - b.at);
      this.queue = this.queue.filter((q) => q.at > this.t);
      for (const q of due) {
        const station = this.stations[q.to];
        if (station && this.first && Buffer.from(q.frame).equals(this.first)) station.heardFirst = true;
        const r = station?.codec.receive(q.frame);
        if (r?.kind === "message") station?.delivered.push(r.message);
      }
      this.stations.forEach((s, i) => this.send(i, s.codec.poll()));
    }
    throw new Error("air loop did not settle");
  }

  /** Station `from` sends `m`; then the air runs until it settles. */
  broadcast(from: number, m: Uint8Array): void {
    const frames = this.station(from).codec.encode(m);
    this.first = frames[0] ?? null;
    this.send(from, frames);
    this.run();
  }

  station(i: number): Station {
    const s = this.stations[i];
    if (!s) throw new RangeError(`no station ${i}`);
    return s;
  }
}

const message = (n: number, seed = n): Uint8Array => {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};
/** Fragment index of an unsealed fragment frame, or -1 for other frames. */
const fragmentIndex = (f: Uint8Array): number => ((f[OFFSET.type] ?? 0) === FRAME_KIND.fragment ? f[HEADER_BYTES + 2] ?? -1 : -1);
const isNack = (f: Uint8Array): boolean => ((f[OFFSET.type] ?? 0) & 0x7f) === FRAME_KIND.nack;
/** Hears everything but the first copy of each frame `lost` matches (a re-send gets through). */
const loseFirst = (lost: Hears): Hears => {
  const seen = new Set<string>();
  return (from, to, f) => {
    const key = `${to}:${Buffer.from(f).toString("hex")}`;
    if (!lost(from, to, f) || seen.has(key)) return true;
    seen.add(key);
    return false;
  };
};
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && Buffer.from(a).equals(b);

describe("air fragments: reassembly under order, duplication and loss", () => {
  it("any message up to the maximum reaches exactly once every station that heard its first fragment", () => {
    const maxSealed = createAirCodec({ networkId: 7, stationId: new Uint8Array(4), clock: { now: () => 0 }, random: Math.random, networkKey: KEY }).maxMessageBytes();
    let nacks = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: maxSealed })),
        fc.integer({ min: 1, max: 2 ** 30 }), fc.double({ min: 0, max: 0.25, noNaN: true }),
        fc.boolean(), fc.integer({ min: 2, max: 3 }),
        (size, seed, loss, sealed, stations) => {
          const air = new Air({
            stations, seed, loss, duplicate: 0.1, maxDelayMs: 5 * FRAME_MS,
            // Twenty nacks make a lost-forever fragment negligible at 25 % loss; the default 6 suits real links.
            codec: () => ({ networkKey: sealed ? KEY : null, limits: { maxNackRetries: 20, partialTtlMs: 86_400_000, heldTtlMs: 86_400_000 } }),
          });
          const m = message(size, seed);
          air.broadcast(0, m);
          const whole = size <= air.station(0).codec.payloadCapacity();
          for (let i = 1; i < stations; i++) {
            const got = air.station(i).delivered;
            // A whole-message frame arrives as often as the medium delivers it (0-2 here: sync messages are
            // idempotent). A fragmented one arrives exactly once at every station that heard its first fragment.
            // One that never got the first may not need the message (AirCodecOptions.wanted): it nacks at most
            // NACKS_WITHOUT_FIRST times and may then give up (its sync layer asks for the events); one that heard
            // no fragment cannot know the message exists. Never more than once.
            const st = air.station(i);
            const heard = st.codec.stats.fragmentsReceived > 0;
            if (whole) assert.ok(got.length <= 2);
            else if (st.heardFirst) assert.equal(got.length, 1, `station ${i} heard the first fragment but delivered ${got.length} (size ${size}, loss ${loss})`);
            else if (!heard) assert.equal(got.length, 0);
            else {
              assert.ok(got.length <= 1, `station ${i} delivered ${got.length}`);
              if (got.length === 0) assert.ok(st.codec.stats.nacksSent <= NACKS_WITHOUT_FIRST, `station ${i} gave up after ${st.codec.stats.nacksSent} nacks`);
            }
            assert.ok(got.every((g) => sameBytes(g, m)));
            // A partial given up on waits out its time to live (bounded, like every partial); all others are done.
            const gaveUp = !whole && heard && got.length === 0;
            assert.equal(air.station(i).codec.usage().partials, gaveUp ? 1 : 0);
            nacks += air.station(i).codec.stats.nacksSent;
          }
        },
      ),
      { numRuns: 100 },
    );
    assert.ok(nacks > 0, "the runs exercised the nack loop");
  });

  it("reordering and duplication alone need no nack", () => {
    const air = new Air({ stations: 3, seed: 5, duplicate: 0.5, maxDelayMs: 20 * FRAME_MS });
    const m = message(5_000);
    air.broadcast(0, m);
    for (const i of [1, 2]) {
      assert.ok(sameBytes(air.station(i).delivered[0], m));
      assert.equal(air.station(i).codec.stats.nacksSent, 0);
      assert.ok(air.station(i).codec.stats.fragmentsDuplicate > 0);
    }
  });
});

describe("air fragments: nacks and re-sends", () => {
  it("a station holding the message answers a nack the origin did not hear", () => {
    // 0 sends; 2 loses fragment 3 and cannot reach 0; 1 overhears 2's nack and re-sends.
    const hears: Hears = (from, to, f) => !(from === 0 && to === 2 && fragmentIndex(f) === 3) && !(from === 2 && to === 0);
    const air = new Air({ stations: 3, hears });
    const m = message(2_000);
    air.broadcast(0, m);
    assert.ok(sameBytes(air.station(2).delivered[0], m));
    assert.equal(air.station(2).codec.stats.nacksSent, 1);
    assert.equal(air.station(1).codec.stats.nacksAnswered, 1);
    assert.equal(air.station(1).codec.stats.fragmentsResent, 1);
    assert.equal(air.station(0).codec.stats.nacksReceived, 0);
  });

  it("the origin answers first and the relay's pending re-send is struck when it overhears it", () => {
    const hears = loseFirst((from, to, f) => from === 0 && to === 2 && fragmentIndex(f) === 1);
    const air = new Air({ stations: 3, hears });
    const m = message(2_000);
    air.broadcast(0, m);
    assert.ok(sameBytes(air.station(2).delivered[0], m));
    assert.equal(air.station(0).codec.stats.fragmentsResent, 1);
    assert.equal(air.station(1).codec.stats.nacksAnswered, 1, "the relay scheduled an answer");
    assert.equal(air.station(1).codec.stats.resendsSuppressed, 1, "and struck it on hearing the origin's");
    assert.equal(air.station(1).codec.stats.fragmentsResent, 0);
    assert.equal(air.station(1).codec.stats.fragmentsDuplicate, 1, "the late fragment started no new partial");
  });

  it("a station that overhears a nack for what it misses, and then the re-sent fragments, sends no nack", () => {
    // Stations 1 and 2 both lose fragment 2. Station 2 waits longest (random → 1), so it hears 1's nack first.
    const hears = loseFirst((from, to, f) => from === 0 && to > 0 && fragmentIndex(f) === 2);
    const air = new Air({ stations: 3, hears, codec: (i) => (i === 2 ? { random: () => 0.999 } : { random: () => 0 }) });
    const m = message(2_000);
    air.broadcast(0, m);
    for (const i of [1, 2]) assert.ok(sameBytes(air.station(i).delivered[0], m));
    assert.equal(air.station(1).codec.stats.nacksSent, 1);
    assert.equal(air.station(2).codec.stats.nacksSent, 0);
    assert.equal(air.station(2).codec.stats.nacksSuppressed, 1);
    assert.equal(air.station(0).codec.stats.fragmentsResent, 1, "one re-send served both");
  });

  it("a silent sender gets at most maxNackRetries nacks, then the partial expires and is counted", () => {
    const hears: Hears = (from, to, f) => from !== 0 || fragmentIndex(f) === 0;
    const air = new Air({ stations: 2, hears, codec: () => ({ limits: { maxNackRetries: 3, partialTtlMs: 600_000 } }) });
    air.broadcast(0, message(3_000));
    const b = air.station(1).codec;
    assert.equal(b.stats.nacksSent, 3);
    assert.equal(b.stats.partialsDropped.expired, 1);
    assert.equal(b.usage().partials, 0);
    assert.equal(b.nextWake(), Infinity);
    assert.ok(air.t >= 600_000);
  });
});

describe("air fragments: bounds", () => {
  it("a flood of partial messages from many senders stays within the limits and is counted", () => {
    const limits = { maxPartials: 8, maxPartialsPerSender: 2, maxReassemblyBytes: 64 * 1024, partialTtlMs: 60_000 };
    const air = new Air({ stations: 41, codec: (i) => (i === 0 ? { limits } : {}) });
    const target = air.station(0).codec;
    let offered = 0;
    for (let s = 1; s <= 40; s++) {
      for (let k = 0; k < 5; k++) {
        const first = air.station(s).codec.encode(message(1_000 + 97 * k, s * 10 + k))[0];
        assert.ok(first);
        target.receive(first);
        offered += 1;
        const u = target.usage();
        assert.ok(u.partials <= 8 && u.reservedBytes <= 64 * 1024 && u.heldBytes <= u.reservedBytes);
      }
    }
    assert.equal(target.stats.dropped["reassembly-full"], offered - 8);
    assert.equal(target.stats.framesReceived, target.stats.framesDecoded + target.stats.dropped["reassembly-full"]);
    air.t = 60_000;
    target.poll();
    assert.equal(target.stats.partialsDropped.expired, 8);
    assert.equal(target.usage().reservedBytes, 0);
    const m = message(4_000);
    const results = air.station(1).codec.encode(m).map((f) => target.receive(f));
    const last = results.at(-1);
    assert.ok(last?.kind === "message" && sameBytes(last.message, m), "a genuine message still gets through");
  });

  it("a partial reserves its worst case (count × (mtu + chunk)), so one admitted always completes", () => {
    const a = new Air({ stations: 2, codec: () => ({ limits: { maxReassemblyBytes: 70_000 } }) });
    const big = a.station(0).codec.encode(message(30_000));
    const second = a.station(0).codec.encode(message(30_000, 9));
    const b = a.station(1).codec;
    b.receive(big[0] ?? new Uint8Array());
    assert.equal(b.usage().reservedBytes, big.length * (254 + (254 - 12 - 4)));
    assert.deepEqual(b.receive(second[0] ?? new Uint8Array()), { kind: "dropped", reason: "reassembly-full" });
    const results = big.slice(1).map((f) => b.receive(f));
    assert.equal(results.at(-1)?.kind, "message");
  });

  it("the resend caches are bounded; a nack for an evicted message goes unanswered", () => {
    const air = new Air({ stations: 2, codec: () => ({ limits: { maxHeldMessages: 3 } }) });
    const a = air.station(0).codec;
    const firsts = Array.from({ length: 6 }, (_, k) => a.encode(message(600, k)));
    assert.equal(a.usage().heldOwn.messages, 3);
    const b = air.station(1).codec;
    b.receive(firsts[0]?.[0] ?? new Uint8Array());
    air.t = 60_000;
    const nack = b.poll().find(isNack);
    assert.ok(nack);
    a.receive(nack);
    assert.equal(a.stats.nacksAnswered, 0);
    assert.deepEqual(a.poll(), []);
  });
});

describe("air fragments: whole-message check and malformed fragments", () => {
  it("fragments of two messages that share an id are caught by the whole-message check", () => {
    const twin = (): AirCodec => createAirCodec({
      networkId: 7, stationId: Uint8Array.of(1, 1, 1, 1), clock: { now: () => 0 }, random: () => 0.25,
    });
    const x = twin().encode(message(1_000, 1));
    const y = twin().encode(message(1_000, 2));
    const b = createAirCodec({ networkId: 7, stationId: Uint8Array.of(2, 2, 2, 2), clock: { now: () => 0 }, random: () => 0.5 });
    const results = [x[0], ...y.slice(1)].map((f) => b.receive(f ?? new Uint8Array()));
    assert.ok(results.every((r) => r.kind === "none"));
    assert.equal(b.stats.partialsDropped["bad-check"], 1);
    assert.equal(b.stats.messagesDelivered, 0);
  });

  it("a fragment contradicting its partial's count or chunk size is dropped as malformed", () => {
    const twin = (mtu: number): AirCodec => createAirCodec({
      networkId: 7, stationId: Uint8Array.of(1, 1, 1, 1), clock: { now: () => 0 }, random: () => 0.25, mtu,
    });
    const x = twin(254).encode(message(1_000, 1));
    const longer = twin(254).encode(message(2_000, 1));
    const narrower = twin(250).encode(message(1_000, 1)); // same count (5), 4-byte shorter chunks
    const b = createAirCodec({ networkId: 7, stationId: Uint8Array.of(2, 2, 2, 2), clock: { now: () => 0 }, random: () => 0.5 });
    b.receive(x[0] ?? new Uint8Array());
    assert.deepEqual(b.receive(longer[1] ?? new Uint8Array()), { kind: "dropped", reason: "malformed-fragment" });
    assert.equal(narrower.length, x.length);
    assert.deepEqual(b.receive(narrower[1] ?? new Uint8Array()), { kind: "dropped", reason: "malformed-fragment" });
    assert.equal(b.receive(x[1] ?? new Uint8Array()).kind, "none", "the partial itself is unharmed");
  });
});

describe("air fragments: what the sync layer needs", () => {
  it("a message its first fragment shows unwanted is dropped at once and never nacked", () => {
    const hears = loseFirst((from, to, f) => from === 0 && to === 1 && fragmentIndex(f) === 2);
    const air = new Air({ stations: 2, hears, codec: (i) => (i === 1 ? { wanted: () => false } : {}) });
    air.broadcast(0, message(2_000));
    const b = air.station(1).codec;
    assert.equal(b.stats.partialsDropped.unwanted, 1);
    assert.equal(b.stats.nacksSent, 0);
    assert.equal(b.usage().partials, 0);
    assert.equal(air.station(1).delivered.length, 0);
  });

  it("without its first fragment a partial nacks twice at most; a sender refuses nacks for what the nacker holds", () => {
    // Station 1 never hears fragment 0: it cannot tell whether it needs the message. The origin knows it does not.
    const hears: Hears = (from, to, f) => !(from === 0 && to === 1 && fragmentIndex(f) === 0);
    const air = new Air({ stations: 2, hears, codec: (i) => (i === 0 ? { onNacked: () => false } : {}) });
    air.broadcast(0, message(2_000));
    assert.equal(air.station(1).codec.stats.nacksSent, NACKS_WITHOUT_FIRST);
    assert.equal(air.station(0).codec.stats.nacksRefused, NACKS_WITHOUT_FIRST);
    assert.equal(air.station(0).codec.stats.fragmentsResent, 0);
  });

  it("a sender told the nacker needs the message re-sends, and hears which station recovers what", () => {
    const nacked: string[] = [];
    const hears = loseFirst((from, to, f) => from === 0 && to === 1 && fragmentIndex(f) === 0);
    const air = new Air({
      stations: 2, hears,
      codec: (i) => (i === 0 ? { onNacked: (nacker, start) => nacked.push(`${Buffer.from(nacker).toString("hex")}:${start.length}`) > 0 } : {}),
    });
    const m = message(2_000);
    air.broadcast(0, m);
    assert.ok(sameBytes(air.station(1).delivered[0], m));
    assert.equal(nacked.length, 1);
    assert.ok(nacked[0]?.startsWith("c0000002:"), nacked[0]);
  });

  it("a repeated nack waits at least nackRepeatMs: a sender held by its budget gets time to answer", () => {
    const hears: Hears = (from, to) => !(from === 1 && to === 0); // the nacks never arrive
    const lost = (from: number, to: number, f: Uint8Array) => from === 0 && to === 1 && fragmentIndex(f) === 3;
    const nackTimes: number[] = [];
    const air = new Air({ stations: 2, hears: (from, to, f) => hears(from, to, f) && !lost(from, to, f), codec: () => ({ timing: { stallMs: 400, nackRepeatMs: 60_000 } }) });
    const send = air.send.bind(air);
    air.send = (from, frames) => {
      if (from === 1) for (const f of frames) if (isNack(f)) nackTimes.push(air.t);
      send(from, frames);
    };
    air.broadcast(0, message(2_000));
    assert.ok(nackTimes.length >= 2);
    for (let i = 1; i < nackTimes.length; i++) assert.ok((nackTimes[i] ?? 0) - (nackTimes[i - 1] ?? 0) >= 60_000);
  });
});
