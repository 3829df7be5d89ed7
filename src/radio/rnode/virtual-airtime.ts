/**
 * The firmware's airtime bookkeeping (update_airtime, Config.h): time on air
 * booked into 7.5 s bins covering one hour; the short-term share is the
 * current and previous bin over 15 s, the long-term share all bins over an
 * hour. Unlike the firmware, bins skipped while nothing was booked are cleared
 * too, so an idle hour is never counted twice.
 */

/** One bin: 3 ms status interval × 2500 DCD samples. */
export const AIRTIME_BIN_MS = 7_500;
/** The long-term window. */
export const AIRTIME_LONG_MS = 3_600_000;
const BINS = AIRTIME_LONG_MS / AIRTIME_BIN_MS;

/** Shares of time on air, as fractions 0..1. */
export interface AirtimeShare {
  readonly short: number;
  readonly long: number;
}

class Bins {
  private readonly ms = new Float64Array(BINS);
  private lastBin: number | null = null;

  constructor(private readonly now: () => number) {}

  add(ms: number): void {
    const bin = this.advance();
    this.ms[bin] = (this.ms[bin] ?? 0) + ms;
  }

  share(): AirtimeShare {
    const cb = this.advance();
    const pb = (cb + BINS - 1) % BINS;
    const short = ((this.ms[cb] ?? 0) + (this.ms[pb] ?? 0)) / (2 * AIRTIME_BIN_MS);
    const long = this.ms.reduce((a, b) => a + b, 0) / AIRTIME_LONG_MS;
    return { short, long };
  }

  clear(): void {
    this.ms.fill(0);
    this.lastBin = null;
  }

  /** Moves to the current bin, zeroing the bins passed since the last call; returns its index. */
  private advance(): number {
    const absolute = Math.floor(this.now() / AIRTIME_BIN_MS);
    const last = this.lastBin ?? absolute;
    for (let b = last + 1; b <= Math.min(absolute, last + BINS); b++) this.ms[b % BINS] = 0;
    this.lastBin = absolute;
    return absolute % BINS;
  }
}

/** Our own TX airtime, and everything on the channel (ours plus what was heard). */
export class AirtimeLedger {
  private readonly ownBins: Bins;
  private readonly heardBins: Bins;

  constructor(now: () => number) {
    this.ownBins = new Bins(now);
    this.heardBins = new Bins(now);
  }

  bookOwn(ms: number): void {
    this.ownBins.add(ms);
  }

  bookHeard(ms: number): void {
    this.heardBins.add(ms);
  }

  own(): AirtimeShare {
    return this.ownBins.share();
  }

  /** Channel load: our airtime plus what we heard. */
  all(): AirtimeShare {
    const a = this.ownBins.share();
    const b = this.heardBins.share();
    return { short: a.short + b.short, long: a.long + b.long };
  }

  clear(): void {
    this.ownBins.clear();
    this.heardBins.clear();
  }
}
