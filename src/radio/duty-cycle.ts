/**
 * A rolling-window duty-cycle budget: the station's own airtime in ANY
 * window of `windowMs` (not only in fixed hourly bins, and counting the part
 * of a transmission that is still on the air) stays within
 * `fraction × windowMs`.
 *
 * Bookings never overlap: a radio is half duplex, so airtime recorded while
 * an earlier booking is still running is booked from that booking's end, as
 * a frame queued behind another goes out after it. With bookings that never
 * overlap, the worst window for a new transmission [s, s+d] is the one that
 * ends at s+d, so the check is: airtime booked after s+d−window ≤ budget − d.
 */
import type { Clock } from "./clock.js";

/** A regulatory duty-cycle rule; spread into createDutyCycle's options. */
export interface DutyCyclePreset {
  readonly name: string;
  /** Largest share (0..1] of any window the station may transmit. */
  readonly fraction: number;
  readonly windowMs: number;
  /** The band it applies to (Hz), for display; undefined when it applies anywhere. */
  readonly bandHz?: readonly [number, number];
}

/** ETSI EN 300 220 and ERC Rec 70-03 measure duty cycle over one hour. */
const ONE_HOUR_MS = 3_600_000;

/** EU 868.0–868.6 MHz (g1 / h1.4): 25 mW e.r.p., 1 % duty cycle. */
export const EU_868_1_PERCENT: DutyCyclePreset = { name: "eu-868.0-868.6", fraction: 0.01, windowMs: ONE_HOUR_MS, bandHz: [868.0e6, 868.6e6] };

/** EU 869.4–869.65 MHz (g3): 500 mW e.r.p., 10 % duty cycle. */
export const EU_869_10_PERCENT: DutyCyclePreset = { name: "eu-869.4-869.65", fraction: 0.1, windowMs: ONE_HOUR_MS, bandHz: [869.4e6, 869.65e6] };

/** EU 868.7–869.2 MHz: 0.1 % duty cycle (863–865 MHz has the same limit; see EU_863_0_1_PERCENT). */
export const EU_868_0_1_PERCENT: DutyCyclePreset = { name: "eu-868.7-869.2", fraction: 0.001, windowMs: ONE_HOUR_MS, bandHz: [868.7e6, 869.2e6] };

/** EU 863–865 MHz: 0.1 % duty cycle. */
export const EU_863_0_1_PERCENT: DutyCyclePreset = { name: "eu-863-865", fraction: 0.001, windowMs: ONE_HOUR_MS, bandHz: [863e6, 865e6] };

/**
 * No duty cycle (e.g. US 902–928 MHz). The FCC's 400 ms dwell per channel per
 * 20 s binds frequency-hopping systems (47 CFR 15.247(a)(1)(i)); an RNode
 * stays on one fixed channel, so it does not hop and that rule does not
 * describe it (a fixed channel falls under the low-power 15.249 limits, or is
 * a DTS system at ≥ 500 kHz). We therefore enforce nothing here; note that a
 * 255-byte packet at SF7/125 kHz is already about 416 ms on air.
 */
export const NO_DUTY_CYCLE: DutyCyclePreset = { name: "none", fraction: 1, windowMs: ONE_HOUR_MS };

/** The default is the strictest common case: the EU 868.0–868.6 MHz sub-band, 1 % per rolling hour. */
export const DEFAULT_DUTY_CYCLE = EU_868_1_PERCENT;

export const DUTY_CYCLE_PRESETS: readonly DutyCyclePreset[] = [
  EU_868_1_PERCENT,
  EU_869_10_PERCENT,
  EU_868_0_1_PERCENT,
  EU_863_0_1_PERCENT,
  NO_DUTY_CYCLE,
];

/** History buckets of one minute: a chart of the last hour has 60 bars. */
export const DEFAULT_HISTORY_BUCKET_MS = 60_000;

export interface DutyCycleOptions {
  readonly clock: Clock;
  /** Default DEFAULT_DUTY_CYCLE.fraction (1 %). */
  readonly fraction?: number;
  /** Default one hour. */
  readonly windowMs?: number;
}

/** Airtime booked within one history bucket [startMs, startMs + bucketMs). */
export interface AirtimeBucket {
  readonly startMs: number;
  readonly airtimeMs: number;
}

export interface DutyCycle {
  /** fraction × windowMs: the airtime allowed in any window. */
  readonly budgetMs: number;
  readonly windowMs: number;
  /** Whether `record(airtimeMs)` now keeps every window within budget (same as earliestStart(airtimeMs) ≤ now). */
  canSend(airtimeMs: number): boolean;
  /**
   * The earliest time ≥ now at which `record(airtimeMs)` keeps every window
   * within budget; Infinity when airtimeMs exceeds the whole budget.
   */
  earliestStart(airtimeMs: number): number;
  /** Books a transmission of `airtimeMs` from now (or from the end of the booking still running). */
  record(airtimeMs: number): void;
  /** Airtime booked from now − windowMs on, including booked airtime not yet on the air. */
  used(): number;
  /** budgetMs − used(), never below 0: a frame this long can always be recorded now. */
  left(): number;
  /** Booked airtime per bucket over the last window, oldest first, the last bucket ending now. */
  history(bucketMs?: number): AirtimeBucket[];
}

interface Booking {
  readonly start: number;
  readonly end: number;
}

function overlap(b: Booking, from: number, to: number): number {
  return Math.max(0, Math.min(b.end, to) - Math.max(b.start, from));
}

export function createDutyCycle(options: DutyCycleOptions): DutyCycle {
  const { clock } = options;
  const fraction = options.fraction ?? DEFAULT_DUTY_CYCLE.fraction;
  const windowMs = options.windowMs ?? DEFAULT_DUTY_CYCLE.windowMs;
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`duty-cycle fraction must be in (0, 1], got ${fraction}`);
  if (!(windowMs > 0)) throw new RangeError(`duty-cycle window must be positive, got ${windowMs} ms`);
  const budgetMs = fraction * windowMs;
  /** Non-overlapping, in time order; those ending before now − window are pruned. */
  let bookings: Booking[] = [];

  function prune(now: number): void {
    const firstLive = bookings.findIndex((b) => b.end > now - windowMs);
    if (firstLive === -1) bookings = [];
    else if (firstLive > 0) bookings = bookings.slice(firstLive);
  }

  function bookedAfter(from: number): number {
    let sum = 0;
    for (let i = bookings.length - 1; i >= 0; i--) {
      const b = bookings[i] as Booking;
      if (b.end <= from) break;
      sum += overlap(b, from, Infinity);
    }
    return sum;
  }

  /** Smallest x such that the airtime booked after x is at most `allowance`. */
  function releasePoint(allowance: number): number {
    let tail = 0;
    for (let i = bookings.length - 1; i >= 0; i--) {
      const b = bookings[i] as Booking;
      const length = b.end - b.start;
      if (tail + length > allowance) return b.end - (allowance - tail);
      tail += length;
    }
    return -Infinity;
  }

  /** Earliest start ≥ the next free moment of a booking of `airtimeMs` that fits every window. */
  function earliestBooking(airtimeMs: number): number {
    const now = clock.now();
    prune(now);
    const free = Math.max(now, bookings.at(-1)?.end ?? now);
    if (airtimeMs > budgetMs) return Infinity;
    return Math.max(free, releasePoint(budgetMs - airtimeMs) + windowMs - airtimeMs);
  }

  function checkAirtime(airtimeMs: number): void {
    if (!(airtimeMs >= 0) || !Number.isFinite(airtimeMs)) throw new RangeError(`airtime must be a finite number ≥ 0, got ${airtimeMs}`);
  }

  const dutyCycle: DutyCycle = {
    budgetMs,
    windowMs,
    canSend: (airtimeMs) => dutyCycle.earliestStart(airtimeMs) <= clock.now(),
    earliestStart(airtimeMs) {
      checkAirtime(airtimeMs);
      const now = clock.now();
      const start = earliestBooking(airtimeMs);
      // A record made now books from the end of the running booking, so "now" is enough when that end is the answer.
      const runningEnd = bookings.at(-1)?.end ?? -Infinity;
      return start <= Math.max(now, runningEnd) ? now : start;
    },
    record(airtimeMs) {
      checkAirtime(airtimeMs);
      if (airtimeMs === 0) return;
      const now = clock.now();
      prune(now);
      const start = Math.max(now, bookings.at(-1)?.end ?? now);
      bookings.push({ start, end: start + airtimeMs });
    },
    used() {
      const now = clock.now();
      prune(now);
      return bookedAfter(now - windowMs);
    },
    left: () => Math.max(0, budgetMs - dutyCycle.used()),
    history(bucketMs = DEFAULT_HISTORY_BUCKET_MS) {
      if (!(bucketMs > 0)) throw new RangeError(`history bucket must be positive, got ${bucketMs} ms`);
      const now = clock.now();
      prune(now);
      const count = Math.ceil(windowMs / bucketMs);
      return Array.from({ length: count }, (_, i) => {
        const startMs = now - (count - i) * bucketMs;
        const airtimeMs = bookings.reduce((sum, b) => sum + overlap(b, startMs, startMs + bucketMs), 0);
        return { startMs, airtimeMs };
      });
    },
  };
  return dutyCycle;
}
