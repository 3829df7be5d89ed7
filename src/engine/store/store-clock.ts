/**
 * The store's hybrid logical clock: restored at open from the persisted stamp
 * and this site's own head, saved with every transaction that moves it, the
 * stamps of local events, and the tally of peers' stamps it would not adopt
 * (beyond the forward-skew bound), counted per author for the status page.
 */
import type { EventBody } from "../event.js";
import { isRecordBody } from "../event.js";
import { compareHlc, createHlcClock, HLC_ZERO, type Hlc } from "../hlc.js";
import type { AuthorId, RecordId } from "../ids.js";
import type { AuthorRow } from "./author-registry.js";
import type { StoreCore } from "./store-core.js";

/** Counter of one author's events whose stamps were not adopted (hlc.skew-refused:<author>). */
const SKEW_BY_AUTHOR = "hlc.skew-refused:";
/** Meta key of the last such event per author: when it was applied here and how far ahead it was. */
const SKEW_LAST = "hlc.skew-last:";
/** Meta key of the clock's newest stamp. */
const CLOCK_KEY = "hlc";

/** An author whose stamps ran beyond this site's bound, as the store counted them. */
export interface SkewViolation {
  readonly author: AuthorId;
  /** Events applied whose stamps the clock did not adopt. */
  readonly count: number;
  /** When the last of them was applied, by this site's clock (ms). */
  readonly lastAt: number;
  /** How far ahead of this site's clock the farthest stamp of that last batch was (ms). */
  readonly aheadMs: number;
}

export interface StoreClock {
  /** The newest stamp this site has issued or seen. */
  last(): Hlc;
  /**
   * The stamp of a local event. One that changes a record orders after every stamp this store holds on
   * the record (`lastWriteOf`, its newest): an edit made after seeing a value wins over it, even when that
   * value's author's clock runs beyond the bound and was not adopted. The feed's stamps must increase
   * (chain check, wire deltas), so the clock follows such a stamp; the event is counted (hlc.causal-ahead)
   * when it lies beyond this site's clock plus the bound.
   */
  stampFor(body: EventBody, lastWriteOf: (record: RecordId) => Hlc | undefined): Hlc;
  /** Shows the clock a peer's applied event; one it would not adopt is tallied for the running batch. */
  observe(a: AuthorRow, hlc: Hlc): void;
  /** Persists the clock's newest stamp (inside the transaction that moved it). */
  save(): void;
  /** Starts a batch's tally afresh. */
  beginBatch(): void;
  /** Counts the batch's skewed stamps per author (inside its transaction). */
  flushBatch(): void;
  /** Authors whose events carried stamps this site's clock would not adopt: how many, and the last one. */
  skewViolations(): SkewViolation[];
}

interface SkewTally {
  readonly author: AuthorId;
  n: number;
  aheadMs: number;
}

function initialHlc(core: StoreCore): Hlc {
  const saved = core.meta(CLOCK_KEY);
  let last: Hlc = Buffer.isBuffer(saved) ? { wall: saved.readUIntBE(2, 6), counter: saved.readUInt32BE(8) } : HLC_ZERO;
  const own = core.signer ? core.authors.get(core.signer.author) : undefined;
  if (own && compareHlc(own.head, last) > 0) last = { wall: own.head.wall, counter: own.head.counter };
  return last;
}

export function createStoreClock(core: StoreCore, maxForwardSkewMs: number): StoreClock {
  const clock = createHlcClock({ now: core.now, last: initialHlc(core), maxForwardSkewMs });
  const skewViolations = core.db.prepare<[], { name: string; value: number; last: string | null }>(
    // Per author: its violations and the last one (meta key hlc.skew-last:<author>).
    `SELECT c.name, c.value, m.value AS last FROM counters c LEFT JOIN meta m ON m.key = '${SKEW_LAST}' || substr(c.name, ${SKEW_BY_AUTHOR.length + 1})
     WHERE c.name LIKE '${SKEW_BY_AUTHOR}%'`,
  );
  /** Per author row: events applied in the running ingest whose stamps the clock would not adopt, and the farthest ahead. */
  const tallies = new Map<number, SkewTally>();
  /**
   * The newest stamp held that the clock did not adopt (null: none beyond the clock). While the clock is
   * at or past it, no record holds a stamp above the clock, and a local stamp needs no look at the record.
   */
  let aheadOfClock: Hlc | null = null;
  // Every feed's stamps increase, so its head is its newest: the newest of the heads is the newest stamp held.
  const newest = core.db.prepare("SELECT head_wall AS wall, head_counter AS counter FROM authors ORDER BY head_wall DESC, head_counter DESC LIMIT 1").get() as Hlc | undefined;
  if (newest && compareHlc(newest, clock.last()) > 0) aheadOfClock = newest;

  return {
    last: () => clock.last(),
    stampFor(body, lastWriteOf) {
      if (aheadOfClock && compareHlc(aheadOfClock, clock.last()) <= 0) aheadOfClock = null;
      const floor = isRecordBody(body) && aheadOfClock ? lastWriteOf(body.record) : undefined;
      if (!floor) return clock.tick();
      const hlc = clock.tickAbove(floor);
      if (hlc.wall > core.now() + maxForwardSkewMs) core.bump("hlc.causal-ahead", 1);
      return hlc;
    },
    observe(a, hlc) {
      if (clock.observe(hlc) !== "skew-refused") return;
      const t = tallies.get(a.ix) ?? { author: a.author, n: 0, aheadMs: 0 };
      t.n++;
      t.aheadMs = Math.max(t.aheadMs, hlc.wall - core.now());
      tallies.set(a.ix, t);
      if (!aheadOfClock || compareHlc(hlc, aheadOfClock) > 0) aheadOfClock = { wall: hlc.wall, counter: hlc.counter };
    },
    save() {
      const h = clock.last();
      const b = Buffer.alloc(12);
      b.writeUIntBE(h.wall, 2, 6);
      b.writeUInt32BE(h.counter, 8);
      core.setMeta(CLOCK_KEY, b);
    },
    beginBatch: () => tallies.clear(),
    flushBatch() {
      // Applied all the same (a feed's events are never refused for their clock), but the site's own clock ignored the stamp.
      for (const t of tallies.values()) {
        core.bump("hlc.skew-refused", t.n);
        core.bump(`${SKEW_BY_AUTHOR}${t.author}`, t.n);
        core.setMeta(`${SKEW_LAST}${t.author}`, JSON.stringify({ at: core.now(), aheadMs: t.aheadMs }));
      }
      tallies.clear();
    },
    skewViolations: () =>
      skewViolations.all().map((r) => {
        const { at, aheadMs } = r.last ? (JSON.parse(r.last) as { at: number; aheadMs: number }) : { at: 0, aheadMs: 0 };
        return { author: r.name.slice(SKEW_BY_AUTHOR.length) as AuthorId, count: r.value, lastAt: at, aheadMs };
      }),
  };
}
