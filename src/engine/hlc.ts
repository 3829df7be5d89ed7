/**
 * Hybrid Logical Clock (Kulkarni et al., "Logical Physical Clocks and
 * Consistent Snapshots in Globally Distributed Databases", 2014).
 *
 * A stamp is (wall ms, counter). It stays close to physical time, never goes
 * backwards, and any event created after observing a stamp orders after it.
 * With a bound on forward skew, a stamp far ahead of the physical clock is not
 * adopted; an event that must still order after it (an edit of a record the
 * far stamp wrote) is stamped with `tickAbove`.
 */
import { MAX_HLC_COUNTER, MAX_HLC_WALL } from "./constants.js";

/** An HLC stamp. Invariant: wall and counter are non-negative safe integers within the MAX_HLC_* bounds. */
export interface Hlc {
  readonly wall: number;
  readonly counter: number;
}

export const HLC_ZERO: Hlc = { wall: 0, counter: 0 };

/**
 * The bound a site configures unless told otherwise (site config clock.max_forward_skew_h): a day. A
 * machine whose date is wrong (a laptop that lost its battery, a wrong year) is caught; clocks a few
 * hours apart from a timezone muddle (local time set as UTC) are not a violation.
 */
export const DEFAULT_MAX_FORWARD_SKEW_MS = 24 * 60 * 60 * 1000;

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return 0;
}

export function isValidHlc(h: Hlc): boolean {
  return (
    Number.isSafeInteger(h.wall) && h.wall >= 0 && h.wall <= MAX_HLC_WALL &&
    Number.isSafeInteger(h.counter) && h.counter >= 0 && h.counter <= MAX_HLC_COUNTER
  );
}

/** What `observe` did with a remote stamp. */
export type ObserveResult = "advanced" | "unchanged" | "skew-refused";

export interface HlcClockOptions {
  /** Physical clock in ms since the epoch; injected so tests and simulations control time. */
  now: () => number;
  /** Last stamp issued before a restart; the clock never issues anything at or below it. */
  last?: Hlc;
  /**
   * Remote stamps more than this far ahead of our physical clock are not
   * adopted, so one site with a wrong clock cannot drag every clock forward.
   * Infinity disables the bound. Whatever the bound, a stamp that would leave
   * no later stamp (the end of the range) is never adopted.
   */
  maxForwardSkewMs?: number;
}

/** A node's clock. `tick` stamps a local event; `observe` merges a stamp heard from elsewhere. */
export interface HlcClock {
  tick(): Hlc;
  /**
   * Stamps a local event that must order after `floor` (a stamp this node holds on the record the
   * event changes) as well as after every stamp issued: causal stamping, whatever the bound. The
   * clock moves up to the stamp, since the stamps of one feed must increase. A floor that would
   * leave no later stamp (the end of the range) is ignored: the event gets a plain tick.
   */
  tickAbove(floor: Hlc): Hlc;
  observe(remote: Hlc): ObserveResult;
  /** The newest stamp issued or adopted; persist it so a restart cannot go backwards. */
  last(): Hlc;
}

export function createHlcClock(options: HlcClockOptions): HlcClock {
  let wall = options.last?.wall ?? 0;
  let counter = options.last?.counter ?? 0;
  const maxSkew = options.maxForwardSkewMs ?? Number.POSITIVE_INFINITY;

  function physical(): number {
    return Math.min(Math.max(0, Math.floor(options.now())), MAX_HLC_WALL);
  }

  function bumpCounter(): void {
    if (counter >= MAX_HLC_COUNTER) {
      // Cannot happen with a sane clock; moving wall on keeps the order strict.
      if (wall >= MAX_HLC_WALL) throw new RangeError(`the HLC has reached its last stamp (${wall}, ${counter}): no later event can be stamped`);
      wall += 1;
      counter = 0;
    } else {
      counter += 1;
    }
  }

  function tick(): Hlc {
    const pt = physical();
    if (pt > wall) {
      wall = pt;
      counter = 0;
    } else {
      bumpCounter();
    }
    return { wall, counter };
  }

  return {
    tick,
    tickAbove(floor: Hlc): Hlc {
      const next = floor.counter >= MAX_HLC_COUNTER ? { wall: floor.wall + 1, counter: 0 } : { wall: floor.wall, counter: floor.counter + 1 };
      const last = next.wall > MAX_HLC_WALL || (next.wall === MAX_HLC_WALL && next.counter >= MAX_HLC_COUNTER);
      const stamp = tick();
      if (last || compareHlc(stamp, floor) > 0) return stamp;
      wall = next.wall;
      counter = next.counter;
      return next;
    },
    observe(remote: Hlc): ObserveResult {
      const pt = physical();
      if (remote.wall > pt + maxSkew) return "skew-refused";
      if (compareHlc(remote, { wall, counter }) <= 0 && pt <= wall) return "unchanged";
      let newWall = Math.max(wall, remote.wall, pt);
      let newCounter: number;
      if (newWall === wall && newWall === remote.wall) newCounter = Math.max(counter, remote.counter) + 1;
      else if (newWall === wall) newCounter = counter + 1;
      else if (newWall === remote.wall) newCounter = remote.counter + 1;
      else newCounter = 0;
      if (newCounter > MAX_HLC_COUNTER) {
        newWall += 1;
        newCounter = 0;
      }
      // A stamp at the very end of the range would leave no stamp for the next local event: one such event
      // (a member's clock at year 10889, or a forged counter) must not stop every site from writing.
      if (newWall > MAX_HLC_WALL || (newWall === MAX_HLC_WALL && newCounter >= MAX_HLC_COUNTER)) return "skew-refused";
      wall = newWall;
      counter = newCounter;
      return "advanced";
    },
    last(): Hlc {
      return { wall, counter };
    },
  };
}
