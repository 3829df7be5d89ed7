/**
 * The seed station's transmitter: frames wait in one FIFO queue and go to the
 * link one at a time, each after the previous one's time on air (a LoRa radio
 * sends one frame at a time), and, when a gate is given, only when the gate's
 * duty-cycle budget allows.
 */
import type { CancelTimer, Clock } from "../src/radio/clock.js";
import type { Link } from "../src/radio/link.js";

/**
 * A duty-cycle budget (say 1 % per hour) that both protocols of a benchmark
 * answer to. The queue asks before each frame; `earliestStart` must be a time
 * at which `canSend` holds for that airtime, or the queue asks again then.
 */
export interface SeedGate {
  /** Whether a frame of `airtimeMs` on air may start now. */
  canSend(airtimeMs: number): boolean;
  /** The clock time from which a frame of `airtimeMs` may start. */
  earliestStart(airtimeMs: number): number;
  /** Told when such a frame starts, for a gate that books airtime itself. */
  onSent?(airtimeMs: number): void;
}

/** What the queue adds to its owner's counters. */
export interface SendCounters {
  framesSent: number;
  bytesSent: number;
  airtimeMs: number;
  messagesDropped: number;
}

/** What the queue sends on, answers to, and counts into. */
export interface SendQueueOptions {
  readonly link: Link;
  readonly clock: Clock;
  readonly gate?: SeedGate;
  /** Most frames waiting at once; default unbounded. */
  readonly maxFrames?: number;
  readonly stats: SendCounters;
}

/** A FIFO of frames that never has two on air at once. */
export interface SendQueue {
  /** Queues a message's frames, all or none; false (and counted as dropped) when they do not fit. */
  push(frames: readonly Uint8Array[]): boolean;
  /** Frames waiting. */
  size(): number;
  /** Nothing waiting and nothing on air. */
  idle(): boolean;
  /** Sends nothing more. */
  stop(): void;
}

/** A gate that says "not yet" and "now" at once would spin; wait at least this long before asking again. */
const MIN_GATE_WAIT_MS = 1;
/** Compact the queue's array once this many sent frames sit at its front. */
const COMPACT_AFTER = 1024;

/** A queue that starts sending as soon as frames arrive; see the module comment. */
export function createSendQueue(options: SendQueueOptions): SendQueue {
  const { link, clock, gate, stats } = options;
  const maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
  let frames: Uint8Array[] = [];
  let head = 0;
  let onAirUntil = Number.NEGATIVE_INFINITY;
  let wake: CancelTimer | undefined;
  let stopped = false;

  const size = (): number => frames.length - head;

  function schedule(at: number): void {
    wake = clock.at(at, () => {
      wake = undefined;
      pump();
    });
  }

  function transmit(frame: Uint8Array, airtime: number): void {
    head++;
    if (head >= COMPACT_AFTER && head * 2 >= frames.length) {
      frames = frames.slice(head);
      head = 0;
    }
    link.send(frame);
    gate?.onSent?.(airtime);
    stats.framesSent++;
    stats.bytesSent += frame.length;
    stats.airtimeMs += airtime;
    onAirUntil = clock.now() + airtime;
    schedule(onAirUntil);
  }

  function pump(): void {
    if (stopped || wake !== undefined || size() === 0) return;
    const now = clock.now();
    if (onAirUntil > now) return schedule(onAirUntil);
    const frame = frames[head] as Uint8Array;
    const airtime = link.airtimeMs(frame.length);
    if (gate && !gate.canSend(airtime)) return schedule(Math.max(gate.earliestStart(airtime), now + MIN_GATE_WAIT_MS));
    transmit(frame, airtime);
  }

  return {
    push(message) {
      if (stopped) return false;
      if (size() + message.length > maxFrames) {
        stats.messagesDropped++;
        return false;
      }
      for (const f of message) frames.push(f);
      pump();
      return true;
    },
    size,
    idle: () => size() === 0 && onAirUntil <= clock.now(),
    stop() {
      stopped = true;
      wake?.();
      wake = undefined;
    },
  };
}
