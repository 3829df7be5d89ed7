/**
 * The air codec: sync messages in, radio frames out, and back. It owns no
 * timers and no I/O: the station calls `encode` to send, `receive` for each
 * frame heard, and `poll` at `nextWake()` for nacks and re-sends, with time
 * and randomness injected. See frame.ts and fragments.ts for the byte layouts.
 *
 * A message that fits one frame (≤ payloadCapacity()) goes as one `message`
 * frame; a longer one as fragments, kept to answer nacks. Everything a
 * station hears is checked (see openFrame) and ends as a delivered message, a
 * stored fragment, a handled nack, or a drop counted by reason; `receive`
 * never throws, and memory stays within the limits whatever it is fed.
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import {
  DEFAULT_MTU, FRAGMENT_HEADER_BYTES, MAX_MTU, MAX_NETWORK_ID, MESSAGE_ID_MODULUS, MIN_MTU, NONCE_COUNTER_BYTES, STATION_ID_BYTES,
} from "./constants.js";
import { createFrameCodec, type FrameCodec, type OpenedFrame } from "./frame.js";
import {
  decodeFragmentBody, decodeNackBody, encodeFragmentBody, encodeNackBody, maxFragmentedBytes, messageKey, splitMessage,
  type NackBody,
} from "./fragments.js";
import { deriveFrameKey } from "./network-key.js";
import { resolveLimits, resolveTiming, type AirLimits, type AirTiming } from "./options.js";
import { createReassembly, type Reassembly, type ReassemblyUsage } from "./reassembly.js";
import { createHeldCache, createResender, type HeldCache, type Resender } from "./resend.js";
import { createStats, type AirDropReason, type AirStats } from "./stats.js";

export interface AirCodecOptions {
  /** This network's id (0..65535), e.g. networkIdFromName(config name); frames of other ids are dropped. */
  readonly networkId: number;
  /** This site's 4-byte station id (its author short tag); unique among the network's members. */
  readonly stationId: Uint8Array;
  /** The 32-byte network key (parseNetworkKey). With one, every frame this station sends is sealed. */
  readonly networkKey?: Uint8Array | null;
  /** Drop unsealed frames (counted "unsealed-refused"). Needs networkKey. Default: true when a key is set. */
  readonly requireSealed?: boolean;
  /** Largest frame, MIN_MTU..MAX_MTU; default 254, one LoRa packet through an RNode. */
  readonly mtu?: number;
  readonly clock: Pick<Clock, "now">;
  /** Uniform in [0, 1): jitter and the first message id. */
  readonly random: () => number;
  /** Cryptographic random bytes for the nonce counter's start; default node's randomBytes. Never a seeded source in production. */
  readonly randomBytes?: (n: number) => Uint8Array;
  readonly limits?: Partial<AirLimits>;
  readonly timing?: Partial<AirTiming>;
  /**
   * Whether a fragmented message whose first chunk (its first bytes) is
   * `messageStart` carries anything this station lacks; default: all do. One
   * that does not is dropped from reassembly at once and never nacked, so a
   * station does not ask a busy relay to repeat what it only overheard.
   */
  readonly wanted?: (messageStart: Uint8Array) => boolean;
  /**
   * Station `nacker` asks for the rest of a fragmented message this station
   * holds; `messageStart` is its first chunk. Return false if the nacker
   * already has what the message carries (it only overheard it): the nack
   * is then not answered. Otherwise the sync layer need not send that
   * station those events again: the re-sent fragments bring them.
   */
  readonly onNacked?: (nacker: Uint8Array, messageStart: Uint8Array) => boolean;
}

export type AirReceiveResult =
  | { kind: "message"; from: Uint8Array; message: Uint8Array }
  /** A valid frame that delivers nothing yet: a fragment stored, a duplicate, a nack heard. */
  | { kind: "none" }
  | { kind: "dropped"; reason: AirDropReason };

export interface AirUsage extends ReassemblyUsage {
  readonly heldOwn: { messages: number; bytes: number };
  readonly heldOverheard: { messages: number; bytes: number };
  readonly pendingResends: number;
}

export interface AirCodec {
  /** Live counters (read-only to callers). */
  readonly stats: Readonly<AirStats>;
  readonly mtu: number;
  /** Whether this station seals what it sends. */
  readonly sealed: boolean;
  /** Largest message that fits ONE frame; the station sizes sync messages to it. */
  payloadCapacity(): number;
  /** Largest message `encode` accepts (255 fragments). */
  maxMessageBytes(): number;
  /** The frames carrying `message`, each ≤ mtu. Throws RangeError above maxMessageBytes() (a programmer error). */
  encode(message: Uint8Array): Uint8Array[];
  /** Handles one frame heard on air. Never throws; every frame is decoded or counted as dropped. */
  receive(frame: Uint8Array): AirReceiveResult;
  /** Frames due now (re-sent fragments, then nacks); the caller sends them in order. */
  poll(): Uint8Array[];
  /** When `poll` may next have something, on the injected clock (Infinity when idle). */
  nextWake(): number;
  /** Memory held, for tests and the status API. */
  usage(): AirUsage;
  /** Whether a fragmented message from station `origin` is partly received: the rest may still come. */
  receivingFrom(origin: Uint8Array): boolean;
}

export function createAirCodec(options: AirCodecOptions): AirCodec {
  return new StationCodec(options);
}

class StationCodec implements AirCodec {
  readonly stats = createStats();
  readonly mtu: number;
  readonly sealed: boolean;
  private readonly stationId: Uint8Array;
  private readonly frames: FrameCodec;
  private readonly capacity: number;
  private readonly chunkBytes: number;
  private readonly reassembly: Reassembly;
  private readonly own: HeldCache;
  private readonly overheard: HeldCache;
  private readonly resender: Resender;
  private nextMessageId: number;

  constructor(private readonly options: AirCodecOptions) {
    const c = resolveOptions(options);
    this.mtu = c.mtu;
    this.sealed = c.frameKey !== null;
    this.stationId = c.stationId;
    this.frames = createFrameCodec({
      networkId: options.networkId, stationId: c.stationId, frameKey: c.frameKey,
      requireSealed: c.requireSealed, mtu: c.mtu, nonceStart: c.randomBytes(NONCE_COUNTER_BYTES),
    });
    this.capacity = c.mtu - this.frames.overhead;
    this.chunkBytes = this.capacity - FRAGMENT_HEADER_BYTES;
    this.reassembly = createReassembly({
      limits: c.limits, timing: c.timing, random: options.random, perFragmentBytes: c.mtu + this.chunkBytes,
    });
    this.own = createHeldCache(c.limits.maxHeldMessages, c.limits.maxHeldBytes, c.limits.heldTtlMs);
    this.overheard = createHeldCache(c.limits.maxHeldMessages, c.limits.maxHeldBytes, c.limits.heldTtlMs);
    this.resender = createResender({
      stationId: c.stationId, own: this.own, overheard: this.overheard, answerDelayMs: c.timing.answerDelayMs,
      maxPending: 2 * c.limits.maxHeldMessages, random: options.random,
    });
    // A random first id makes a restarted sender unlikely to reuse ids still in others' reassembly.
    this.nextMessageId = Math.floor(options.random() * MESSAGE_ID_MODULUS) % MESSAGE_ID_MODULUS;
  }

  payloadCapacity(): number {
    return this.capacity;
  }

  maxMessageBytes(): number {
    return maxFragmentedBytes(this.chunkBytes);
  }

  encode(message: Uint8Array): Uint8Array[] {
    if (message.length <= this.capacity) {
      this.count({ messagesEncoded: 1, framesEncoded: 1 });
      return [this.frames.build("message", message)];
    }
    const chunks = splitMessage(message, this.chunkBytes);
    const messageId = this.nextMessageId;
    this.nextMessageId = (messageId + 1) % MESSAGE_ID_MODULUS;
    const out = chunks.map((chunk, index) =>
      this.frames.build("fragment", encodeFragmentBody({ messageId, index, count: chunks.length, chunk })));
    this.own.put(messageKey(this.stationId, messageId), out, this.now());
    this.count({ messagesEncoded: 1, messagesFragmented: 1, fragmentsEncoded: out.length, framesEncoded: out.length });
    return out;
  }

  receive(frame: Uint8Array): AirReceiveResult {
    this.stats.framesReceived += 1;
    const t = this.now();
    this.stats.partialsDropped.expired += this.reassembly.expire(t);
    const opened = this.frames.open(frame);
    if (!opened.ok) return this.drop(opened.reason);
    if (Buffer.compare(opened.sender, this.stationId) === 0) {
      if (opened.kind === "fragment") this.heardFragment(opened.sender, opened.body);
      return this.drop("own-echo");
    }
    switch (opened.kind) {
      case "message":
        this.count({ framesDecoded: 1, messagesDelivered: 1 });
        return { kind: "message", from: opened.sender, message: opened.body };
      case "fragment":
        return this.receiveFragment(opened, new Uint8Array(frame), t);
      case "nack":
        return this.receiveNack(opened, t);
    }
  }

  poll(): Uint8Array[] {
    const t = this.now();
    this.stats.partialsDropped.expired += this.reassembly.expire(t);
    const out = this.resender.due(t);
    this.count({ fragmentsResent: out.length });
    for (const nack of this.reassembly.dueNacks(t)) {
      out.push(this.frames.build("nack", encodeNackBody(nack)));
      this.count({ nacksSent: 1, framesEncoded: 1 });
    }
    return out;
  }

  nextWake(): number {
    return Math.min(this.reassembly.nextWake(), this.resender.nextWake());
  }

  receivingFrom(origin: Uint8Array): boolean {
    return this.reassembly.receiving(origin);
  }

  usage(): AirUsage {
    const t = this.now();
    return {
      ...this.reassembly.usage(), heldOwn: this.own.usage(t), heldOverheard: this.overheard.usage(t),
      pendingResends: this.resender.pending(),
    };
  }

  private now(): number {
    return this.options.clock.now();
  }

  private count(add: Partial<Record<CounterName, number>>): void {
    for (const [name, n] of Object.entries(add) as [CounterName, number][]) this.stats[name] += n;
  }

  private drop(reason: AirDropReason): AirReceiveResult {
    this.stats.dropped[reason] += 1;
    return { kind: "dropped", reason };
  }

  /** Strikes an overheard fragment from our pending re-sends (someone else already sent it). */
  private heardFragment(origin: Uint8Array, body: Uint8Array): void {
    const f = decodeFragmentBody(body);
    if (f && this.resender.onFragmentHeard(messageKey(origin, f.messageId), f.index)) this.stats.resendsSuppressed += 1;
  }

  private receiveFragment(opened: OpenedFrame, frame: Uint8Array, t: number): AirReceiveResult {
    const f = decodeFragmentBody(opened.body);
    if (!f) return this.drop("malformed-fragment");
    this.heardFragment(opened.sender, opened.body);
    const r = this.reassembly.add(opened.sender, f, frame, t);
    if (r.kind === "refused") return this.drop(r.reason);
    if (r.kind === "duplicate") {
      this.count({ framesDecoded: 1, fragmentsDuplicate: 1 });
      return { kind: "none" };
    }
    this.count({ framesDecoded: 1, fragmentsReceived: 1 });
    if (r.kind === "stored" && f.index === 0 && this.options.wanted?.(f.chunk) === false) {
      this.reassembly.forget(opened.sender, f.messageId, t);
      this.stats.partialsDropped.unwanted += 1;
      return { kind: "none" };
    }
    if (r.kind === "stored") return { kind: "none" };
    if (r.kind === "bad-check") {
      this.stats.partialsDropped["bad-check"] += 1;
      return { kind: "none" };
    }
    this.overheard.put(messageKey(opened.sender, f.messageId), r.frames, t);
    this.count({ messagesReassembled: 1, messagesDelivered: 1 });
    return { kind: "message", from: opened.sender, message: r.message };
  }

  private receiveNack(opened: OpenedFrame, t: number): AirReceiveResult {
    const nack = decodeNackBody(opened.body);
    if (!nack) return this.drop("malformed-nack");
    this.count({ framesDecoded: 1, nacksReceived: 1 });
    if (this.reassembly.overheardNack(nack, t)) this.stats.nacksSuppressed += 1;
    if (!this.nackWanted(opened.sender, nack, t)) this.stats.nacksRefused += 1;
    else if (this.resender.onNack(nack, t)) this.stats.nacksAnswered += 1;
    return { kind: "none" };
  }

  /** Asks the caller whether `nacker` needs the message, from the first fragment we hold of it. */
  private nackWanted(nacker: Uint8Array, nack: NackBody, t: number): boolean {
    if (!this.options.onNacked) return true;
    const own = Buffer.compare(nack.origin, this.stationId) === 0;
    const first = (own ? this.own : this.overheard).get(messageKey(nack.origin, nack.messageId), t)?.[0];
    const opened = first ? this.frames.open(first) : undefined;
    const f = opened?.ok ? decodeFragmentBody(opened.body) : undefined;
    return f?.index !== 0 || this.options.onNacked(nacker, f.chunk);
  }
}

/** The plain counters of AirStats (not the by-reason maps). */
type CounterName = Exclude<keyof AirStats, "dropped" | "partialsDropped">;

interface ResolvedOptions {
  readonly stationId: Uint8Array;
  readonly frameKey: Buffer | null;
  readonly requireSealed: boolean;
  readonly mtu: number;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly limits: AirLimits;
  readonly timing: AirTiming;
}

/** Checks the options; throws RangeError on a misconfiguration (a programmer error: config is validated before). */
function resolveOptions(o: AirCodecOptions): ResolvedOptions {
  if (!Number.isInteger(o.networkId) || o.networkId < 0 || o.networkId > MAX_NETWORK_ID) {
    throw new RangeError(`network id must be an integer 0..${MAX_NETWORK_ID}, got ${o.networkId}`);
  }
  if (o.stationId.length !== STATION_ID_BYTES) {
    throw new RangeError(`station id must be ${STATION_ID_BYTES} bytes, got ${o.stationId.length}`);
  }
  const mtu = o.mtu ?? DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new RangeError(`air mtu must be an integer ${MIN_MTU}..${MAX_MTU}, got ${mtu}`);
  }
  const frameKey = o.networkKey ? deriveFrameKey(o.networkKey) : null;
  const requireSealed = o.requireSealed ?? frameKey !== null;
  if (requireSealed && !frameKey) throw new RangeError("requireSealed needs a network key");
  return {
    stationId: new Uint8Array(o.stationId), frameKey, requireSealed, mtu,
    randomBytes: o.randomBytes ?? nodeRandomBytes,
    limits: resolveLimits(o.limits), timing: resolveTiming(o.timing),
  };
}
