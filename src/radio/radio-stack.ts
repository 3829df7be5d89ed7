/**
 * One station's whole radio stack over a link, wired the one way it must be:
 * the air framing (sealed with the network key, timed from one frame's
 * airtime and the duty cycle), the sync node over the store (asking the
 * framing what it is still receiving, and telling it which messages it
 * wants), the duty-cycle budget and the station that schedules them. The
 * site service and the simulations both build stations with it.
 */
import type { Signer } from "../engine/crypto.js";
import { shortTag } from "../engine/frontier.js";
import type { AuthorId } from "../engine/ids.js";
import type { IngestReport } from "../engine/store/ingest-types.js";
import { SyncNode, type SyncNodeOptions, type SyncStore } from "../engine/sync/sync-node.js";
import type { Logger } from "../log/logger.js";
import { createAirCodec, type AirCodec } from "./air/codec.js";
import type { Clock } from "./clock.js";
import { createDutyCycle, type DutyCycle } from "./duty-cycle.js";
import type { Link } from "./link.js";
import { airOptionsFor, BLOB_BUDGET_SHARE, createStation, syncTimingFor, type Station } from "./station.js";

export interface RadioStackOptions {
  readonly store: SyncStore & { frontier(): ReturnType<SyncStore["frontier"]> };
  readonly signer: Pick<Signer, "author">;
  readonly link: Link;
  readonly clock: Clock;
  readonly random: () => number;
  readonly networkId: number;
  readonly networkKey: Uint8Array | null;
  /** Share of any rolling hour the station may transmit (1: no duty cycle, e.g. UDP). */
  readonly dutyFraction: number;
  /** Wall-clock time (ms since the epoch) for fresh-before-backfill; Date.now unless simulated. */
  readonly wallNow?: () => number;
  /** Nonce starts; crypto.randomBytes unless a simulation must be reproducible. */
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Overrides of the sync node's options (timings, priorities, the blob store and which blobs to fetch). */
  readonly sync?: Partial<Omit<SyncNodeOptions, "store" | "now" | "random" | "mtu">>;
  readonly onIngest?: (report: IngestReport, author: AuthorId) => void;
  readonly names?: (author: AuthorId) => string | undefined;
  readonly log?: Logger;
}

export interface RadioStack {
  readonly codec: AirCodec;
  readonly node: SyncNode;
  readonly dutyCycle: DutyCycle;
  readonly station: Station;
}

export function createRadioStack(o: RadioStackOptions): RadioStack {
  const { clock, link, store } = o;
  const frameAirtime = link.airtimeMs(link.mtu);
  const stationId = shortTag(o.signer.author);
  const late: { node?: SyncNode } = {}; // the codec asks the node, made after it (its mtu comes from the codec)
  const codec = createAirCodec({
    networkId: o.networkId, stationId, networkKey: o.networkKey, requireSealed: o.networkKey !== null, mtu: link.mtu,
    clock, random: o.random, ...(o.randomBytes ? { randomBytes: o.randomBytes } : {}),
    // A link without airtime (UDP) keeps the framing's defaults.
    ...(frameAirtime > 0 ? airOptionsFor(frameAirtime, o.dutyFraction) : {}),
    wanted: (start) => late.node?.wantsMessage(start) ?? true,
    onNacked: (nacker, start) => late.node?.peerRecovering(nacker, start) ?? true,
  });
  const timing = frameAirtime > 0 ? syncTimingFor(frameAirtime, o.dutyFraction) : {};
  const dutyCycle = createDutyCycle({ clock, fraction: o.dutyFraction });
  // A blob frame goes only when it and the budget kept for events both still fit the window.
  const reserveMs = (1 - BLOB_BUDGET_SHARE) * dutyCycle.budgetMs;
  const node = new SyncNode({
    ...timing, ...o.sync, store, now: () => clock.now(), wallNow: o.wallNow ?? Date.now, random: o.random, mtu: codec.payloadCapacity(),
    stationId, awaiting: (station) => codec.receivingFrom(station), ...(o.onIngest ? { onIngest: o.onIngest } : {}),
    blobAirtimeAt: () => dutyCycle.earliestStart(frameAirtime + reserveMs),
  });
  late.node = node;
  const station = createStation({
    node, link, codec, dutyCycle, clock, random: o.random, frontier: () => store.frontier(),
    authorByShort: (short) => store.authorByShort(short), ...(o.names ? { names: o.names } : {}), ...(o.log ? { log: o.log } : {}),
  });
  return { codec, node, dutyCycle, station };
}
