/**
 * Simulated sites whose wall clocks are wrong: one three days ahead, one
 * three days behind, two right; on the in-memory medium with loss, under
 * virtual time. Helpers to edit a shared record in turn and read it back.
 */
import { SimNetwork, type SimSite } from "../../../src/demo/sim-network.js";
import { recordId } from "../../../src/engine/ids.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** How wrong the two bad clocks are. */
export const SKEW_MS = 3 * DAY;
export const SHARED = "uuid:5ca1ab1e-0000-4000-8000-000000000001";

const OFFSETS: Record<string, number> = { ahead: SKEW_MS, right: 0, behind: -SKEW_MS, other: 0 };

export interface SkewedNetwork {
  readonly net: SimNetwork;
  readonly ahead: SimSite;
  readonly right: SimSite;
  readonly behind: SimSite;
  readonly other: SimSite;
  /** Runs until every site holds the same frontier (or `maxMs` passes); true if they do. */
  settle(maxMs?: number): boolean;
  /** True when every site's view is byte-identical. */
  viewsEqual(): boolean;
  /** The value of `field` of the shared record at `site`. */
  valueAt(site: SimSite, field: string): unknown;
  /** True time now (the scheduler's clock). */
  now(): number;
}

export function skewedNetwork(o: { seed: number; maxForwardSkewMs?: number }): SkewedNetwork {
  const net = new SimNetwork({
    names: Object.keys(OFFSETS), seed: o.seed, medium: { loss: 0.1, delayMs: [5, 300] },
    clockOffsetMs: (name) => OFFSETS[name] ?? 0,
    ...(o.maxForwardSkewMs === undefined ? {} : { maxForwardSkewMs: o.maxForwardSkewMs }),
  });
  const [ahead, right, behind, other] = net.sites as [SimSite, SimSite, SimSite, SimSite];
  return {
    net, ahead, right, behind, other,
    settle(maxMs = 6 * HOUR) {
      net.runFor(maxMs, () => net.converged());
      return net.converged();
    },
    viewsEqual() {
      const views = net.sites.map((s) => s.store.viewBytes().toString("hex"));
      return views.every((v) => v === views[0]);
    },
    valueAt: (site, field) => site.store.getRecord(recordId(SHARED))?.fields.get(field)?.value,
    now: () => net.scheduler.now(),
  };
}

/**
 * Each site in `order` edits `field` of the shared record, the next one only
 * after every site converged on the edit before: each edit is made after
 * seeing all earlier ones. Returns what each wrote and what every site then held.
 */
export function editInTurn(n: SkewedNetwork, field: string, order: readonly SimSite[]): { written: string[]; held: unknown[][] } {
  const written: string[] = [];
  const held: unknown[][] = [];
  for (const site of order) {
    const value = `${site.name}-${written.length}`;
    site.upsert(SHARED, "household", { [field]: value });
    written.push(value);
    if (!n.settle()) throw new Error(`the sites did not converge after ${site.name}'s edit of ${field}`);
    held.push(n.net.sites.map((s) => n.valueAt(s, field)));
  }
  return { written, held };
}
