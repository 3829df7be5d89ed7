/**
 * Generators of hostile frames for one station, drawn from a real exchange:
 * each makes one or more frames, and some say what the air codec must make
 * of them (a frame with a foreign network id is dropped as such, whatever
 * else it carries). Frames that must reach the sync layer are framed
 * properly (sealed with the real key, or with a correct CRC), so the
 * mutation inside them reaches the deep paths: reassembly, CBOR decoding,
 * message parsing, wire-item parsing, vocabularies, ingest.
 */
import { shortTag } from "../../src/engine/frontier.js";
import { decodeMessage, encodeMessage, type EventsMessage } from "../../src/engine/sync/messages.js";
import { createAirCodec, type AirCodec, type AirReceiveResult } from "../../src/radio/air/codec.js";
import { FRAME_KIND, KIND_MASK, OFFSET } from "../../src/radio/air/constants.js";
import { decodeFragmentBody, encodeNackBody } from "../../src/radio/air/fragments.js";
import { createFrameCodec, type FrameCodec } from "../../src/radio/air/frame.js";
import { deriveFrameKey } from "../../src/radio/air/network-key.js";
import type { AuthorId } from "../../src/engine/ids.js";
import { attemptEncode, createCborBombs, editHeader, extend, flipBits, mutateMessage, mutateValue, truncate, type Fuzz } from "./frame-mutations.js";

const MTU = 254;

export interface HostileContext {
  readonly f: Fuzz;
  readonly networkId: number;
  readonly networkKey: Uint8Array | null;
  /** Frames captured on the air during the real exchange. */
  readonly captured: readonly Uint8Array[];
  /** Whole sync messages of the real exchange. */
  readonly messages: readonly Uint8Array[];
  /** The other members' authors (the station under test is not among them). */
  readonly members: readonly AuthorId[];
  /** The station under test's id. */
  readonly self: Uint8Array;
  /** The newest frames the station under test has sent (all of them, or a window ending at the newest). */
  readonly sentByTarget: readonly { readonly bytes: Uint8Array }[];
  /** How many frames the station under test has sent in all. */
  readonly sentTotal: () => number;
  /** The station under test's head seq of the feed a short tag names (0 for none). */
  readonly headOf: (short: Uint8Array) => number;
  readonly now: () => number;
}

/** What the air codec must make of a frame, as a check returning a complaint or undefined. */
export type Expectation = (r: AirReceiveResult) => string | undefined;

export interface HostileGenerator {
  readonly name: string;
  make(): Uint8Array[];
  /** Checked for every frame `make` returned. */
  readonly expect?: Expectation;
}

const dropped: Expectation = (r) => (r.kind === "dropped" ? undefined : `expected a drop, got ${r.kind}`);
const droppedAs = (reason: string): Expectation => (r) =>
  r.kind === "dropped" && r.reason === reason ? undefined : `expected a drop as ${reason}, got ${JSON.stringify(r.kind === "dropped" ? r.reason : r.kind)}`;
const delivered: Expectation = (r) => (r.kind === "message" ? undefined : `expected a delivered message, got ${JSON.stringify(r)}`);

function kindOf(frame: Uint8Array): number {
  return (frame[OFFSET.type] ?? 0) & KIND_MASK;
}

/** Frames built by other stations: members, the target's own id, strangers; sealed with the real key when the network has one. */
function makeSenders(c: HostileContext) {
  const frameKey = c.networkKey ? deriveFrameKey(c.networkKey) : null;
  const framers = new Map<string, FrameCodec>();
  const fragmenters = new Map<string, AirCodec>();
  const framer = (id: Uint8Array, key: Buffer | null = frameKey): FrameCodec => {
    const k = `${Buffer.from(id).toString("hex")}/${key ? key.toString("hex") : "-"}`;
    let fc = framers.get(k);
    if (!fc) {
      fc = createFrameCodec({ networkId: c.networkId, stationId: id, frameKey: key, requireSealed: false, mtu: MTU, nonceStart: c.f.bytes(8) });
      if (framers.size < 64) framers.set(k, fc);
    }
    return fc;
  };
  const fragmenter = (id: Uint8Array): AirCodec => {
    const k = Buffer.from(id).toString("hex");
    let ac = fragmenters.get(k);
    if (!ac) {
      ac = createAirCodec({ networkId: c.networkId, stationId: id, networkKey: c.networkKey, requireSealed: false, clock: { now: c.now }, random: c.f.rng, randomBytes: c.f.bytes });
      if (fragmenters.size < 64) fragmenters.set(k, ac);
    }
    return ac;
  };
  const memberIds = c.members.map((a) => new Uint8Array(shortTag(a)));
  /** A member, ourselves, a stranger we met before, or one never seen. */
  const anyone = (): Uint8Array =>
    c.f.pick([() => c.f.pick(memberIds), () => c.self, () => Uint8Array.of(0x5a, 0, 0, c.f.int(8)), () => c.f.bytes(4)])();
  /** The frames carrying `message` from `id`: one, or its fragments. */
  const capacity = fragmenter(c.self).payloadCapacity();
  const carry = (id: Uint8Array, message: Uint8Array): Uint8Array[] => {
    if (message.length <= capacity) return [framer(id).build("message", message)];
    const codec = fragmenter(id);
    return codec.encode(message.subarray(0, codec.maxMessageBytes()));
  };
  return { framer, memberIds, anyone, carry, capacity };
}

/** Frame-layer attacks: noise, edits of captured frames, foreign networks and versions, the wrong sealing. */
function frameLayer(c: HostileContext, s: ReturnType<typeof makeSenders>): HostileGenerator[] {
  const { f } = c;
  const captured = (): Uint8Array => f.pick(c.captured);
  const otherKey = deriveFrameKey(f.bytes(32));
  const gens: HostileGenerator[] = [
    { name: "random bytes", make: () => [f.bytes(f.int(300))], expect: dropped },
    { name: "plausible header, random rest", make: () => [Uint8Array.from([1, c.networkId >> 8, c.networkId & 0xff, f.int(256), ...f.bytes(4 + f.int(250))])], expect: dropped },
    { name: "replay of a captured frame", make: () => [captured()] },
    { name: "replay of the station's own frame", make: () => [c.sentByTarget.length > 0 ? f.pick(c.sentByTarget).bytes : captured()] },
    { name: "bit flips", make: () => [flipBits(f, captured())], expect: dropped },
    { name: "truncation", make: () => [truncate(f, captured())], expect: dropped },
    { name: "extension", make: () => [extend(f, captured())], expect: dropped },
    { name: "foreign network id", make: () => [editHeader(captured(), { network: (c.networkId + 1 + f.int(0xfffe)) & 0xffff })], expect: droppedAs("foreign-network") },
    { name: "wrong version", make: () => [editHeader(captured(), { version: f.pick([0, 2, 3, 0x7f, 0xff]) })], expect: droppedAs("bad-version") },
    {
      name: "unknown frame kind",
      make: () => {
        const frame = captured();
        return [editHeader(frame, { type: ((frame[OFFSET.type] ?? 0) & 0x80) | f.pick([0, 4, 5, 0x7f]) })];
      },
      expect: droppedAs("bad-type"),
    },
  ];
  if (c.networkKey) {
    gens.push(
      { name: "unsealed frame", make: () => [s.framer(s.anyone(), null).build("message", f.pick(c.messages).subarray(0, s.capacity))], expect: droppedAs("unsealed-refused") },
      { name: "sealed with another key", make: () => [s.framer(s.anyone(), otherKey).build(f.pick(["message", "fragment", "nack"] as const), f.bytes(1 + f.int(200)))], expect: droppedAs("auth-failed") },
    );
  } else {
    gens.push({ name: "sealed frame", make: () => [s.framer(s.anyone(), otherKey).build("message", f.bytes(1 + f.int(200)))], expect: droppedAs("no-key") });
  }
  return gens;
}

/**
 * A real events message moved so that it ends past the station's head of the
 * feed it names (so the node ingests it rather than ignoring a known range),
 * its items sometimes edited, its feed sometimes another member's: each item
 * lands at a slot already held (a different id: a forgery), the next slot,
 * or beyond (the gap buffer).
 */
function eventsPastHead(c: HostileContext, shorts: readonly Uint8Array[]): () => Uint8Array {
  const { f } = c;
  const events = c.messages.flatMap((m) => {
    const d = decodeMessage(m);
    return d.ok && d.message.type === "events" ? [d.message] : [];
  });
  return () => {
    const m = f.pick(events);
    const short = f.chance(0.8) ? m.short : f.pick(shorts);
    const start = Math.max(1, c.headOf(short) - m.items.length + 2 + f.int(3));
    const items = f.chance(0.5) ? m.items : m.items.map((item) => (f.chance(0.3) ? mutateValue(f, item) : item));
    const moved: EventsMessage = { type: "events", short, start, items };
    return attemptEncode(() => encodeMessage(moved)) ?? encodeMessage({ ...moved, items: m.items });
  };
}

/** Real and mutated sync messages, properly framed, from members, strangers and our own id. */
function messageLayer(c: HostileContext, s: ReturnType<typeof makeSenders>): HostileGenerator[] {
  const { f } = c;
  const small = c.messages.filter((m) => m.length <= s.capacity);
  const allShorts = [...s.memberIds, c.self];
  const hugeSeq = (): number => f.pick([2 ** 31, Number.MAX_SAFE_INTEGER, 1_000_000]);
  const pastHead = eventsPastHead(c, allShorts);
  const bomb = createCborBombs(50_000);
  return [
    { name: "real events moved past the station's head", make: () => s.carry(f.pick(s.memberIds), pastHead()) },
    { name: "real message re-sent by a member or a stranger", make: () => s.carry(f.pick([...s.memberIds, f.bytes(4)]), f.pick(c.messages)) },
    { name: "real message under our own id", make: () => [s.framer(c.self).build("message", f.pick(small))], expect: droppedAs("own-echo") },
    { name: "mutated real message", make: () => s.carry(s.anyone(), mutateMessage(f, f.pick(c.messages))) },
    { name: "mutated real message from a member", make: () => s.carry(f.pick(s.memberIds), mutateMessage(f, f.pick(c.messages))) },
    { name: "valid frame carrying random bytes", make: () => [s.framer(f.pick(s.memberIds)).build("message", f.bytes(1 + f.int(s.capacity)))], expect: delivered },
    { name: "CBOR bomb", make: () => s.carry(f.pick([...s.memberIds, f.bytes(4)]), bomb(f, allShorts)) },
    {
      name: "request for every feed to the end of time",
      make: () => s.carry(f.pick(s.memberIds), encodeMessage({ type: "request", ranges: allShorts.map((short) => ({ short, from: 1, to: hugeSeq() })) })),
    },
    {
      name: "frontier claiming huge feeds",
      make: () => s.carry(f.pick(s.memberIds), encodeMessage({ type: "frontier", digest: f.bytes(8), page: 0, pages: 1, entries: allShorts.map((short) => ({ short, seq: hugeSeq() })) })),
    },
    { name: "beacon with a strange digest", make: () => s.carry(s.anyone(), encodeMessage({ type: "beacon", digest: f.bytes(8), total: f.pick([0, 1, hugeSeq()]) })) },
  ];
}

/** A fragment body with fields anywhere in their ranges; few message ids, so they collide into partials. */
function absurdFragment(f: Fuzz, chunk: number): Uint8Array {
  const body = Buffer.alloc(4 + f.pick([0, 1, 2, f.int(chunk), chunk]));
  body.writeUInt16BE(f.int(6), 0);
  body[2] = f.pick([0, 1, f.int(256), 254, 255]);
  body[3] = f.pick([0, 1, 2, 3, f.int(256), 255]);
  body.set(f.bytes(body.length - 4), 4);
  return body.subarray(0, f.chance(0.05) ? f.int(4) : body.length);
}

/** Our own fragmented messages as the station sent them, (message id, count) pairs a nack may name; reads each sent frame once, while it is in the window. */
function ownFragmentsReader(c: HostileContext): () => { messageId: number; count: number }[] {
  const frameKey = c.networkKey ? deriveFrameKey(c.networkKey) : null;
  const opener = createFrameCodec({ networkId: c.networkId, stationId: Uint8Array.of(0xee, 0xee, 0xee, 0xef), frameKey, requireSealed: false, mtu: MTU, nonceStart: new Uint8Array(8) });
  const seen: { messageId: number; count: number }[] = [];
  let read = 0;
  return () => {
    const sent = c.sentByTarget;
    const total = c.sentTotal();
    const first = total - sent.length; // the number of the oldest frame still in the window
    for (read = Math.max(read, first); read < total; read++) {
      const frame = (sent[read - first] as { bytes: Uint8Array }).bytes;
      if (kindOf(frame) !== FRAME_KIND.fragment) continue;
      const o = opener.open(frame);
      const b = o.ok ? decodeFragmentBody(o.body) : null;
      if (b) seen.push({ messageId: b.messageId, count: b.count });
      if (seen.length > 64) seen.shift();
    }
    return seen;
  };
}

/** Fragments and nacks: absurd fields, partial deliveries of real messages, nacks for what we really sent. */
function fragmentLayer(c: HostileContext, s: ReturnType<typeof makeSenders>): HostileGenerator[] {
  const { f } = c;
  const big = c.messages.filter((m) => m.length > s.capacity);
  const nacks = c.captured.filter((fr) => kindOf(fr) === FRAME_KIND.nack);
  const ownFragments = ownFragmentsReader(c);
  return [
    { name: "fragment with absurd fields", make: () => [s.framer(s.anyone()).build("fragment", absurdFragment(f, s.capacity - 4))] },
    {
      name: "real fragmented message, shuffled, some lost, some twice",
      make: () => {
        const frames = s.carry(s.anyone(), f.pick(big.length > 0 ? big : c.messages));
        return frames.filter(() => !f.chance(0.2)).flatMap((fr) => (f.chance(0.1) ? [fr, fr] : [fr])).sort(() => f.rng() - 0.5);
      },
    },
    { name: "replay of a captured nack", make: () => [f.pick(nacks.length > 0 ? nacks : c.captured)] },
    { name: "nack with a random body", make: () => [s.framer(s.anyone()).build("nack", f.bytes(f.int(60)))] },
    {
      name: "nack for a message the station sent",
      make: () => {
        const own = ownFragments();
        const m = own.length > 0 ? f.pick(own) : { messageId: f.int(0x10000), count: 2 + f.int(30) };
        const missing = [...new Set([f.int(m.count), f.int(m.count), f.int(m.count)])];
        return [s.framer(f.pick(s.memberIds)).build("nack", encodeNackBody({ origin: c.self, messageId: m.messageId, count: m.count, missing }))];
      },
    },
  ];
}

export interface HostileGenerators {
  readonly all: HostileGenerator[];
  /** The frames carrying a message from station `id` (one, or its fragments), sealed with the network's key when it has one. */
  readonly carry: (id: Uint8Array, message: Uint8Array) => Uint8Array[];
}

/** Every generator, for a station whose network is described by `c`. */
export function hostileGenerators(c: HostileContext): HostileGenerators {
  const s = makeSenders(c);
  return { all: [...frameLayer(c, s), ...messageLayer(c, s), ...fragmentLayer(c, s)], carry: s.carry };
}
