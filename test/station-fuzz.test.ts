/**
 * Hostile air against a whole station (sync node, air codec, duty cycle,
 * scheduler), sealed and unsealed: 100 000 frames each, drawn from a real
 * exchange between three sites and mutated at every layer (see
 * support/hostile-frames.ts). The station under test is one of those sites,
 * so it already holds every genuine event: nothing may change its store.
 * Nothing may throw, memory must stay within the modules' bounds, every frame
 * must be counted (decoded or dropped by reason) and the counters add up.
 *
 * STATION_FUZZ_SEED=<n> replays a run with another seed.
 */
import assert from "node:assert/strict";
import { MAX_HEARD_STATIONS } from "../src/radio/heard-stations.js";
import { after, before, describe, it } from "node:test";
import { REFERENCE_SETTINGS } from "../src/demo/radio-network.js";
import { MAX_GAP_BUFFER_EVENTS } from "../src/engine/constants.js";
import type { SqliteStore } from "../src/engine/store/sqlite-store.js";
import { FRAME_KIND, KIND_MASK, MAX_FRAGMENTS, OFFSET } from "../src/radio/air/constants.js";
import { createFrameCodec } from "../src/radio/air/frame.js";
import { deriveFrameKey } from "../src/radio/air/network-key.js";
import { DEFAULT_LIMITS } from "../src/radio/air/options.js";
import { totalDropped } from "../src/radio/air/stats.js";
import { fuzzSource } from "./support/frame-mutations.js";
import { createFuzzTarget, type FuzzTarget } from "./support/fuzz-station.js";
import { hostileGenerators } from "./support/hostile-frames.js";
import { captureExchange, type CapturedExchange } from "./support/station-corpus.js";

const SEED = Number(process.env.STATION_FUZZ_SEED ?? 20260611);
const FRAMES = 100_000;
const CHECK_EVERY = 1_000;
const HOUR = 3_600_000;
/** The station may transmit 1 % of each hour (EU 868.0–868.6 MHz, the default): it answers some of what it is sent. */
const DUTY_FRACTION = 0.01;
/** Strangers a station may remember hearing besides the members: a bound that does not grow with what it is sent. */
const HEARD_STRANGERS = 64;
/** Decode failures the sync node counts per message (other reasons count entries within a parsed one). */
const MESSAGE_DROPS = ["undecodable", "bad-version", "bad-type", "malformed-message"];

interface StoreSnapshot {
  readonly digest: string;
  readonly events: number;
  readonly view: Buffer;
}

function snapshot(store: SqliteStore): StoreSnapshot {
  return { digest: store.digest().toString("hex"), events: store.eventCount(), view: store.viewBytes() };
}

interface FuzzRun {
  readonly exchange: CapturedExchange;
  readonly target: FuzzTarget;
  readonly before: StoreSnapshot;
  readonly injected: number;
  readonly byGenerator: Map<string, number>;
  /** The largest heard-station table seen. */
  maxHeard: number;
}

/** Every bound the station's modules promise, checked now. */
function checkBounded(t: FuzzTarget): void {
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

function checkUnchanged(store: SqliteStore, was: StoreSnapshot, withView: boolean): void {
  assert.equal(store.digest().toString("hex"), was.digest, "frontier digest changed");
  assert.equal(store.eventCount(), was.events, "event count changed");
  if (withView) assert.ok(store.viewBytes().equals(was.view), "view changed");
}

async function runFuzz(sealed: boolean, seed: number): Promise<FuzzRun> {
  const exchange = await captureExchange({ sealed, seed });
  const site = exchange.net.site("s0");
  const target = await createFuzzTarget({
    site, networkId: exchange.networkId, networkKey: exchange.networkKey, settings: REFERENCE_SETTINGS,
    startMs: exchange.net.scheduler.now(), seed: seed + 1, dutyFraction: DUTY_FRACTION,
  });
  const run: FuzzRun = { exchange, target, before: snapshot(site.store), injected: 0, byGenerator: new Map(), maxHeard: 0 };
  const f = fuzzSource(seed + 2);
  const generators = hostileGenerators({
    f, networkId: exchange.networkId, networkKey: exchange.networkKey, captured: exchange.frames, messages: exchange.messages,
    members: exchange.net.sites.filter((s) => s !== site).map((s) => s.signer.author), self: target.stationId,
    sentByTarget: target.link.sent, now: () => target.clock.now(),
    headOf: (short) => {
      const author = site.store.authorByShort(short);
      return author ? site.store.headSeq(author) : 0;
    },
  });
  let n = 0;
  let checked = 0;
  let current = "";
  try {
    while (n < FRAMES) {
      const g = f.pick(generators);
      current = g.name;
      for (const frame of g.make()) {
        if (n >= FRAMES) break;
        const r = target.inject(frame);
        n++;
        run.byGenerator.set(g.name, (run.byGenerator.get(g.name) ?? 0) + 1);
        const complaint = g.expect?.(r);
        if (complaint) assert.fail(complaint);
      }
      target.advance(f.chance(0.0005) ? 45 * 60_000 : f.int(2_000));
      if (n - checked >= CHECK_EVERY) {
        checked = n;
        checkBounded(target);
        checkUnchanged(site.store, run.before, n % (20 * CHECK_EVERY) < CHECK_EVERY);
        run.maxHeard = Math.max(run.maxHeard, target.station.status().heard.length);
      }
    }
    current = "the quiet after";
    target.advance(2 * HOUR);
    checkBounded(target);
  } catch (err) {
    const where = `${sealed ? "sealed" : "unsealed"} station, seed ${seed} (STATION_FUZZ_SEED=${seed} replays it), frame ${n} from "${current}"`;
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { ...run, injected: n };
}

/**
 * The most airtime the station used in any window of `windowMs`, from the frames it handed to its link
 * (in time order, never overlapping: the busiest window ends where a frame ends).
 */
function maxWindowAirtime(t: FuzzTarget, windowMs: number): number {
  const spans = t.link.sent.map((s) => ({ start: s.atMs, ms: t.link.airtimeMs(s.bytes.length) }));
  let worst = 0;
  let first = 0;
  let sum = 0;
  for (const span of spans) {
    sum += span.ms;
    const from = span.start + span.ms - windowMs;
    for (let head = spans[first]; head && head.start + head.ms <= from; head = spans[first]) {
      sum -= head.ms;
      first++;
    }
    const cut = spans[first] ? Math.max(0, from - (spans[first] as { start: number }).start) : 0;
    worst = Math.max(worst, sum - cut);
  }
  return worst;
}

for (const sealed of [true, false]) {
  describe(`${FRAMES} hostile frames into a ${sealed ? "sealed" : "unsealed"} station (seed ${SEED})`, () => {
    let run: FuzzRun;
    before(async () => {
      run = await runFuzz(sealed, SEED);
    });
    after(async () => {
      await run?.target.station.stop();
      await run?.exchange.net.close();
    });

    it("counts every frame, decoded or dropped by reason, and the counters add up", (ctx) => {
      const { target: t, injected } = run;
      const s = t.codec.stats;
      ctx.diagnostic(`codec: decoded ${s.framesDecoded}, dropped ${JSON.stringify(s.dropped)}, reassembled ${s.messagesReassembled}, nacks answered ${s.nacksAnswered}`);
      ctx.diagnostic(`node: ${t.node.stats.framesReceived} messages, parsed ${JSON.stringify(t.node.parsed)}, dropped ${JSON.stringify(t.node.stats.dropped)}`);
      ctx.diagnostic(`ingest: ${JSON.stringify(t.ingests)}; gap buffer ${t.store.gapBufferSize()}; sent ${t.link.sent.length} frames; heard table up to ${run.maxHeard}`);
      assert.equal(injected, FRAMES);
      assert.equal(t.station.status().framesReceived, injected);
      assert.equal(s.framesReceived, injected);
      assert.equal(s.framesDecoded + totalDropped(s), injected, `decoded ${s.framesDecoded} + dropped ${JSON.stringify(s.dropped)}`);
      assert.equal(s.framesDecoded, s.messagesDelivered - s.messagesReassembled + s.fragmentsReceived + s.fragmentsDuplicate + s.nacksReceived);
      const node = t.node.stats;
      assert.equal(node.framesReceived, s.messagesDelivered, "every delivered message reached the sync node");
      const parsed = Object.values(t.node.parsed).reduce((a, b) => a + b, 0);
      const refused = MESSAGE_DROPS.reduce((a, r) => a + (node.dropped[r] ?? 0), 0);
      assert.equal(parsed + refused, node.framesReceived, `parsed ${parsed} + refused ${JSON.stringify(node.dropped)}`);
    });

    it("reaches the deep paths: reassembly, nacks, decoding, parsing, wire items, ingest", () => {
      const { target: t } = run;
      const s = t.codec.stats;
      for (const name of ["too-short", "too-long", "bad-version", "foreign-network", "bad-type", "own-echo", "malformed-fragment", "malformed-nack", sealed ? "auth-failed" : "bad-integrity"]) {
        assert.ok((s.dropped as Record<string, number>)[name]! > 0, `no frame was dropped as ${name}`);
      }
      assert.ok(s.messagesReassembled > 0 && s.nacksAnswered > 0 && s.fragmentsResent > 0, "fragments reassembled, nacks answered");
      for (const reason of ["undecodable", "malformed-message", "unknown-author"]) assert.ok((t.node.stats.dropped[reason] ?? 0) > 0, `node never dropped ${reason}`);
      for (const type of ["beacon", "frontier", "request", "events"] as const) assert.ok(t.node.parsed[type] > 0, `no ${type} parsed`);
      assert.ok(t.ingests.calls > 0 && (t.ingests.refused["bad-signature"] ?? 0) > 0 && (t.ingests.refused.malformed ?? 0) > 0, JSON.stringify(t.ingests));
      for (const [name, count] of run.byGenerator) assert.ok(count > 100, `only ${count} frames from "${name}"`);
    });

    it("leaves the store as it was: frontier, events, view; nothing applied, no fork recorded", () => {
      const { target: t } = run;
      checkUnchanged(t.store, run.before, true);
      assert.equal(t.ingests.applied, 0, "the station held every genuine event already");
      assert.equal(t.store.forks().length, 0);
    });

    it("stays within its memory bounds, and what it sent is well-formed and within the duty cycle", () => {
      const { target: t } = run;
      checkBounded(t);
      const key = run.exchange.networkKey ? deriveFrameKey(run.exchange.networkKey) : null;
      const opener = createFrameCodec({ networkId: run.exchange.networkId, stationId: Uint8Array.of(1, 2, 3, 4), frameKey: key, requireSealed: key !== null, mtu: 254, nonceStart: new Uint8Array(8) });
      assert.ok(t.link.sent.length > 0, "the station answered");
      for (const { bytes } of t.link.sent) {
        assert.ok(opener.open(bytes).ok, `the station sent a frame a member cannot open: kind ${(bytes[OFFSET.type] ?? 0) & KIND_MASK}`);
      }
      assert.ok(t.link.sent.some((s) => ((s.bytes[OFFSET.type] ?? 0) & KIND_MASK) === FRAME_KIND.fragment), "it sent fragments");
      // 1 ms of slack: the sliding sum adds and takes off thousands of fractional airtimes.
      const worst = maxWindowAirtime(t, HOUR);
      assert.ok(worst <= DUTY_FRACTION * HOUR + 1, `${worst.toFixed(1)} ms of airtime in one hour`);
    });

    // Forged sender ids (anyone's on an unsealed network, a key holder's on a sealed one) must not grow it without bound.
    it("keeps its heard-station table bounded", () => {
      const members = run.target.store.members().length;
      assert.ok(run.maxHeard <= Math.max(MAX_HEARD_STATIONS, members + HEARD_STRANGERS), `the heard-station table grew to ${run.maxHeard} entries for ${members} members`);
      assert.ok(run.maxHeard >= MAX_HEARD_STATIONS / 2, "the corpus forged enough sender ids to test the bound");
    });
  });
}
