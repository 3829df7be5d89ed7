/**
 * When this station tells its neighbours what it holds: beacons of its
 * frontier digest on a Trickle timer (RFC 6206), and its whole frontier when
 * a neighbour's digest differs or its own changed in a way nobody can guess.
 *
 * A different digest heard while an exchange is under way (this station lacks
 * or owes events) is expected: it is answered with our frontier at most once
 * per `frontierHoldMs` and does not reset Trickle, so a long exchange costs a
 * few control frames, not a beacon storm. If the exchange ends with the
 * difference unsettled, that counts as an inconsistency then.
 */
import { createTrickle, type Trickle, type TrickleOptions } from "./trickle.js";

export interface AnnouncerOptions {
  readonly trickle: TrickleOptions;
  /** Back-off before our frontier, so one station's frontier can make others' unnecessary. */
  readonly frontierDelayMs: number;
  readonly frontierHoldMs: number;
  readonly random: () => number;
}

export class Announcer {
  private readonly trickle: Trickle;
  private frontierDue: number | null = null;
  private lastFrontierAt = Number.NEGATIVE_INFINITY;
  /** A different digest was heard during an exchange and not yet treated as an inconsistency. */
  private mismatchWhileBusy = false;

  constructor(private readonly o: AnnouncerOptions, now: number) {
    this.trickle = createTrickle(o.trickle, o.random, now);
  }

  /** A neighbour's digest was heard: `same` as ours or not; `busy` whether an exchange is under way. */
  heard(same: boolean, busy: boolean, now: number): void {
    if (same) {
      this.mismatchWhileBusy = false;
      this.trickle.consistent();
      this.frontierDue = null; // someone already said what we would say
      return;
    }
    if (busy) {
      this.mismatchWhileBusy = true;
      if (now < this.lastFrontierAt + this.o.frontierHoldMs) return;
    } else {
      this.trickle.inconsistent(now);
    }
    this.scheduleFrontier(now);
  }

  /** Our frontier changed in a way neighbours cannot guess (a feed new to us, our own writes): tell them soon. */
  announce(now: number): void {
    this.trickle.inconsistent(now);
    this.scheduleFrontier(now);
  }

  /** Our digest changed and no exchange under way will tell: beacon soon. */
  changed(now: number): void {
    this.trickle.inconsistent(now);
  }

  /** Call when an exchange may have ended: a difference heard during it and still unsettled is an inconsistency now. */
  settle(busy: boolean, now: number): void {
    if (!this.mismatchWhileBusy || busy) return;
    this.mismatchWhileBusy = false;
    this.announce(now);
  }

  /** What is due now (each at most once): a beacon, our frontier. */
  due(now: number): { beacon: boolean; frontier: boolean } {
    const beacon = this.trickle.due(now);
    const frontier = this.frontierDue !== null && now >= this.frontierDue;
    if (frontier) {
      this.frontierDue = null;
      this.lastFrontierAt = now;
    }
    return { beacon, frontier };
  }

  /** Whether our frontier is due to go out (blob traffic waits for it). */
  frontierPending(): boolean {
    return this.frontierDue !== null;
  }

  nextWake(): number {
    return Math.min(this.trickle.nextWake(), this.frontierDue ?? Number.POSITIVE_INFINITY);
  }

  /** Trickle's current interval (ms), for status displays. */
  interval(): number {
    return this.trickle.interval();
  }

  private scheduleFrontier(now: number): void {
    this.frontierDue ??= now + this.o.random() * this.o.frontierDelayMs;
  }
}
