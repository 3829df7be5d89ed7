/**
 * A station under attack: a site's real store (holding everything its
 * network wrote) behind a fresh sync node, air codec, duty cycle and
 * scheduler, on a link the test injects frames into. The codec and node are
 * wrapped only to watch them: what each frame became, which messages parsed,
 * what every ingest reported.
 */
import type { RadioSite } from "../../src/demo/radio-network.js";
import { shortTag } from "../../src/engine/frontier.js";
import { seededRandom } from "../../src/engine/random.js";
import type { IngestReport, SqliteStore } from "../../src/engine/store/sqlite-store.js";
import type { SyncMessage } from "../../src/engine/sync/messages.js";
import { SyncNode, type SyncNodeOptions } from "../../src/engine/sync/sync-node.js";
import type { RadioSettings } from "../../src/radio/air-port.js";
import { createAirCodec, type AirCodec, type AirReceiveResult } from "../../src/radio/air/codec.js";
import { virtualClock, type Clock } from "../../src/radio/clock.js";
import { createDutyCycle, type DutyCycle } from "../../src/radio/duty-cycle.js";
import { AIR_STALL_FRAMES, createStation, syncTimingFor, type Station } from "../../src/radio/station.js";
import { VirtualScheduler } from "../../src/radio/virtual-time.js";
import { createInjectLink, type InjectLink, type SentFrame } from "./inject-link.js";

/** A sync node that also counts the messages it parsed, by type. */
class ProbeNode extends SyncNode {
  readonly parsed: Record<SyncMessage["type"], number> = { beacon: 0, frontier: 0, request: 0, events: 0, "blob-want": 0, "blob-chunk": 0 };

  override receive(frame: Uint8Array): SyncMessage | undefined {
    const m = super.receive(frame);
    if (m) this.parsed[m.type]++;
    return m;
  }
}

/** What every ingest the node ran reported, summed. */
export interface IngestTally {
  calls: number;
  applied: number;
  duplicates: number;
  buffered: number;
  refused: Record<string, number>;
}

export interface FuzzTarget {
  readonly store: SqliteStore;
  readonly link: InjectLink;
  readonly codec: AirCodec;
  readonly node: ProbeNode;
  readonly station: Station;
  readonly dutyCycle: DutyCycle;
  readonly scheduler: VirtualScheduler;
  readonly clock: Clock;
  readonly stationId: Uint8Array;
  readonly ingests: IngestTally;
  /** What the codec made of the last frame injected. */
  lastResult(): AirReceiveResult | undefined;
  /** Injects one frame and returns what the codec made of it. */
  inject(frame: Uint8Array): AirReceiveResult;
  /** Runs the station's timers for `ms` of virtual time. */
  advance(ms: number): void;
}

/** The codec, passed through, remembering the result of each frame it received. */
function watchedCodec(inner: AirCodec, seen: (r: AirReceiveResult) => void): AirCodec {
  return {
    get stats() { return inner.stats; },
    get mtu() { return inner.mtu; },
    get sealed() { return inner.sealed; },
    payloadCapacity: () => inner.payloadCapacity(),
    maxMessageBytes: () => inner.maxMessageBytes(),
    encode: (m) => inner.encode(m),
    receive(frame) {
      const r = inner.receive(frame);
      seen(r);
      return r;
    },
    poll: () => inner.poll(),
    nextWake: () => inner.nextWake(),
    usage: () => inner.usage(),
    receivingFrom: (origin) => inner.receivingFrom(origin),
  };
}

function tally(t: IngestTally, r: IngestReport): void {
  t.calls++;
  t.applied += r.applied;
  t.duplicates += r.duplicates;
  t.buffered += r.buffered;
  for (const [reason, n] of Object.entries(r.refused)) t.refused[reason] = (t.refused[reason] ?? 0) + (n ?? 0);
}

export interface FuzzTargetOptions {
  readonly site: RadioSite;
  readonly networkId: number;
  readonly networkKey: Uint8Array | null;
  readonly settings: RadioSettings;
  readonly startMs: number;
  readonly seed: number;
  /** Share of each hour the station may transmit. */
  readonly dutyFraction: number;
  /** Keep only about this many of the frames the station sends (all by default). */
  readonly keepSent?: number;
  /** Sees every frame the station sends. */
  readonly onSend?: (frame: SentFrame) => void;
}

export async function createFuzzTarget(o: FuzzTargetOptions): Promise<FuzzTarget> {
  const scheduler = new VirtualScheduler(o.startMs);
  const clock = virtualClock(scheduler);
  const random = seededRandom(o.seed);
  const link = createInjectLink(o.settings, () => clock.now(), { ...(o.keepSent ? { keepSent: o.keepSent } : {}), ...(o.onSend ? { onSend: o.onSend } : {}) });
  const frameAirtime = link.airtimeMs(link.mtu);
  const stationId = new Uint8Array(shortTag(o.site.signer.author));
  let last: AirReceiveResult | undefined;
  const codec = watchedCodec(
    createAirCodec({
      networkId: o.networkId, stationId, networkKey: o.networkKey, clock, random,
      randomBytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256)),
      timing: { stallMs: AIR_STALL_FRAMES * frameAirtime },
    }),
    (r) => (last = r),
  );
  const ingests: IngestTally = { calls: 0, applied: 0, duplicates: 0, buffered: 0, refused: {} };
  const store = o.site.store;
  const now = () => clock.now();
  const nodeOptions: SyncNodeOptions = {
    ...syncTimingFor(frameAirtime), store, now, wallNow: now, random, mtu: codec.payloadCapacity(), onIngest: (r) => tally(ingests, r),
  };
  const node = new ProbeNode(nodeOptions);
  const dutyCycle = createDutyCycle({ clock, fraction: o.dutyFraction });
  const station = createStation({
    node, link, codec, dutyCycle, clock, frontier: () => store.frontier(), authorByShort: (short) => store.authorByShort(short),
  });
  await station.start();
  const lastResult = (): AirReceiveResult | undefined => last;
  return {
    store, link, codec, node, station, dutyCycle, scheduler, clock, stationId, ingests,
    lastResult,
    inject(frame) {
      last = undefined;
      link.inject(frame);
      const r = lastResult();
      if (!r) throw new Error("the station did not hand the frame to its codec");
      return r;
    },
    advance(ms) {
      scheduler.run({ until: scheduler.now() + ms });
    },
  };
}
