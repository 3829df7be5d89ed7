/**
 * A radio station: the engine's sync node on a link, through the air framing.
 *
 * It is the scheduler that owns the transmitter: one frame with the link at a
 * time (half duplex), handed over only when the duty-cycle budget allows it,
 * and booked when the link says it really went on the air (after carrier
 * sense): with nothing else handed over in between, the check at hand-over
 * still holds at that later moment, so the budget is never exceeded whatever
 * the protocol wants. A sync message is pulled from the node only when it can
 * go out at once (budget and pacer allow), so nothing waits in a queue going
 * stale while the budget refills (the node keeps its own due answers, and
 * drops those overheard meanwhile); its frames are budgeted as a whole and go
 * back to back. The air layer's nacks and re-sends go first. Timings derive
 * from the frame airtime and the budget (station-timing.ts).
 * It also tracks the stations it hears (last heard, RSSI, SNR, how far behind
 * or ahead of us they are) for the status API.
 */
import type { AuthorId } from "../engine/ids.js";
import type { Frontier } from "../engine/frontier.js";
import type { SyncNode } from "../engine/sync/sync-node.js";
import { silentLogger, type Logger } from "../log/logger.js";
import type { AirCodec } from "./air/codec.js";
import { createPacer } from "./pacer.js";
import { PACE_BURST_FRAMES, PULL_FRAMES, START_JITTER_FRAMES } from "./station-timing.js";
import { FRAME_KIND, KIND_MASK, OFFSET } from "./air/constants.js";
import type { CancelTimer, Clock } from "./clock.js";
import type { AirtimeBucket, DutyCycle } from "./duty-cycle.js";
import { createHeardStations, type HeardStation } from "./heard-stations.js";
import type { Link, ReceivedFrame } from "./link.js";

export * from "./station-timing.js";
export type { HeardStation } from "./heard-stations.js";

/**
 * Silence after our own frame before the next: the receivers' radios switch
 * from receive back to listening, and others get a chance to answer between
 * the frames of a long answer (RNode firmware leaves a similar gap).
 */
export const TX_GAP_MS = 50;

/**
 * How long a frame handed to a radio link may take to go on the air (carrier
 * sense, a busy channel) before the station stops waiting for it, in frames.
 */
const TRANSMIT_WAIT_FRAMES = 20;

export interface StationStatus {
  readonly airtime: {
    readonly budgetMs: number;
    readonly windowMs: number;
    readonly usedMs: number;
    readonly leftMs: number;
    readonly totalMs: number;
    readonly history: AirtimeBucket[];
  };
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  /** Frames waiting for the transmitter or the budget. */
  readonly queued: number;
  readonly heard: HeardStation[];
}

export interface StationOptions {
  readonly node: SyncNode;
  /** The store's frontier, for the lag of the stations heard. */
  readonly frontier: () => Frontier;
  /** A member's author id from its short tag, for naming stations heard. */
  readonly authorByShort?: (short: Uint8Array) => AuthorId | undefined;
  readonly names?: (author: AuthorId) => string | undefined;
  readonly link: Link;
  readonly codec: AirCodec;
  readonly dutyCycle: DutyCycle;
  readonly clock: Clock;
  readonly log?: Logger;
  readonly txGapMs?: number;
  /** Uniform [0, 1) source for the start jitter (see START_JITTER_FRAMES); seed it for reproducible runs. */
  readonly random?: () => number;
}

export interface Station {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Call after events were appended locally: neighbours hear of it soon. */
  kick(): void;
  status(): StationStatus;
}

/** The frames of one message (or one re-sent fragment, one nack): budgeted as a whole, then sent back to back. */
interface Unit {
  readonly frames: Uint8Array[];
  readonly airtimeMs: number;
  /** A sync message waits for the pacer; air-layer frames (nacks, re-sends) complete messages under way and do not. */
  readonly paced: boolean;
  /** Whether the budget for the whole unit was found and its first frame handed over. */
  started: boolean;
  /** The jittered start, drawn once the budget allows the unit. */
  startAt: number | null;
}

export function createStation(o: StationOptions): Station {
  const log = (o.log ?? silentLogger).child({ component: "station" });
  const gap = o.txGapMs ?? TX_GAP_MS;
  const random = o.random ?? Math.random;
  const maxFrameAirtime = o.link.airtimeMs(o.codec.mtu);
  const pacer = createPacer(o.clock, o.dutyCycle.budgetMs / o.dutyCycle.windowMs, PACE_BURST_FRAMES * maxFrameAirtime);
  const pullAirtime = PULL_FRAMES * maxFrameAirtime;
  const heard = createHeardStations(o);
  const outbox: Unit[] = [];
  const counts = { framesSent: 0, bytesSent: 0, framesReceived: 0, airtimeMs: 0 };
  let busyUntil = 0;
  /** A frame is with the link and has not started on the air yet (radio links only). */
  let handedAt: number | null = null;
  const radioBooking = o.link.onTransmit !== undefined;
  const transmitWaitMs = TRANSMIT_WAIT_FRAMES * maxFrameAirtime + 10_000;
  let timer: CancelTimer | null = null;
  let plannedAt = Number.POSITIVE_INFINITY;
  let running = false;

  function unitOf(encoded: readonly Uint8Array[], paced: boolean): Unit {
    const frames = [...encoded]; // the codec keeps its own array to answer nacks
    const airtimeMs = frames.reduce((sum, f) => sum + o.link.airtimeMs(f.length), 0);
    return { frames, airtimeMs, paced, started: false, startAt: null };
  }

  /** When the unit's next frame may start: after our last frame, and (for its first) within the budget, jittered. */
  function unitStart(u: Unit, now: number): number {
    if (u.started) return busyUntil;
    const paced = u.paced ? pacer.readyAt(u.airtimeMs) : now;
    const allowed = Math.max(busyUntil, paced, o.dutyCycle.earliestStart(u.airtimeMs));
    // Read the clock again: a real clock moves while the budget is asked, and "allowed now" comes back a
    // little after `now` (comparing with the stale `now` put the start off for ever).
    if (allowed > Math.max(now, o.clock.now())) {
      u.startAt = null;
      return allowed;
    }
    u.startAt ??= now + random() * START_JITTER_FRAMES * maxFrameAirtime;
    return u.startAt;
  }

  function plan(): void {
    if (!running) return;
    const now = o.clock.now();
    let wake: number;
    const head = outbox[0];
    if (handedAt !== null) wake = handedAt + transmitWaitMs; // woken sooner by onTransmit
    else if (head?.started) wake = unitStart(head, now);
    else if (head) wake = Math.min(unitStart(head, now), pullAt(o.codec.nextWake(), now));
    else wake = Math.min(pullAt(o.codec.nextWake(), now), Math.max(pullAt(o.node.nextWake(), now), pacer.readyAt(pullAirtime)));
    wake = Math.max(wake, now);
    if (timer && wake >= plannedAt) return;
    timer?.();
    plannedAt = wake;
    timer = o.clock.at(wake, pump);
  }

  /** When something due at `due` can be pulled: after our last frame, with budget for a full frame. */
  function pullAt(due: number, now: number): number {
    return due > now ? due : Math.max(busyUntil, o.dutyCycle.earliestStart(maxFrameAirtime));
  }

  /**
   * Air-layer frames (re-sent fragments, nacks: each its own unit) go first,
   * even ahead of a message still waiting for its budget: they complete
   * messages already on their way. Then, with the outbox empty and the
   * pacer ready for a typical message, the node's most urgent message: made
   * when it can go, it is what the node knows now, not minutes ago.
   */
  function pull(): void {
    // Taken only when they can go at once: a nack kept waiting for the budget would be repeated meanwhile.
    if (outbox[0]?.started || !o.dutyCycle.canSend(maxFrameAirtime)) return;
    outbox.unshift(...o.codec.poll().map((frame) => unitOf([frame], false)));
    if (outbox.length > 0 || pacer.readyAt(pullAirtime) > o.clock.now()) return;
    for (const message of o.node.poll(1)) {
      try {
        outbox.push(unitOf(o.codec.encode(message), true));
      } catch (err) {
        log.error("a sync message is too large to send; dropped", { bytes: message.length, error: String(err) });
      }
    }
  }

  function pump(): void {
    timer = null;
    plannedAt = Number.POSITIVE_INFINITY;
    if (!running) return;
    const now = o.clock.now();
    if (handedAt !== null && now - handedAt >= transmitWaitMs) {
      log.warn("the radio did not send a frame in time; going on", { waitedMs: now - handedAt });
      handedAt = null;
    }
    if (handedAt === null && now >= busyUntil) pull();
    const unit = outbox[0];
    if (unit && handedAt === null && now >= unitStart(unit, now)) send(unit);
    plan();
  }

  /** Hands the unit's next frame to the link; the budget is checked for every frame, so it is never exceeded. */
  function send(unit: Unit): void {
    const frame = unit.frames[0] as Uint8Array;
    const airtime = o.link.airtimeMs(frame.length);
    if (!o.dutyCycle.canSend(airtime)) return;
    if (!unit.started) pacer.spend(unit.airtimeMs);
    unit.started = true;
    unit.frames.shift();
    if (unit.frames.length === 0) outbox.shift();
    counts.framesSent++;
    counts.bytesSent += frame.length;
    if (radioBooking) handedAt = o.clock.now();
    else onAir(airtime);
    o.link.send(frame);
  }

  /** A frame of ours went on the air now: book it, and keep the transmitter until it is done. */
  function onAir(airtime: number): void {
    o.dutyCycle.record(airtime);
    counts.airtimeMs += airtime;
    busyUntil = o.clock.now() + airtime + gap;
    handedAt = null;
  }

  function receive(frame: ReceivedFrame): void {
    counts.framesReceived++;
    const r = o.codec.receive(frame.bytes);
    // A fragment names its message's origin, which is not its transmitter when another station re-sends
    // it: only whole messages and nacks say who we hear, and how well.
    const kind = (frame.bytes[OFFSET.type] ?? 0) & KIND_MASK;
    const h = r.kind !== "dropped" && kind !== FRAME_KIND.fragment ? heard.from(frame) : undefined;
    if (r.kind === "message") {
      const m = o.node.receive(r.message, r.from);
      if (m && h) heard.learn(h, m);
    }
    plan();
  }

  return {
    async start() {
      if (running) return;
      o.link.onFrame(receive);
      o.link.onTransmit?.((airtime) => {
        onAir(airtime);
        plan();
      });
      await o.link.start();
      running = true;
      plan();
    },
    async stop() {
      running = false;
      timer?.();
      timer = null;
      plannedAt = Number.POSITIVE_INFINITY;
      await o.link.stop();
    },
    kick() {
      o.node.localChange();
      plan();
    },
    status() {
      const d = o.dutyCycle;
      return {
        airtime: { budgetMs: d.budgetMs, windowMs: d.windowMs, usedMs: d.used(), leftMs: d.left(), totalMs: counts.airtimeMs, history: d.history() },
        framesSent: counts.framesSent,
        bytesSent: counts.bytesSent,
        framesReceived: counts.framesReceived,
        queued: outbox.reduce((n, u) => n + u.frames.length, 0),
        heard: heard.list(),
      };
    },
  };
}
