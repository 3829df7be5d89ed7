/**
 * A Trickle timer (RFC 6206). Within each interval I it fires once at a random
 * point in [I/2, I) unless it has already heard k consistent messages. An
 * inconsistency resets I to Imin; an interval that passes quietly doubles I up
 * to Imax. The result: beacons come fast after a change and almost never when
 * every station agrees.
 */

export interface TrickleOptions {
  /** Shortest interval (ms). */
  readonly iminMs: number;
  /** Longest interval (ms). */
  readonly imaxMs: number;
  /** Redundancy constant: transmissions suppressed after hearing this many consistent ones. */
  readonly k: number;
}

export interface Trickle {
  /** True if the timer says "transmit now" (at most once per interval). */
  due(now: number): boolean;
  /** The next time `due` could change. */
  nextWake(): number;
  consistent(): void;
  inconsistent(now: number): void;
  /** Current interval length (ms), for status displays. */
  interval(): number;
}

export function createTrickle(options: TrickleOptions, random: () => number, now: number): Trickle {
  let size = options.iminMs;
  let start = now;
  let fireAt = 0;
  let fired = false;
  let heard = 0;

  function begin(at: number): void {
    start = at;
    fireAt = at + size / 2 + random() * (size / 2);
    fired = false;
    heard = 0;
  }
  begin(now);

  function roll(now: number): void {
    while (now >= start + size) {
      const end = start + size;
      size = Math.min(size * 2, options.imaxMs);
      begin(end);
    }
  }

  return {
    due(now) {
      roll(now);
      if (fired || now < fireAt) return false;
      fired = true;
      return heard < options.k;
    },
    nextWake: () => (fired ? start + size : fireAt),
    consistent() {
      heard++;
    },
    inconsistent(now) {
      roll(now);
      if (size > options.iminMs) {
        size = options.iminMs;
        begin(now);
      }
    },
    interval: () => size,
  };
}
