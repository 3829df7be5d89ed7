/**
 * A station running the seed prototype's anti-entropy protocol
 * (`meshlog/node.py` Node.gossip_round and Node._on_message) over our Link
 * and Clock, so benchmarks can set it against ours on the same simulated
 * radio and the same duty-cycle budget:
 *
 * - every gossip round it sends `{"t":"frontier","f":{author: seq}}` to each
 *   reachable peer, one unicast message per peer (on a broadcast radio each is
 *   its own transmission; stations it is not addressed to ignore it);
 * - on a peer's frontier it pushes the peer's whole delta at once, in
 *   `{"t":"events","e":[...]}` messages of at most SEED_MAX_EVENTS_PER_MSG
 *   events, JSON exactly as the prototype's `json.dumps` writes it;
 * - it ingests events idempotently into gap-tolerant per-author feeds.
 *
 * The prototype has no flow control, so neither does this station: a push
 * triggered while an earlier one is still on air queues behind it. Messages
 * longer than the link's mtu are cut into frames with an 8-byte header (see
 * seed-framing.ts), far less than Reticulum would add. It does not keep an
 * HLC (it emits nothing) nor persist anything.
 */
import { z } from "zod";
import type { Clock, CancelTimer } from "../src/radio/clock.js";
import type { Link, ReceivedFrame } from "../src/radio/link.js";
import { pyJsonDumps, seedEventsMessage, type PyDict, type SeedEvent } from "../src/baseline/seed-encoding.js";
import { SeedFeedStore, type SeedFrontier } from "./seed-feed-store.js";
import { SEED_BROADCAST, SEED_MAX_ADDRESS, SeedReassembler, decodeSeedFrame, encodeSeedAnnounce, encodeSeedFrames } from "./seed-framing.js";
import { createSendQueue, type SeedGate, type SendQueue } from "./seed-send-queue.js";

export type { SeedGate } from "./seed-send-queue.js";

/** `MAX_EVENTS_PER_MSG` in meshlog/node.py (line 33): events per "events" message. */
export const SEED_MAX_EVENTS_PER_MSG = 32;
/** `--gossip-interval` default of the `meshlogd` CLI (meshlog/cli.py line 61): 10.0 s between rounds. */
export const SEED_GOSSIP_INTERVAL_MS = 10_000;

/** How to build a station; only address, link and clock are required. */
export interface SeedStationOptions {
  /** This station's one-byte address, 0..254. */
  readonly address: number;
  /** The link to send on; the caller starts and stops it. */
  readonly link: Link;
  readonly clock: Clock;
  /** The station's feeds at start: events made with SeedFeed (its own, and any it already holds). */
  readonly events?: readonly SeedEvent[];
  /** Time between gossip rounds; default SEED_GOSSIP_INTERVAL_MS. */
  readonly gossipIntervalMs?: number;
  /** Clock time of the first round (to stagger stations); default: when start() is called. */
  readonly firstRoundAt?: number;
  /** Whom to gossip with. Default: every station heard so far (learned from announces and any frame). */
  readonly peers?: readonly number[];
  /** Without `peers`: the station announces itself at start and then every this many ms (default: only at start). */
  readonly announceIntervalMs?: number;
  /** A duty-cycle budget shared with whatever else the benchmark runs; default: none. */
  readonly gate?: SeedGate;
  /** Frames allowed to wait in the send queue; a message that does not fit is dropped whole. Default: unbounded, like the prototype. */
  readonly maxQueuedFrames?: number;
}

/** Counters of one station. Invariant: airtimeMs is the sum of link.airtimeMs over the frames counted in framesSent. */
export interface SeedStationStats {
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly airtimeMs: number;
  readonly messagesSent: { readonly announce: number; readonly frontier: number; readonly events: number };
  readonly eventsSent: number;
  /** Messages not queued because the queue was full. */
  readonly messagesDropped: number;
  readonly queuedFrames: number;
  readonly framesReceived: number;
  /** Frames heard but addressed to another station. */
  readonly framesIgnored: number;
  /** Frames, or reassembled messages, that could not be read. */
  readonly malformed: number;
  readonly messagesReceived: number;
  readonly eventsReceived: number;
  readonly eventsApplied: number;
}

/** One station of the seed protocol. Its frontier and counters are snapshots: each call returns fresh objects. */
export interface SeedStation {
  readonly address: number;
  /** Starts receiving and the gossip rounds (and the announces). */
  start(): void;
  /** Stops for good: timers, receiving and sending end; queued frames are never sent. Idempotent. */
  stop(): void;
  /** Adds events (new local submissions, say) as the prototype's store would ingest them; returns how many it applied. */
  ingest(events: readonly SeedEvent[]): number;
  /** The prototype's frontier: author → highest contiguous seq held. */
  frontier(): SeedFrontier;
  eventCount(): number;
  /** The stations this one gossips with now. */
  peers(): number[];
  /** Nothing on air and nothing queued. */
  idle(): boolean;
  stats(): SeedStationStats;
}

const WireEvent = z.object({
  a: z.string(),
  s: z.number().int().min(1),
  h: z.tuple([z.number().int(), z.number().int()]),
  k: z.string(),
  // JSON.parse made it, so every value in it is a JSON value: a PyDict.
  p: z.custom<PyDict>((x) => typeof x === "object" && x !== null && !Array.isArray(x)),
  v: z.string(),
  i: z.string(),
});
const Message = z.discriminatedUnion("t", [
  z.object({ t: z.literal("frontier"), f: z.record(z.string(), z.number().int().min(0)) }),
  z.object({ t: z.literal("events"), e: z.array(WireEvent) }),
]);
type Message = z.infer<typeof Message>;

/** `Event.from_wire`. */
const fromWire = (w: z.infer<typeof WireEvent>): SeedEvent => ({ author: w.a, seq: w.s, hlc: w.h, kind: w.k, payload: w.p, prev: w.v, id: w.i });

function parseMessage(bytes: Uint8Array): Message | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = Message.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

function checkOptions(o: SeedStationOptions): void {
  const bad = (a: number): boolean => !Number.isInteger(a) || a < 0 || a > SEED_MAX_ADDRESS;
  if (bad(o.address)) throw new RangeError(`seed station address ${o.address} is not an integer in 0..${SEED_MAX_ADDRESS}`);
  const peer = o.peers?.find(bad);
  if (peer !== undefined) throw new RangeError(`seed peer address ${peer} is not an integer in 0..${SEED_MAX_ADDRESS}`);
  if ((o.gossipIntervalMs ?? SEED_GOSSIP_INTERVAL_MS) <= 0) throw new RangeError(`gossipIntervalMs must be positive, got ${o.gossipIntervalMs}`);
}

/** A seed-protocol station; see the module comment for what it does and how faithfully. */
export function createSeedStation(options: SeedStationOptions): SeedStation {
  checkOptions(options);
  const { address, link, clock } = options;
  const interval = options.gossipIntervalMs ?? SEED_GOSSIP_INTERVAL_MS;
  const store = new SeedFeedStore();
  store.ingestMany(options.events ?? []);
  const heard = new Set<number>();
  const reassembler = new SeedReassembler();
  const c: Mutable<SeedStationStats> = {
    framesSent: 0, bytesSent: 0, airtimeMs: 0, messagesSent: { announce: 0, frontier: 0, events: 0 }, eventsSent: 0, messagesDropped: 0,
    queuedFrames: 0, framesReceived: 0, framesIgnored: 0, malformed: 0, messagesReceived: 0, eventsReceived: 0, eventsApplied: 0,
  };
  const queue: SendQueue = createSendQueue({ link, clock, gate: options.gate, maxFrames: options.maxQueuedFrames, stats: c });
  const timers: CancelTimer[] = [];
  let messageId = 0;
  let running = false;

  const peers = (): number[] => [...(options.peers ?? heard)];

  function send(dest: number, kind: "frontier" | "events", message: Uint8Array): boolean {
    messageId = (messageId + 1) & 0xffff;
    const queued = queue.push(encodeSeedFrames(dest, address, messageId, message, link.mtu));
    if (queued) c.messagesSent[kind]++;
    return queued;
  }

  function gossipRound(): void {
    const message = Buffer.from(pyJsonDumps({ t: "frontier", f: store.frontier() }), "utf8");
    for (const peer of peers()) send(peer, "frontier", message);
  }

  function pushDelta(to: number, remote: SeedFrontier): void {
    const delta = store.deltaFor(remote);
    for (let i = 0; i < delta.length; i += SEED_MAX_EVENTS_PER_MSG) {
      const chunk = delta.slice(i, i + SEED_MAX_EVENTS_PER_MSG);
      if (send(to, "events", seedEventsMessage(chunk))) c.eventsSent += chunk.length;
    }
  }

  function onMessage(src: number, bytes: Uint8Array): void {
    const msg = parseMessage(bytes);
    if (!msg) {
      c.malformed++;
      return;
    }
    c.messagesReceived++;
    if (msg.t === "frontier") return pushDelta(src, msg.f);
    c.eventsReceived += msg.e.length;
    c.eventsApplied += store.ingestMany(msg.e.map(fromWire));
  }

  function onFrame(received: ReceivedFrame): void {
    if (!running) return;
    const frame = decodeSeedFrame(received.bytes);
    if (!frame) {
      c.malformed++;
      return;
    }
    c.framesReceived++;
    if (frame.src !== address) heard.add(frame.src);
    if (frame.dest !== address && frame.dest !== SEED_BROADCAST) {
      c.framesIgnored++;
      return;
    }
    const message = reassembler.accept(frame);
    if (message) onMessage(frame.src, message);
  }

  /** Runs `run` at `at`, then every `period` ms (an infinite period: once), until stop(). */
  function every(at: number, period: number, run: () => void): void {
    const slot = timers.length;
    const tick = (): void => {
      if (!running) return;
      run();
      if (Number.isFinite(period)) timers[slot] = clock.at(clock.now() + period, tick);
    };
    timers.push(clock.at(at, tick));
  }

  function announce(): void {
    if (queue.push([encodeSeedAnnounce(address)])) c.messagesSent.announce++;
  }

  return {
    address,
    start() {
      if (running) return;
      running = true;
      link.onFrame(onFrame);
      if (!options.peers) every(clock.now(), options.announceIntervalMs ?? Number.POSITIVE_INFINITY, announce);
      every(options.firstRoundAt ?? clock.now(), interval, gossipRound);
    },
    stop() {
      running = false;
      for (const cancel of timers.splice(0)) cancel();
      queue.stop();
    },
    ingest: (events) => store.ingestMany(events),
    frontier: () => store.frontier(),
    eventCount: () => store.eventCount(),
    peers,
    idle: () => queue.idle(),
    stats: () => ({ ...c, messagesSent: { ...c.messagesSent }, queuedFrames: queue.size() }),
  };
}
