/**
 * Hostile air: 100 000 random and mutated frames into a sealed codec (bit
 * flips, truncation, extension, spliced headers, replays, and frames sealed
 * with the real key that carry absurd fragment and nack fields), then 30 000
 * structurally random frames with valid CRCs into an unsealed one. Nothing
 * throws, no message is delivered that no member sent, memory stays within
 * the limits, and every frame is either decoded or counted as dropped.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "node:zlib";
import { seededRandom } from "../src/engine/random.js";
import { createAirCodec, type AirCodec } from "../src/radio/air/codec.js";
import { HEADER_BYTES } from "../src/radio/air/constants.js";
import { encodeNackBody } from "../src/radio/air/fragments.js";
import { createFrameCodec, type FrameCodec } from "../src/radio/air/frame.js";
import { deriveFrameKey, parseNetworkKey } from "../src/radio/air/network-key.js";
import type { AirLimits } from "../src/radio/air/options.js";
import { totalDropped } from "../src/radio/air/stats.js";

const NET = 0x5eed;
const KEY = parseNetworkKey("7a".repeat(32));
const LIMITS: Partial<AirLimits> = {
  maxPartials: 16, maxPartialsPerSender: 4, maxReassemblyBytes: 256 * 1024, maxHeldMessages: 8,
  maxHeldBytes: 64 * 1024, maxRecentKeys: 64, partialTtlMs: 120_000,
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

interface Fuzz {
  readonly rng: () => number;
  int(n: number): number;
  bytes(n: number): Uint8Array;
  pick<T>(xs: readonly T[]): T;
}

function fuzz(seed: number): Fuzz {
  const rng = seededRandom(seed);
  const int = (n: number): number => Math.floor(rng() * n);
  return {
    rng, int,
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T,
  };
}

/** A member's frame builder: it seals any body with the real network key. */
function member(networkKey: Uint8Array | null, station: number): FrameCodec {
  return createFrameCodec({
    networkId: NET, stationId: Uint8Array.of(0x4d, 0, 0, station), frameKey: networkKey ? deriveFrameKey(networkKey) : null,
    requireSealed: false, mtu: 254, nonceStart: Uint8Array.of(0, 0, 0, 0, station, 0, 0, 0),
  });
}

/** A fragment body with fields anywhere in their ranges, ids few so that they collide into partials. */
function absurdFragment(f: Fuzz): Uint8Array {
  const body = Buffer.alloc(4 + f.pick([0, 1, 2, f.int(226), 226]));
  body.writeUInt16BE(f.int(6), 0);
  body[2] = f.pick([0, 1, f.int(256), 254, 255]);
  body[3] = f.pick([0, 1, 2, 3, f.int(256), 255]);
  body.set(f.bytes(body.length - 4), 4);
  return body.subarray(0, f.rng() < 0.05 ? f.int(4) : body.length);
}

function mutate(f: Fuzz, frame: Uint8Array, other: Uint8Array): Uint8Array {
  const g = new Uint8Array(frame);
  switch (f.int(4)) {
    case 0:
      for (let k = 1 + f.int(8); k > 0; k--) {
        const at = f.int(g.length);
        g[at] = (g[at] ?? 0) ^ (1 << f.int(8));
      }
      return g;
    case 1:
      return g.subarray(0, f.int(g.length));
    case 2:
      return Uint8Array.from([...g, ...f.bytes(1 + f.int(40))]);
    default:
      return Uint8Array.from([...other.subarray(0, HEADER_BYTES), ...g.subarray(HEADER_BYTES)]);
  }
}

function checkBounds(c: AirCodec): void {
  const u = c.usage();
  assert.ok(u.partials <= (LIMITS.maxPartials ?? 0), `partials ${u.partials}`);
  assert.ok(u.reservedBytes <= (LIMITS.maxReassemblyBytes ?? 0), `reserved ${u.reservedBytes}`);
  assert.ok(u.heldBytes <= u.reservedBytes);
  assert.ok(u.heldOverheard.bytes <= (LIMITS.maxHeldBytes ?? 0) && u.heldOverheard.messages <= (LIMITS.maxHeldMessages ?? 0));
  assert.ok(u.recentKeys <= (LIMITS.maxRecentKeys ?? 0));
  assert.ok(u.pendingResends <= 2 * (LIMITS.maxHeldMessages ?? 0));
}

function checkCounted(c: AirCodec, n: number): void {
  assert.equal(c.stats.framesReceived, n);
  assert.equal(c.stats.framesDecoded + totalDropped(c.stats), n);
}

describe("air fuzz", () => {
  it("100 000 hostile frames into a sealed codec: no throw, nothing forged delivered, bounded, all counted", () => {
    const f = fuzz(20260501);
    let t = 0;
    const clock = { now: () => t };
    const SENDER = Uint8Array.of(0x53, 0, 0, 1);
    // Message ids from 0, so forged nacks can name the sender's real messages and exercise the re-sends.
    const sender = createAirCodec({ networkId: NET, stationId: SENDER, networkKey: KEY, clock, random: () => 0, limits: LIMITS });
    const receiver = createAirCodec({ networkId: NET, stationId: Uint8Array.of(0x52, 0, 0, 1), networkKey: KEY, clock, random: f.rng, limits: LIMITS });
    const sealing = member(KEY, 7);
    const sent = new Set<string>();
    const valid: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      const m = f.bytes(f.pick([0, 1, 50, 230, 231, 600, 3_000, f.int(8_000)]));
      sent.add(hex(m));
      valid.push(...sender.encode(m));
    }
    const generators: (() => Uint8Array)[] = [
      () => f.bytes(f.int(300)),
      () => f.pick(valid),
      () => mutate(f, f.pick(valid), f.pick(valid)),
      () => mutate(f, f.pick(valid), f.pick(valid)),
      () => sealing.build("fragment", absurdFragment(f)),
      () => sealing.build("nack", f.rng() < 0.5 ? f.bytes(f.int(60)) : Uint8Array.from([...SENDER, ...f.bytes(2 + f.int(34))])),
      () => {
        const count = 2 + f.int(36);
        const missing = [...new Set([f.int(count), f.int(count), f.int(count)])];
        return sealing.build("nack", encodeNackBody({ origin: SENDER, messageId: f.int(60), count, missing }));
      },
      () => member(null, 9).build(f.pick(["message", "fragment", "nack"] as const), f.bytes(f.int(240))),
      () => Uint8Array.from([1, NET >> 8, NET & 0xff, f.int(256), ...f.bytes(f.int(250))]),
      () => {
        const m = f.bytes(f.int(230));
        sent.add(hex(m));
        return sealing.build("message", m);
      },
    ];
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const r = receiver.receive(f.pick(generators)());
      if (r.kind === "message") assert.ok(sent.has(hex(r.message)), "a delivered message was sent by a member");
      if (i % 64 === 0) {
        t += f.int(4_000);
        for (const frame of receiver.poll()) assert.ok(frame.length <= 254);
        checkBounds(receiver);
      }
    }
    checkCounted(receiver, N);
    assert.ok(receiver.stats.dropped["auth-failed"] > 10_000);
    assert.ok(receiver.stats.dropped["malformed-fragment"] > 0 && receiver.stats.dropped["malformed-nack"] > 0);
    assert.ok(receiver.stats.messagesReassembled > 0, "genuine fragmented messages still reassemble");
    assert.ok(receiver.stats.nacksAnswered > 0 && receiver.stats.fragmentsResent > 0, "and answer nacks");
  });

  it("30 000 structurally random frames with valid CRCs into an unsealed codec stay bounded and counted", () => {
    const f = fuzz(7);
    let t = 0;
    const receiver = createAirCodec({ networkId: NET, stationId: Uint8Array.of(0x52, 0, 0, 2), clock: { now: () => t }, random: f.rng, limits: LIMITS });
    const withCrc = (body: Uint8Array): Uint8Array => {
      const out = Buffer.alloc(body.length + 4);
      out.set(body);
      out.writeUInt32BE(crc32(body), body.length);
      return out;
    };
    const N = 30_000;
    for (let i = 0; i < N; i++) {
      const sender = [0x4d, 0, 0, f.int(12)];
      const kind = f.pick([0, 1, 2, 2, 2, 3, 3, 4, 0x82]);
      const body = kind === 2 ? absurdFragment(f) : f.bytes(f.int(f.pick([8, 60, 250])));
      receiver.receive(withCrc(Uint8Array.from([1, NET >> 8, NET & 0xff, kind, ...sender, ...body]).subarray(0, 250)));
      if (i % 64 === 0) {
        t += f.int(4_000);
        receiver.poll();
        checkBounds(receiver);
      }
    }
    checkCounted(receiver, N);
    assert.ok(receiver.stats.dropped["reassembly-full"] + receiver.stats.partialsDropped.expired > 0);
  });
});
