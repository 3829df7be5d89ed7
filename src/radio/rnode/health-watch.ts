/**
 * When to check an RNode that is up (radio-health.ts): every
 * HEALTH_CHECK_INTERVAL_MS, and at once when a board that was sending its
 * once-a-second channel statistics falls silent for STATS_SILENCE_MS (its
 * radio may be off). One check at a time; checks stop while the link is down
 * or re-initialising and start afresh once it is up again.
 */
import type { CancelTimer, Clock } from "../clock.js";

/** Options of {@link createHealthWatch}. */
export interface HealthWatchOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly silenceMs: number;
  /** Runs one check; the next is scheduled when it settles, if the watch is still armed. */
  readonly check: () => Promise<void>;
}

/** Schedules the health checks of one link. */
export interface HealthWatch {
  /** The device just came up: check it within `intervalMs` (or at a silence). */
  arm(): void;
  /** The link went down, is re-initialising or stopped: no more checks until `arm()`. */
  disarm(): void;
  /** A channel report arrived (the firmware sends them only while its radio is on). */
  statsHeard(): void;
}

export function createHealthWatch(o: HealthWatchOptions): HealthWatch {
  const { clock } = o;
  let armed = false;
  /** Bumped by arm() and disarm(), so a check that settles after either schedules nothing. */
  let epoch = 0;
  let timer: CancelTimer | null = null;
  let checking = false;
  let nextCheckAt = 0;
  /** When the last channel report came; null until one does (AVR boards never send them). */
  let lastStatsAt: number | null = null;

  const dueAt = (): number => Math.min(nextCheckAt, lastStatsAt === null ? Number.POSITIVE_INFINITY : lastStatsAt + o.silenceMs);

  function schedule(): void {
    timer?.();
    timer = clock.at(dueAt(), fire);
  }

  function fire(): void {
    timer = null;
    if (!armed || checking) return;
    if (clock.now() < dueAt()) return schedule(); // reports kept coming: the silence deadline moved on
    checking = true;
    const mine = epoch;
    void o.check().finally(() => {
      if (mine !== epoch) return;
      checking = false;
      nextCheckAt = clock.now() + o.intervalMs;
      lastStatsAt = null; // a device found well that sends no reports is not checked again at every silence
      schedule();
    });
  }

  return {
    arm() {
      epoch++;
      armed = true;
      checking = false;
      nextCheckAt = clock.now() + o.intervalMs;
      lastStatsAt = null;
      schedule();
    },
    disarm() {
      epoch++;
      armed = false;
      checking = false;
      timer?.();
      timer = null;
    },
    statsHeard() {
      if (!armed) return;
      const first = lastStatsAt === null;
      lastStatsAt = clock.now();
      if (first && !checking) schedule();
    },
  };
}
