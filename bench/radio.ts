/**
 * The radio benchmarks, on the simulated LoRa air at SF9/125 kHz/CR 4:5:
 *
 * - radio.idle_airtime_fraction: 10 converged stations in one neighbourhood
 *   over a simulated day; the share of channel time anyone transmitted.
 * - radio.convergence_vs_lower_bound: 5 sites in a line, 200 household
 *   submissions written at each while all are apart, then healed, 10 % loss,
 *   1 % duty cycle: time from the heal to full convergence, divided by the
 *   airtime lower bound (lowerBoundMs below).
 * - radio.airtime_vs_seed_protocol: total airtime of that run against the seed
 *   prototype's pairwise frontier push of JSON events on the same air.
 */
import { readFileSync } from "node:fs";
import { SeedFeed, seedEventsMessage, type SeedEvent } from "../src/baseline/seed-encoding.js";
import { translateDataPage, type TranslatedPage } from "../src/cli/airtime-report.js";
import { RadioNetwork, REFERENCE_SETTINGS, type RadioSite } from "../src/demo/radio-network.js";
import type { CborValue } from "../src/engine/cbor.js";
import { sha256 } from "../src/engine/crypto.js";
import { shortTag } from "../src/engine/frontier.js";
import { createHlcClock } from "../src/engine/hlc.js";
import type { AuthorId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { EVENTS_HEADER_BYTES } from "../src/engine/sync/sync-node.js";
import { RNODE_SINGLE_PAYLOAD, rnodeFrameAirtimeMs } from "../src/radio/airtime.js";
import { createDutyCycle } from "../src/radio/duty-cycle.js";
import { createLoRaMedium } from "../src/radio/lora-medium.js";
import { lineTopology, meshTopology } from "../src/radio/lora-topology.js";
import { createSimLink } from "../src/radio/sim-link.js";
import { virtualClock } from "../src/radio/clock.js";
import { VirtualScheduler } from "../src/radio/virtual-time.js";
import { SEED_FRAME_HEADER_BYTES } from "./seed-framing.js";
import { createSeedStation, SEED_MAX_EVENTS_PER_MSG } from "./seed-protocol.js";
import { log } from "./metrics.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const RADIO_WORKLOAD = { lineSites: 5, submissionsPerSite: 200, loss: 0.1, duty: 0.01, idleStations: 10, seed: 5 };

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), "utf8"));

function householdPage(): TranslatedPage {
  return translateDataPage(fixture("household-assessment-asset.json"), fixture("household-assessment-data.json"), "household");
}

/** Publishes the vocabulary and `count` submissions of the page, from `offset`, in the site's feed. */
function writeSubmissions(site: RadioSite, page: TranslatedPage, offset: number, count: number): void {
  site.store.append({ kind: "vocabulary", type: page.type, fields: page.vocabulary });
  for (const s of page.submissions.slice(offset, offset + count)) {
    site.store.append({ kind: "upsert", record: s.record, type: page.type, base: null, fields: s.fields });
  }
  site.announce();
}

/** 10 stations that all hear each other, converged, then left alone for a day. */
export async function benchIdleAirtime(stations = RADIO_WORKLOAD.idleStations): Promise<{ fraction: number; airtimeMs: number }> {
  const names = Array.from({ length: stations }, (_, i) => `site${i}`);
  const net = new RadioNetwork({ names, seed: 11, topology: meshTopology(names) });
  await net.start();
  const page = householdPage();
  net.sites.forEach((s, i) => writeSubmissions(s, page, i * 2, 2));
  net.runFor(DAY, () => net.converged());
  if (!net.converged()) throw new Error("idle benchmark: the stations did not converge within a day");
  net.runFor(HOUR); // let the last answers and beacons settle
  const before = net.medium.counters().airtimeMs;
  net.runFor(DAY);
  const airtimeMs = net.medium.counters().airtimeMs - before;
  await net.close();
  return { fraction: airtimeMs / DAY, airtimeMs };
}

/**
 * The airtime lower bound of the line scenario: in a line every event must be
 * sent by its origin and by every station between the origin and each end of
 * the line (one broadcast serves both neighbours); station j must therefore
 * put at least those feeds on the air (A_j), packed into full frames. The
 * middle stations relay every feed, so A_j is the whole data set for them.
 * Under a rolling-window budget B = duty × W, starting with a full budget, the
 * earliest a station can finish A_j is to send B at once in each of the first
 * m = ceil(A_j / B) windows: T_j = (m − 1)·W + (A_j − (m − 1)·B) (about
 * A_j / duty − W). The bound is the largest T_j; it ignores losses, the
 * protocol's own messages and the time a relay waits for what it relays.
 *
 * The feeds are measured at their origin (which holds them whole), so the
 * bound can be taken while the sites are still apart.
 */
function lowerBoundMs(net: RadioNetwork, duty: number): number {
  const sites = net.sites;
  const last = sites.length - 1;
  const feeds = sites.map((origin) => feedAirtime(origin, origin.signer.author));
  let worst = 0;
  sites.forEach((_, j) => {
    let airtime = 0;
    feeds.forEach((feed, i) => {
      const relays = i === j || (j > 0 && j < i) || (j < last && j > i);
      if (relays) airtime += feed;
    });
    worst = Math.max(worst, earliestFinishMs(airtime, duty, HOUR));
  });
  return worst;
}

/** The earliest a station with a full budget can finish sending `airtimeMs` under a rolling `duty` × `windowMs` budget. */
export function earliestFinishMs(airtimeMs: number, duty: number, windowMs: number): number {
  const budget = duty * windowMs;
  const windows = Math.max(1, Math.ceil(airtimeMs / budget));
  return (windows - 1) * windowMs + (airtimeMs - (windows - 1) * budget);
}

/** Airtime of an author's whole feed (as `holder` has it) sent as full events messages, each framed by the holder's codec. */
function feedAirtime(holder: RadioSite, author: AuthorId): number {
  const head = holder.store.headSeq(author);
  const capacity = holder.codec.payloadCapacity();
  const overhead = holder.codec.mtu - capacity;
  let airtime = 0;
  for (let seq = 1; seq <= head; ) {
    const batch = holder.store.wireItems(author, seq, head, capacity - EVENTS_HEADER_BYTES);
    const message = encodeMessage({ type: "events", short: shortTag(author), start: seq, items: batch.items });
    // A message over one frame's capacity (one large event) is fragmented: count its frames' airtime.
    for (let left = message.length; left > 0; left -= capacity) {
      airtime += rnodeFrameAirtimeMs(Math.min(left, capacity) + overhead, REFERENCE_SETTINGS);
    }
    seq += Math.max(1, batch.items.length);
  }
  return airtime;
}

export interface LineResult {
  readonly convergenceMs: number;
  readonly lowerBoundMs: number;
  readonly airtimeMs: number;
  readonly events: number;
}

/** Watches a run of the line scenario (a profiler, say): called at the heal; what it returns is called at convergence. */
export type LineObserver = (net: RadioNetwork) => () => void;

/** The line scenario with our protocol. */
export async function benchLineConvergence(w = RADIO_WORKLOAD, observe?: LineObserver): Promise<LineResult> {
  const names = Array.from({ length: w.lineSites }, (_, i) => `s${i}`);
  const net = new RadioNetwork({ names, seed: w.seed, topology: lineTopology(names, { loss: w.loss }), dutyFraction: w.duty });
  await net.start();
  const page = householdPage();
  net.medium.partition(names.map((n) => [n]));
  net.sites.forEach((s, i) => writeSubmissions(s, page, i * w.submissionsPerSite, w.submissionsPerSite));
  net.runFor(HOUR);
  const bound = lowerBoundMs(net, w.duty);
  net.medium.heal();
  const healedAt = net.scheduler.now();
  const airtimeBefore = net.medium.counters().airtimeMs;
  const finish = observe?.(net);
  net.runFor(60 * DAY, () => net.converged());
  if (!net.converged()) throw new Error("line benchmark: no convergence within 60 simulated days");
  finish?.();
  const result = {
    convergenceMs: net.scheduler.now() - healedAt,
    lowerBoundMs: bound,
    airtimeMs: net.medium.counters().airtimeMs - airtimeBefore,
    events: net.sites.reduce((n, s) => n + s.store.headSeq(s.signer.author), 0),
  };
  await net.close();
  return result;
}

/** The same scenario with the seed prototype's protocol, under the same 1 % gate; stops at `horizonMs` if it has not converged. */
export async function benchSeedLine(w = RADIO_WORKLOAD, horizonMs = 14 * DAY): Promise<{ airtimeMs: number; converged: boolean; elapsedMs: number }> {
  const scheduler = new VirtualScheduler(1_767_225_600_000);
  const clock = virtualClock(scheduler);
  const names = Array.from({ length: w.lineSites }, (_, i) => `s${i}`);
  const medium = createLoRaMedium({ clock, random: seededRandom(5), topology: lineTopology(names, { loss: w.loss }) });
  const page = householdPage();
  const feeds = names.map((name, i) => seedSubmissions(`${name}-author`, page, i * w.submissionsPerSite, w.submissionsPerSite));
  const total = feeds.reduce((n, f) => n + f.length, 0);
  const stations = names.map((name, i) => {
    const link = createSimLink({ medium, id: name, settings: REFERENCE_SETTINGS, clock, random: seededRandom(100 + i) });
    const duty = createDutyCycle({ clock, fraction: w.duty });
    const gate = { canSend: (ms: number) => duty.canSend(ms), earliestStart: (ms: number) => duty.earliestStart(ms), onSent: (ms: number) => duty.record(ms) };
    const events = feeds[i] as SeedEvent[];
    const station = createSeedStation({ address: i, link, clock, events, gate, peers: [i - 1, i + 1].filter((p) => p >= 0 && p < names.length), maxQueuedFrames: 10_000 });
    return { link, station };
  });
  for (const s of stations) await s.link.start();
  for (const s of stations) s.station.start();
  const converged = () => stations.every((s) => s.station.eventCount() >= total);
  const start = scheduler.now();
  scheduler.run({ until: start + horizonMs, stop: converged });
  const airtimeMs = medium.counters().airtimeMs;
  for (const s of stations) s.station.stop();
  return { airtimeMs, converged: converged(), elapsedMs: scheduler.now() - start };
}

/**
 * The least airtime the seed protocol could converge the line scenario with:
 * its JSON events messages (32 events each) cut into 254-byte frames with our
 * generous 8-byte header, each event sent by its origin to each neighbour
 * (the prototype sends per peer) and by every relay once onwards; no frontier
 * messages, no loss. Generous to the seed: what it really spends is more.
 */
export function seedLowerBoundAirtimeMs(w = RADIO_WORKLOAD): number {
  const page = householdPage();
  const n = w.lineSites;
  let airtime = 0;
  for (let i = 0; i < n; i++) {
    const events = seedSubmissions(`s${i}-author`, page, i * w.submissionsPerSite, w.submissionsPerSite);
    // Sends of this feed: the origin to each neighbour, then one onward send per relay towards each end.
    const sends = (i > 0 ? 1 : 0) + (i < n - 1 ? 1 : 0) + Math.max(0, i - 1) + Math.max(0, n - 2 - i);
    let feed = 0;
    for (let k = 0; k < events.length; k += SEED_MAX_EVENTS_PER_MSG) {
      const bytes = seedEventsMessage(events.slice(k, k + SEED_MAX_EVENTS_PER_MSG)).length;
      const perFrame = RNODE_SINGLE_PAYLOAD - SEED_FRAME_HEADER_BYTES;
      for (let left = bytes; left > 0; left -= perFrame) feed += rnodeFrameAirtimeMs(Math.min(left, perFrame) + SEED_FRAME_HEADER_BYTES, REFERENCE_SETTINGS);
    }
    airtime += feed * sends;
  }
  return airtime;
}

function seedSubmissions(author: string, page: TranslatedPage, offset: number, count: number): SeedEvent[] {
  const feed = new SeedFeed(sha256(Buffer.from(author)).subarray(0, 16).toString("hex"));
  const out: SeedEvent[] = [];
  for (const s of page.submissions.slice(offset, offset + count)) {
    const clock = createHlcClock({ now: () => s.wall });
    out.push(...feed.submission(s.record, page.type, s.fields as Record<string, CborValue>, () => clock.tick()));
  }
  return out;
}

export function describeLine(r: LineResult): void {
  log(`line: ${r.events} events converged in ${(r.convergenceMs / HOUR).toFixed(1)} h after the heal; lower bound ${(r.lowerBoundMs / HOUR).toFixed(1)} h; ${(r.airtimeMs / 1000).toFixed(0)} s of airtime`);
}
