/**
 * Discrete-event time for simulations: actions run in time order, and time
 * jumps from one to the next, so an hour of radio traffic takes milliseconds.
 */
/**
 * Actions at one instant, one after another, past which a simulation is taken
 * to be spinning (a protocol that reschedules itself without time passing):
 * it fails loudly instead of hanging its test.
 */
export const MAX_ACTIONS_AT_ONE_INSTANT = 1_000_000;

/** A simulation kept scheduling actions without time passing. */
export class VirtualLivelockError extends Error {
  constructor(readonly at: number) {
    super(`the simulation ran ${MAX_ACTIONS_AT_ONE_INSTANT} actions at t=${at} without time passing (a livelock)`);
    this.name = "VirtualLivelockError";
  }
}

interface Scheduled {
  at: number;
  order: number;
  run: () => void;
}

export class VirtualScheduler {
  private heap: Scheduled[] = [];
  private order = 0;
  private current: number;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Runs `run` at time `at` (or now, if `at` has passed). Ties run in scheduling order. */
  at(at: number, run: () => void): void {
    this.push({ at: Math.max(at, this.current), order: this.order++, run });
  }

  /** Runs actions in order until `stop()` holds after one, nothing is left, or time passes `until`. */
  run(options: { until: number; stop?: () => boolean }): { reason: "stopped" | "idle" | "time" } {
    let sameInstant = 0;
    for (;;) {
      const next = this.heap[0];
      if (!next) return { reason: "idle" };
      if (next.at > options.until) {
        this.current = options.until;
        return { reason: "time" };
      }
      this.pop();
      sameInstant = next.at === this.current ? sameInstant + 1 : 0;
      if (sameInstant > MAX_ACTIONS_AT_ONE_INSTANT) throw new VirtualLivelockError(next.at);
      this.current = next.at;
      next.run();
      if (options.stop?.()) return { reason: "stopped" };
    }
  }

  pending(): number {
    return this.heap.length;
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i] as Scheduled;
    const b = this.heap[j] as Scheduled;
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i] as Scheduled;
    this.heap[i] = this.heap[j] as Scheduled;
    this.heap[j] = t;
  }

  private push(s: Scheduled): void {
    this.heap.push(s);
    let i = this.heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): void {
    const last = this.heap.pop() as Scheduled;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.less(l, m)) m = l;
      if (r < this.heap.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
