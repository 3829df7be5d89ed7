/**
 * Time as radio code sees it: a monotonic `now()` in milliseconds and timers
 * on that same time line. Three clocks implement it: the real one, a scaled
 * one (real time running N times faster, for the demo) and the virtual one
 * (discrete events, for simulations that must be fast and deterministic).
 */
import type { VirtualScheduler } from "./virtual-time.js";

/** Cancels a timer; calling it after the timer ran, or twice, does nothing. */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds on this clock's time line; never goes back. */
  now(): number;
  /** Runs `run` once when `now()` reaches `at` (at once, on a later turn, if it already has). */
  at(at: number, run: () => void): CancelTimer;
}

/** The process's monotonic clock with ordinary timers. */
export function realClock(): Clock {
  return scaledClock(1);
}

/**
 * Real time running `speed` times faster: `now()` advances `speed` ms per
 * real millisecond, and a timer due in d ms fires after d / speed real ms.
 */
export function scaledClock(speed: number, start = 0): Clock {
  if (!(speed > 0)) throw new RangeError(`clock speed must be positive, got ${speed}`);
  const origin = performance.now();
  const now = () => start + (performance.now() - origin) * speed;
  return {
    now,
    at(at, run) {
      let t: NodeJS.Timeout;
      // Node's timers count whole ms of loop time and may fire a fraction early by now()'s reckoning
      // (many sim ms when sped up): check, and wait out the rest, so `run` never sees now() < at.
      const due = () => {
        const left = at - now();
        if (left > 0) return arm(left);
        run();
      };
      const arm = (left: number) => {
        t = setTimeout(due, Math.ceil(Math.max(0, left) / speed));
        t.unref?.();
      };
      arm(at - now());
      return () => clearTimeout(t);
    },
  };
}

/** A clock over the discrete-event scheduler: timers run when the simulation reaches them. */
export function virtualClock(scheduler: VirtualScheduler): Clock {
  return {
    now: () => scheduler.now(),
    at(at, run) {
      let live = true;
      scheduler.at(at, () => {
        if (live) run();
      });
      return () => {
        live = false;
      };
    },
  };
}
