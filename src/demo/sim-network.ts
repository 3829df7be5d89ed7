/**
 * A set of simulated sites, each with its own identity, real SQLite store and
 * sync node, joined by the in-memory medium under virtual time. Used by the
 * engine demo and the convergence tests.
 */
import { siteActions, type SiteActions } from "./site-actions.js";
import { generateSigner, type Signer } from "../engine/crypto.js";
import { seededRandom } from "../engine/random.js";
import { openStore, type SqliteStore } from "../engine/store/sqlite-store.js";
import { SyncNode, type SyncNodeOptions } from "../engine/sync/sync-node.js";
import { MemoryMedium, type MemoryMediumOptions } from "../radio/memory-medium.js";
import { createSimStation, type SimStation } from "../radio/sim-station.js";
import { VirtualScheduler } from "../radio/virtual-time.js";

export interface SimSite extends SiteActions {
  readonly name: string;
  readonly signer: Signer;
  readonly store: SqliteStore;
  readonly node: SyncNode;
  readonly station: SimStation;
}

export interface SimNetworkOptions {
  readonly names: readonly string[];
  readonly seed: number;
  readonly medium?: Partial<Omit<MemoryMediumOptions, "random">>;
  readonly sync?: Partial<Omit<SyncNodeOptions, "store" | "now" | "random">>;
  /** Per-site clock offset from true time (ms), to simulate skewed wall clocks. */
  readonly clockOffsetMs?: (name: string, index: number) => number;
  /** Every store's bound on adopting remote stamps ahead of its clock (see HlcClockOptions); none by default. */
  readonly maxForwardSkewMs?: number;
  /** SQLite path per site; defaults to in-memory databases. */
  readonly storePath?: (name: string) => string;
  /** Virtual start time (ms since the epoch). */
  readonly startMs?: number;
}

export class SimNetwork {
  readonly scheduler: VirtualScheduler;
  readonly medium: MemoryMedium;
  readonly sites: SimSite[] = [];
  readonly random: () => number;

  constructor(options: SimNetworkOptions) {
    this.random = seededRandom(options.seed);
    this.scheduler = new VirtualScheduler(options.startMs ?? 1_767_225_600_000);
    this.medium = new MemoryMedium(this.scheduler, {
      loss: 0,
      duplicate: 0,
      delayMs: [5, 50],
      ...options.medium,
      random: this.random,
    });
    const signers = options.names.map(() => generateSigner().signer);
    options.names.forEach((name, i) => {
      const signer = signers[i] as Signer;
      const offset = options.clockOffsetMs?.(name, i) ?? 0;
      const now = () => this.scheduler.now() + offset;
      const skew = options.maxForwardSkewMs === undefined ? {} : { maxForwardSkewMs: options.maxForwardSkewMs };
      const store = openStore({ path: options.storePath?.(name) ?? ":memory:", signer, now, durability: "normal", ...skew });
      signers.forEach((s, j) => {
        if (j !== i) store.addMember(s.author, options.names[j]);
      });
      const node = new SyncNode({ ...options.sync, store, now: () => this.scheduler.now(), wallNow: now, random: this.random });
      const ref: { station?: SimStation } = {};
      const send = this.medium.join(name, (frame) => ref.station?.receive(frame));
      const station = createSimStation(node, send, this.scheduler);
      ref.station = station;
      station.kick();
      this.sites.push(makeSite(name, signer, store, node, station));
    });
  }

  site(name: string): SimSite {
    const s = this.sites.find((x) => x.name === name);
    if (!s) throw new Error(`no simulated site named ${name}`);
    return s;
  }

  /** True when every site holds the same frontier. */
  converged(): boolean {
    const first = this.sites[0]?.store.digest();
    return this.sites.every((s) => first !== undefined && s.store.digest().equals(first));
  }

  /** Runs virtual time for `ms`, or until `stop` holds. */
  runFor(ms: number, stop?: () => boolean): void {
    this.scheduler.run({ until: this.scheduler.now() + ms, stop });
  }

  close(): void {
    for (const s of this.sites) s.store.close();
  }
}

function makeSite(name: string, signer: Signer, store: SqliteStore, node: SyncNode, station: SimStation): SimSite {
  return {
    name, signer, store, node, station,
    ...siteActions(store, () => {
      node.localChange();
      station.kick();
    }),
  };
}
