/**
 * A radio station: the engine's sync node on a link, through the air framing.
 *
 * It is the scheduler that owns the transmitter: one frame with the link at a
 * time (half duplex), handed over only when the duty-cycle budget allows it,
 * and booked when the link says it really went on the air (after carrier
 * sense): with nothing else handed over in between, the check at hand-over
 * still holds at that later moment, so the budget is never exceeded whatever
 * the protocol wants. Sync messages are pulled from the node only when a frame can go out
 * at once, so nothing waits in a queue going stale while the budget refills
 * (the node keeps its own due answers, and drops those overheard meanwhile).
 * It also tracks the stations it hears (last heard, RSSI, SNR, how far behind
 * or ahead of us they are) for the status API.
 */
import type { AuthorId } from "../engine/ids.js";
import { frontierTotal, type Frontier } from "../engine/frontier.js";
import type { SyncMessage } from "../engine/sync/messages.js";
import type { SyncNode, SyncNodeOptions } from "../engine/sync/sync-node.js";
import { silentLogger, type Logger } from "../log/logger.js";
import type { AirCodec, AirCodecOptions } from "./air/codec.js";
import { DEFAULT_LIMITS } from "./air/options.js";
import { createPacer } from "./pacer.js";
import { FRAME_KIND, KIND_MASK, OFFSET, STATION_ID_BYTES } from "./air/constants.js";
import type { CancelTimer, Clock } from "./clock.js";
import type { AirtimeBucket, DutyCycle } from "./duty-cycle.js";
import type { Link, ReceivedFrame } from "./link.js";

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

/**
 * The sync node's back-offs in units of one full frame's airtime: a random
 * back-off only separates stations if its window spans several frames (at
 * SF9 a frame is 1.3 s; the engine's defaults assume a fast channel).
 */
export const SYNC_TIMING_FRAMES = { frontier: 4, answer: 4, request: 2, frameGap: 0.5, retry: 16, hole: 8, cross: 8, trickleMin: 4 } as const;

/**
 * The sync node's waits for others' answers in budget slots: a slot is the
 * time the duty-cycle budget takes to earn one full frame (frame airtime /
 * duty fraction, 130 s at SF9 and 1 %). A relay held by its budget sends about
 * one frame a slot and serves several feeds in turn, so a feed it relays may
 * see a message only every several slots; asking again sooner only repeats.
 */
export const SYNC_TIMING_SLOTS = { busyWait: 4, frontierHold: 20 } as const;

/**
 * A message starts a random 0..this many full frames' airtime after the
 * budget allows it. A station held by its budget sends whenever the airtime
 * it used an hour earlier expires, so without jitter its pattern repeats
 * hour after hour; two stations that cannot hear each other (carrier sense
 * cannot help) would then collide at the station between them every hour.
 */
export const START_JITTER_FRAMES = 2;

/**
 * The most airtime, in full frames, a station sends at once after a quiet
 * spell (see pacer.ts): room for the longest common message (a household
 * submission is two or three frames) and a little more.
 */
export const PACE_BURST_FRAMES = 6;

/** The node is asked for a message once the pacer could send this many full frames: a household submission's worth. */
export const PULL_FRAMES = 3;

/** Silence after a fragment, in full frames, before a receiver asks for the missing rest. */
export const AIR_STALL_FRAMES = 3;

/**
 * How long, in budget slots (see SYNC_TIMING_SLOTS), a fragmented message is
 * kept to answer nacks, and a partial one waits for its missing fragments: a
 * sender held by its budget may need several slots to start a long message
 * and several more to answer each nack.
 */
export const AIR_HOLD_SLOTS = 40;

/** Air codec timings and hold times for a link whose longest frame takes `frameAirtimeMs`, under a `dutyFraction` budget. */
export function airOptionsFor(frameAirtimeMs: number, dutyFraction = 1): Pick<AirCodecOptions, "timing" | "limits"> {
  const slot = frameAirtimeMs / Math.min(1, Math.max(dutyFraction, 1e-6));
  const stallMs = AIR_STALL_FRAMES * frameAirtimeMs;
  const holdMs = Math.max(DEFAULT_LIMITS.heldTtlMs, AIR_HOLD_SLOTS * slot);
  return {
    // A repeated nack waits for the budget of a sender held by it to earn a frame.
    timing: { stallMs, nackRepeatMs: Math.max(2 * stallMs, slot) },
    limits: { heldTtlMs: holdMs, partialTtlMs: Math.max(DEFAULT_LIMITS.partialTtlMs, holdMs) },
  };
}

/** Trickle's longest beacon interval on a radio link: a converged network beacons a few times an hour at most. */
export const RADIO_TRICKLE_MAX_MS = 60 * 60_000;

/** Sync node timings for a link whose longest frame takes `frameAirtimeMs` on the air, under a `dutyFraction` budget. */
export function syncTimingFor(frameAirtimeMs: number, dutyFraction = 1): Partial<SyncNodeOptions> {
  const f = Math.max(frameAirtimeMs, 1);
  const slot = f / Math.min(1, Math.max(dutyFraction, 1e-6));
  const t = SYNC_TIMING_FRAMES;
  const s = SYNC_TIMING_SLOTS;
  return {
    frontierDelayMs: t.frontier * f,
    answerDelayMs: t.answer * f,
    requestDelayMs: t.request * f,
    frameGapMs: t.frameGap * f,
    requestRetryMs: t.retry * f,
    holeDelayMs: t.hole * f,
    busyWaitMs: s.busyWait * slot,
    crossMs: t.cross * f,
    frontierHoldMs: s.frontierHold * slot,
    trickle: { iminMs: t.trickleMin * f, imaxMs: Math.max(RADIO_TRICKLE_MAX_MS, 8 * t.trickleMin * f), k: 1 },
  };
}

/** What the station knows of another station it hears. */
export interface HeardStation {
  /** The sender's station id (its author short tag), hex. */
  readonly station: string;
  /** The member's name, when the station id is a configured member's. */
  readonly name?: string;
  lastHeardAt: number;
  rssi?: number;
  snr?: number;
  frames: number;
  /** Events we hold that it lacks, from its last beacon (estimate) or complete frontier (exact). */
  behind?: number;
  /** Events it holds that we lack, likewise. */
  ahead?: number;
}

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
  const heard = new Map<string, HeardStation>();
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
    if (allowed > now) {
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

  function heardFrom(frame: ReceivedFrame): HeardStation {
    const id = Buffer.from(frame.bytes.subarray(OFFSET.sender, OFFSET.sender + STATION_ID_BYTES));
    const key = id.toString("hex");
    let h = heard.get(key);
    if (!h) {
      const author = o.authorByShort?.(id);
      const name = author ? o.names?.(author) : undefined;
      h = { station: key, ...(name ? { name } : {}), lastHeardAt: 0, frames: 0 };
      heard.set(key, h);
    }
    h.lastHeardAt = o.clock.now();
    h.frames++;
    if (frame.rssi !== undefined) h.rssi = frame.rssi;
    if (frame.snr !== undefined) h.snr = frame.snr;
    return h;
  }

  /** Beacons carry the sender's event total; a complete frontier says exactly who lacks what. */
  function learnLag(h: HeardStation, m: SyncMessage): void {
    const mine = o.frontier();
    if (m.type === "beacon") {
      const ours = frontierTotal(mine);
      h.behind = Math.max(0, ours - m.total);
      h.ahead = Math.max(0, m.total - ours);
    } else if (m.type === "frontier" && m.pages === 1) {
      let behind = 0;
      let ahead = 0;
      const listed = new Map<string, number>(m.entries.map((e) => [Buffer.from(e.short).toString("hex"), e.seq]));
      for (const [author, seq] of mine) {
        const theirs = listed.get(author.slice(0, STATION_ID_BYTES * 2)) ?? 0;
        behind += Math.max(0, seq - theirs);
        ahead += Math.max(0, theirs - seq);
        listed.delete(author.slice(0, STATION_ID_BYTES * 2));
      }
      for (const seq of listed.values()) ahead += seq;
      h.behind = behind;
      h.ahead = ahead;
    }
  }

  function receive(frame: ReceivedFrame): void {
    counts.framesReceived++;
    const r = o.codec.receive(frame.bytes);
    // A fragment names its message's origin, which is not its transmitter when another station re-sends
    // it: only whole messages and nacks say who we hear, and how well.
    const kind = (frame.bytes[OFFSET.type] ?? 0) & KIND_MASK;
    const h = r.kind !== "dropped" && kind !== FRAME_KIND.fragment ? heardFrom(frame) : undefined;
    if (r.kind === "message") {
      const m = o.node.receive(r.message, r.from);
      if (m && h) learnLag(h, m);
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
        heard: [...heard.values()].map((h) => ({ ...h })),
      };
    },
  };
}
