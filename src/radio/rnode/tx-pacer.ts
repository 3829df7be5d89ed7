/**
 * The driver's own transmit queue. The RNode firmware only answers CMD_READY
 * when polled and silently drops bytes once its queue is full, so the driver
 * does not lean on it: it hands the device one frame at a time, each only
 * after the previous frame's time on air (plus a margin) has passed.
 */
import type { CancelTimer, Clock } from "../clock.js";

/**
 * Added to each frame's time on air before the next is written: the serial
 * transfer of a full frame (~25 ms at 115200 baud) plus the firmware's
 * minimum CSMA wait (DIFS, two 24 ms slots).
 */
export const TX_MARGIN_MS = 75;

/**
 * A frame that waited longer than this (the device was away) is dropped, not
 * sent late: whoever handed it over booked its airtime against the
 * duty-cycle budget then, so sending it an hour later would spend airtime
 * the budget no longer counts, and the sync protocol asks again for what it
 * still lacks. Longer than a replug and a slow board's boot (reconnects are
 * at most 30 s apart; a boot can take 15 s).
 */
export const TX_MAX_WAIT_MS = 60_000;

/** Counters for status. */
export interface PacerCounts {
  framesSent: number;
  bytesSent: number;
  /** Frames refused because the queue was full. */
  dropped: number;
  /** Frames dropped because they waited longer than the maximum wait. */
  expired: number;
}

interface Queued {
  readonly frame: Uint8Array;
  readonly at: number;
}

export class TxPacer {
  readonly counts: PacerCounts = { framesSent: 0, bytesSent: 0, dropped: 0, expired: 0 };
  private readonly queue: Queued[] = [];
  private write: ((frame: Uint8Array) => void) | null = null;
  private nextAt = 0;
  private timer: CancelTimer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly airtimeMs: (bytes: number) => number,
    private readonly maxFrames: number,
    private readonly maxWaitMs: number = TX_MAX_WAIT_MS,
  ) {}

  /** Frames waiting. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues a copy of `frame`; when the queue is full (of frames not yet expired) the frame is dropped and counted. */
  push(frame: Uint8Array): void {
    this.expire();
    if (this.queue.length >= this.maxFrames) {
      this.counts.dropped++;
      return;
    }
    this.queue.push({ frame: Uint8Array.from(frame), at: this.clock.now() });
    this.pump();
  }

  /** Starts (or restarts) writing through `write`, the first frame at once. */
  resume(write: (frame: Uint8Array) => void): void {
    this.write = write;
    this.nextAt = this.clock.now();
    this.pump();
  }

  /** Stops writing; queued frames wait for the next `resume`. */
  pause(): void {
    this.write = null;
    this.timer?.();
    this.timer = null;
  }

  /** Drops the frames at the head that waited too long (the queue is in the order they came). */
  private expire(): void {
    const oldest = this.clock.now() - this.maxWaitMs;
    while (this.queue.length > 0 && (this.queue[0] as Queued).at < oldest) {
      this.queue.shift();
      this.counts.expired++;
    }
  }

  private pump(): void {
    if (!this.write || this.timer) return;
    this.expire();
    if (this.queue.length === 0) return;
    if (this.clock.now() < this.nextAt) {
      this.timer = this.clock.at(this.nextAt, () => {
        this.timer = null;
        this.pump();
      });
      return;
    }
    const { frame } = this.queue.shift() as Queued;
    this.write(frame);
    this.counts.framesSent++;
    this.counts.bytesSent += frame.length;
    this.nextAt = this.clock.now() + this.airtimeMs(frame.length) + TX_MARGIN_MS;
    this.pump();
  }
}
