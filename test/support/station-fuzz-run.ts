/**
 * The station fuzz driver, for any number of frames: hostile air against a
 * whole station (sync node, air codec, duty cycle, scheduler), sealed or
 * unsealed, drawn from a real exchange between three sites and mutated at
 * every layer (hostile-frames.ts), plus what only a key holder can send:
 * forks, forgeries, a non-member's signed events (insider-frames.ts). The
 * station is one of the exchange's sites, so it already holds every genuine
 * event. While it runs, every bound its modules promise is checked, its store
 * is compared with how it started, and memory is sampled.
 */
import assert from "node:assert/strict";
import { REFERENCE_SETTINGS } from "../../src/demo/radio-network.js";
import { MAX_GAP_BUFFER_EVENTS } from "../../src/engine/constants.js";
import type { EventId } from "../../src/engine/ids.js";
import type { SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { MAX_FRAGMENTS } from "../../src/radio/air/constants.js";
import { DEFAULT_LIMITS } from "../../src/radio/air/options.js";
import { rnodeFrameAirtimeMs } from "../../src/radio/airtime.js";
import { fuzzSource } from "./frame-mutations.js";
import { createFuzzTarget, type FuzzTarget } from "./fuzz-station.js";
import { hostileGenerators, type HostileGenerator } from "./hostile-frames.js";
import { insiderFrames } from "./insider-frames.js";
import { sampleMemory, type MemorySample } from "./memory-probe.js";
import { createSendWatch, type SendWatch } from "./send-watch.js";
import { captureExchange, type CapturedExchange } from "./station-corpus.js";

const CHECK_EVERY = 1_000;
/** Sent frames the test keeps for replays: the rest are checked as they go (send-watch.ts) and let go. */
const KEEP_SENT = 256;
/** Memory samples per run: each costs a full collection. */
const MEMORY_SAMPLES = 25;
export const HOUR = 3_600_000;
/** The station may transmit 1 % of each hour (EU 868.0–868.6 MHz, the default): it answers some of what it is sent. */
export const DUTY_FRACTION = 0.01;

export interface StoreSnapshot {
  readonly digest: string;
  readonly events: number;
  readonly view: Buffer;
  readonly counters: Record<string, number>;
}

export function snapshot(store: SqliteStore): StoreSnapshot {
  return { digest: store.digest().toString("hex"), events: store.eventCount(), view: store.viewBytes(), counters: store.counterValues() };
}

export interface FuzzRun {
  readonly exchange: CapturedExchange;
  readonly target: FuzzTarget;
  readonly before: StoreSnapshot;
  readonly injected: number;
  readonly byGenerator: Map<string, number>;
  /** The only events the fork table may hold: the insider's pool of forks. */
  readonly forkIds: ReadonlySet<EventId>;
  readonly memory: MemorySample[];
  /** What the station put on the air, checked as it went. */
  readonly sent: SendWatch;
  /** The largest heard-station table seen. */
  maxHeard: number;
}

/** Every bound the station's modules promise, checked now. */
export function checkBounded(t: FuzzTarget): void {
  const u = t.codec.usage();
  const L = DEFAULT_LIMITS;
  assert.ok(u.partials <= L.maxPartials, `partials in reassembly: ${u.partials}`);
  assert.ok(u.reservedBytes <= L.maxReassemblyBytes && u.heldBytes <= u.reservedBytes, `reassembly bytes: ${u.heldBytes}/${u.reservedBytes}`);
  for (const held of [u.heldOwn, u.heldOverheard]) {
    assert.ok(held.messages <= L.maxHeldMessages && held.bytes <= L.maxHeldBytes, `held for re-sends: ${JSON.stringify(held)}`);
  }
  assert.ok(u.recentKeys <= L.maxRecentKeys, `recent message keys: ${u.recentKeys}`);
  assert.ok(u.pendingResends <= 2 * L.maxHeldMessages, `pending re-sends: ${u.pendingResends}`);
  const authors = t.store.members().length;
  const p = t.node.pending();
  assert.ok(p.answers <= authors && p.wants <= authors, `sync node answers/wants ${p.answers}/${p.wants} for ${authors} members`);
  // What one pull may queue: re-sends of every held message and a nack per partial, then a message per member and three more.
  const outboxBound = MAX_FRAGMENTS * (2 * L.maxHeldMessages + authors + 3) + L.maxPartials;
  assert.ok(t.station.status().queued <= outboxBound, `frames queued: ${t.station.status().queued}`);
  assert.ok(t.store.gapBufferSize() <= MAX_GAP_BUFFER_EVENTS, `gap buffer: ${t.store.gapBufferSize()}`);
}

export function checkUnchanged(store: SqliteStore, was: StoreSnapshot, withView: boolean): void {
  assert.equal(store.digest().toString("hex"), was.digest, "frontier digest changed");
  assert.equal(store.eventCount(), was.events, "event count changed");
  if (withView) assert.ok(store.viewBytes().equals(was.view), "view changed");
}

async function prepare(sealed: boolean, seed: number): Promise<{ run: FuzzRun; generators: HostileGenerator[] }> {
  const exchange = await captureExchange({ sealed, seed });
  const site = exchange.net.site("s0");
  const sent = createSendWatch({
    networkId: exchange.networkId, networkKey: exchange.networkKey, windowMs: HOUR, airtimeMs: (n) => rnodeFrameAirtimeMs(n, REFERENCE_SETTINGS),
  });
  const target = await createFuzzTarget({
    site, networkId: exchange.networkId, networkKey: exchange.networkKey, settings: REFERENCE_SETTINGS,
    startMs: exchange.net.scheduler.now(), seed: seed + 1, dutyFraction: DUTY_FRACTION, keepSent: KEEP_SENT, onSend: (fr) => sent.observe(fr),
  });
  const f = fuzzSource(seed + 2);
  const others = exchange.net.sites.filter((s) => s !== site);
  const generators = hostileGenerators({
    f, networkId: exchange.networkId, networkKey: exchange.networkKey, captured: exchange.frames, messages: exchange.messages,
    members: others.map((s) => s.signer.author), self: target.stationId,
    sentByTarget: target.link.sent, sentTotal: () => target.link.sentTotal(), now: () => target.clock.now(),
    headOf: (short) => {
      const author = site.store.authorByShort(short);
      return author ? site.store.headSeq(author) : 0;
    },
  });
  const insider = insiderFrames({ f, store: site.store, members: others.map((s) => s.signer), carry: generators.carry });
  const run: FuzzRun = {
    exchange, target, before: snapshot(site.store), injected: 0, byGenerator: new Map(), forkIds: insider.forkIds, memory: [], sent, maxHeard: 0,
  };
  return { run, generators: [...generators.all, ...insider.generators] };
}

/** Injects `frames` hostile frames, checking bounds and the store every CHECK_EVERY frames; throws with the seed that replays a failure. */
export async function runStationFuzz(o: { sealed: boolean; seed: number; frames: number }): Promise<FuzzRun> {
  const { run, generators } = await prepare(o.sealed, o.seed);
  const { target, exchange } = run;
  const f = fuzzSource(o.seed + 3);
  const sampleEvery = Math.max(CHECK_EVERY, Math.floor(o.frames / MEMORY_SAMPLES));
  let n = 0;
  let checked = 0;
  let current = "";
  try {
    run.memory.push(sampleMemory(0));
    while (n < o.frames) {
      const g = f.pick(generators);
      current = g.name;
      for (const frame of g.make()) {
        if (n >= o.frames) break;
        const r = target.inject(frame);
        n++;
        run.byGenerator.set(g.name, (run.byGenerator.get(g.name) ?? 0) + 1);
        const complaint = g.expect?.(r);
        if (complaint) assert.fail(complaint);
        if (n % sampleEvery === 0) run.memory.push(sampleMemory(n));
      }
      target.advance(f.chance(0.0005) ? 45 * 60_000 : f.int(2_000));
      if (n - checked >= CHECK_EVERY) {
        checked = n;
        checkBounded(target);
        checkUnchanged(exchange.net.site("s0").store, run.before, n % (20 * CHECK_EVERY) < CHECK_EVERY);
        run.maxHeard = Math.max(run.maxHeard, target.station.status().heard.length);
      }
    }
    current = "the quiet after";
    target.advance(2 * HOUR);
    checkBounded(target);
    run.memory.push(sampleMemory(n));
  } catch (err) {
    const where = `${o.sealed ? "sealed" : "unsealed"} station, seed ${o.seed} (STATION_FUZZ_SEED=${o.seed} replays it), frame ${n} from "${current}"`;
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { ...run, injected: n };
}
