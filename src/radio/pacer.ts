/**
 * Paces a station's sync messages at its duty-cycle rate: a token bucket
 * that earns airtime at `fraction` of real time and holds at most `burstMs`.
 *
 * The rolling-window budget alone lets a station spend a whole hour's
 * airtime in its first minutes and then stay mute for the rest of the hour;
 * the hour after, it does the same again, since airtime comes back when the
 * airtime of an hour earlier expires. A mute hour leaves nacks and requests
 * unanswered until partial messages expire and whole ones are asked for
 * again, and neighbours' bursts keep colliding at stations that hear both.
 * Paced, a station sends about one frame per frame-airtime / fraction, with
 * the budget still the hard limit on top.
 */
import type { Clock } from "./clock.js";

export interface Pacer {
  /** When a message of `airtimeMs` may start (now or later): when the bucket holds it (or is full). */
  readyAt(airtimeMs: number): number;
  /** Takes `airtimeMs` from the bucket (it may go below zero: urgent frames go unpaced, and are paid back). */
  spend(airtimeMs: number): void;
}

export function createPacer(clock: Pick<Clock, "now">, fraction: number, burstMs: number): Pacer {
  let tokens = burstMs;
  let at = clock.now();
  const refill = (): number => {
    const now = clock.now();
    tokens = Math.min(burstMs, tokens + (now - at) * fraction);
    at = now;
    return now;
  };
  return {
    readyAt(airtimeMs) {
      const now = refill();
      const need = Math.min(airtimeMs, burstMs);
      return tokens >= need ? now : now + (need - tokens) / fraction;
    },
    spend(airtimeMs) {
      refill();
      tokens -= airtimeMs;
    },
  };
}
