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

/** Counters for status. */
export interface PacerCounts {
  framesSent: number;
  bytesSent: number;
  /** Frames refused because the queue was full. */
  dropped: number;
}

export class TxPacer {
  readonly counts: PacerCounts = { framesSent: 0, bytesSent: 0, dropped: 0 };
  private readonly queue: Uint8Array[] = [];
  private write: ((frame: Uint8Array) => void) | null = null;
  private nextAt = 0;
  private timer: CancelTimer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly airtimeMs: (bytes: number) => number,
    private readonly maxFrames: number,
  ) {}

  /** Frames waiting. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues a copy of `frame`; when the queue is full the frame is dropped and counted. */
  push(frame: Uint8Array): void {
    if (this.queue.length >= this.maxFrames) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(Uint8Array.from(frame));
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

  private pump(): void {
    if (!this.write || this.timer || this.queue.length === 0) return;
    if (this.clock.now() < this.nextAt) {
      this.timer = this.clock.at(this.nextAt, () => {
        this.timer = null;
        this.pump();
      });
      return;
    }
    const frame = this.queue.shift() as Uint8Array;
    this.write(frame);
    this.counts.framesSent++;
    this.counts.bytesSent += frame.length;
    this.nextAt = this.clock.now() + this.airtimeMs(frame.length) + TX_MARGIN_MS;
    this.pump();
  }
}
