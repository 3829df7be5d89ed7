/**
 * Virtual time for tests that also do I/O: timers run one at a time on a
 * VirtualScheduler, and between any two the event loop drains (promises,
 * nextTicks, serialport's mock I/O), so a driver talking to a virtual device
 * runs exactly as it would in real time, deterministically and in
 * milliseconds of wall-clock time.
 */
import { type Clock, virtualClock } from "../../src/radio/clock.js";
import { VirtualScheduler } from "../../src/radio/virtual-time.js";

/** Lets every pending promise, nextTick and immediate run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface SteppedTime {
  readonly clock: Clock;
  readonly scheduler: VirtualScheduler;
  /** Runs timers one at a time until `done()` holds; throws when `withinMs` of virtual time pass first. */
  until(done: () => boolean, withinMs?: number): Promise<void>;
  /** Runs every timer due within `ms` of virtual time, then stops there. */
  advance(ms: number): Promise<void>;
  /** Waits for `promise`, running timers meanwhile; throws when it takes more than `withinMs`. */
  run<T>(promise: Promise<T>, withinMs?: number): Promise<T>;
}

const DEFAULT_LIMIT_MS = 120_000;

export function createSteppedTime(start = 0): SteppedTime {
  const scheduler = new VirtualScheduler(start);
  const clock = virtualClock(scheduler);

  async function until(done: () => boolean, withinMs = DEFAULT_LIMIT_MS): Promise<void> {
    const end = scheduler.now() + withinMs;
    for (;;) {
      await settle();
      if (done()) return;
      if (scheduler.now() >= end) throw new Error(`condition not met within ${withinMs} ms of virtual time`);
      const { reason } = scheduler.run({ until: end, stop: () => true });
      if (reason === "idle") {
        await settle();
        if (done()) return;
        if (scheduler.pending() === 0) throw new Error("condition not met and nothing is left to happen");
      }
    }
  }

  return {
    clock,
    scheduler,
    until,
    async advance(ms) {
      let reached = false;
      scheduler.at(scheduler.now() + ms, () => (reached = true));
      await until(() => reached, ms + 1);
    },
    async run(promise, withinMs) {
      let settled = false;
      const watched = promise.finally(() => (settled = true));
      watched.catch(() => {});
      await until(() => settled, withinMs);
      return watched;
    },
  };
}
