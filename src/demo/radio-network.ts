/**
 * Simulated sites on the simulated LoRa air: each with its own identity, real
 * SQLite store, sync node, air framing (optionally sealed), duty-cycle budget
 * and a radio link that behaves like an RNode, all on one clock. Under the
 * virtual clock an hour of radio traffic takes a fraction of a second; the
 * convergence tests, the radio benchmarks and the demo build on it.
 */
import { siteActions, type SiteActions } from "./site-actions.js";
import { randomBytes } from "node:crypto";
import { generateSigner, type Signer } from "../engine/crypto.js";
import { seededRandom } from "../engine/random.js";
import { openStore, type SqliteStore } from "../engine/store/sqlite-store.js";
import { SyncNode, type SyncNodeOptions } from "../engine/sync/sync-node.js";
import type { WantsBlob } from "../engine/sync/blob-transfer.js";
import type { RadioSettings } from "../radio/air-port.js";
import type { AirCodec } from "../radio/air/codec.js";
import { networkIdFromName } from "../radio/air/network-key.js";
import { virtualClock, type Clock } from "../radio/clock.js";
import type { DutyCycle } from "../radio/duty-cycle.js";
import type { Link } from "../radio/link.js";
import { createLoRaMedium, type LoRaMedium } from "../radio/lora-medium.js";
import type { TopologySpec } from "../radio/lora-topology.js";
import { createSimLink } from "../radio/sim-link.js";
import { createRadioStack } from "../radio/radio-stack.js";
import type { Station } from "../radio/station.js";
import { VirtualScheduler } from "../radio/virtual-time.js";

/** SF9 at 125 kHz, CR 4/5 on 868.1 MHz (EU g1 sub-band, 1 %): the benchmarks' reference channel. */
export const REFERENCE_SETTINGS: RadioSettings = { frequency: 868_100_000, bandwidth: 125_000, sf: 9, cr: 5, txPower: 14 };

export interface RadioSite extends SiteActions {
  readonly name: string;
  readonly signer: Signer;
  readonly store: SqliteStore;
  readonly node: SyncNode;
  readonly codec: AirCodec;
  readonly dutyCycle: DutyCycle;
  readonly link: Link;
  readonly station: Station;
}

export interface RadioNetworkOptions {
  readonly names: readonly string[];
  readonly seed: number;
  readonly settings?: RadioSettings;
  /** Who hears whom; default: everyone. */
  readonly topology?: TopologySpec;
  /** Share of each rolling hour a station may transmit; default 1 %. */
  readonly dutyFraction?: number;
  /** Seal frames with a network key (AEAD). */
  readonly sealed?: boolean;
  /** The key to seal with (implies `sealed`); a random one when sealed without it. Tests that open frames pass their own. */
  readonly networkKey?: Uint8Array;
  /** Site identities, in `names` order; fresh random ones when absent. Fixed ones make a run reproducible. */
  readonly signers?: readonly Signer[];
  readonly networkName?: string;
  readonly sync?: Partial<Omit<SyncNodeOptions, "store" | "now" | "random" | "mtu">>;
  /** SQLite path per site; in-memory databases by default. */
  readonly storePath?: (name: string) => string;
  /** Virtual start time (ms since the epoch). */
  readonly startMs?: number;
  /** Which blobs each site fetches; when given, every site moves attachment bytes (and serves those it holds). */
  readonly wantsBlob?: (site: string) => WantsBlob;
}

export class RadioNetwork {
  readonly scheduler: VirtualScheduler;
  readonly clock: Clock;
  readonly medium: LoRaMedium;
  readonly sites: RadioSite[] = [];
  readonly random: () => number;

  constructor(readonly options: RadioNetworkOptions) {
    this.random = seededRandom(options.seed);
    this.scheduler = new VirtualScheduler(options.startMs ?? 1_767_225_600_000);
    this.clock = virtualClock(this.scheduler);
    this.medium = createLoRaMedium({ clock: this.clock, random: this.random, ...(options.topology ? { topology: options.topology } : {}) });
    if (options.signers && options.signers.length !== options.names.length) throw new RangeError("give one signer per site name");
    const signers = options.signers ?? options.names.map(() => generateSigner().signer);
    const networkKey = options.networkKey ?? (options.sealed ? randomBytes(32) : null);
    options.names.forEach((name, i) => this.sites.push(this.makeSite(name, i, signers, networkKey)));
  }

  private makeSite(name: string, i: number, signers: readonly Signer[], networkKey: Uint8Array | null): RadioSite {
    const o = this.options;
    const signer = signers[i] as Signer;
    const now = () => this.clock.now();
    const store = openStore({ path: o.storePath?.(name) ?? ":memory:", signer, now, durability: "normal", verifyPool: null });
    signers.forEach((s, j) => {
      if (j !== i) store.addMember(s.author, o.names[j]);
    });
    const random = seededRandom(o.seed * 7919 + i);
    const link = createSimLink({ medium: this.medium, id: name, settings: o.settings ?? REFERENCE_SETTINGS, clock: this.clock, random });
    const names = new Map(signers.map((s, j) => [s.author, o.names[j] as string]));
    // Seeded nonce starts keep simulations reproducible; a real station always takes them from crypto.randomBytes.
    const { codec, node, dutyCycle, station } = createRadioStack({
      store, signer, link, clock: this.clock, random, networkId: networkIdFromName(o.networkName ?? "meshlogd-sim"), networkKey,
      dutyFraction: o.dutyFraction ?? 0.01, randomBytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)),
      wallNow: now, names: (a) => names.get(a),
      sync: { ...o.sync, ...(o.wantsBlob ? { blobStore: store, wantsBlob: o.wantsBlob(name) } : {}) },
    });
    return siteApi({ name, signer, store, node, codec, dutyCycle, link, station });
  }

  /** Starts every station (attaches the radios). */
  async start(): Promise<void> {
    for (const s of this.sites) await s.station.start();
  }

  site(name: string): RadioSite {
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

  async close(): Promise<void> {
    for (const s of this.sites) await s.station.stop();
    for (const s of this.sites) s.store.close();
  }
}

function siteApi(p: Omit<RadioSite, keyof SiteActions>): RadioSite {
  return { ...p, ...siteActions(p.store, () => p.station.kick()) };
}
