/**
 * Where the line scenario's time and airtime go (a development tool, not a
 * benchmark metric): `node dist/bench/radio-profile.js [--sites=5]
 * [--submissions=200] [--seed=5]`. It watches the run from outside the stations: an
 * eavesdropper on the air classifies every packet (sync message type,
 * fragment, nack), each node's received events are checked against what the
 * node already held (duplicates), and a sampler records, every few seconds of
 * simulated time, whether each station was on the air, blocked by its
 * duty-cycle budget while it had something due, or idle with budget and
 * something pending.
 */
import { benchLineConvergence, RADIO_WORKLOAD, type LineObserver } from "./radio.js";
import { decodeMessage } from "../src/engine/sync/messages.js";
import { FRAME_KIND, HEADER_BYTES, KIND_MASK, OFFSET, CRC_BYTES } from "../src/radio/air/constants.js";
import { RNODE_HEADER_BYTES } from "../src/radio/airtime.js";
import type { RadioNetwork, RadioSite } from "../src/demo/radio-network.js";

const SAMPLE_MS = 2_000;

function option(name: string, fallback: number): number {
  const prefix = `--${name}=`;
  const v = process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
  return v === undefined ? fallback : Number(v);
}

/** The packet's class: a sync message type, or the air layer's fragment / nack (unsealed frames only). */
function classify(packet: Uint8Array): string {
  const frame = packet.subarray(RNODE_HEADER_BYTES);
  const kind = (frame[OFFSET.type] ?? 0) & KIND_MASK;
  if (kind === FRAME_KIND.fragment) return "fragment";
  if (kind === FRAME_KIND.nack) return "nack";
  const parsed = decodeMessage(frame.subarray(HEADER_BYTES, frame.length - CRC_BYTES));
  return parsed.ok ? parsed.message.type : "other";
}

interface PerStation {
  sentEvents: Map<string, number>;
  repeats: number;
  airtime: Record<string, number>;
  frames: Record<string, number>;
  eventsNew: number;
  eventsDuplicate: number;
  samples: Record<string, number>;
  lastSendAt: number;
}

function watchDuplicates(site: RadioSite, s: PerStation): void {
  const node = site.node;
  const receive = node.receive.bind(node);
  node.receive = (frame, from) => {
    const parsed = decodeMessage(frame);
    if (parsed.ok && parsed.message.type === "events") {
      const m = parsed.message;
      const author = site.store.authorByShort(m.short);
      const head = author ? site.store.headSeq(author) : 0;
      const end = m.start + m.items.length - 1;
      const fresh = Math.max(0, end - Math.max(head, m.start - 1));
      s.eventsNew += fresh;
      s.eventsDuplicate += m.items.length - fresh;
    }
    return receive(frame, from);
  };
}

/** Counts events this station sends again (that it had sent before). */
function watchSends(site: RadioSite, s: PerStation): void {
  const codec = site.codec as { encode: (m: Uint8Array) => Uint8Array[] };
  const encode = codec.encode.bind(codec);
  codec.encode = (message) => {
    const parsed = decodeMessage(message);
    if (parsed.ok && parsed.message.type === "events") {
      const m = parsed.message;
      for (let q = m.start; q < m.start + m.items.length; q++) {
        const key = `${Buffer.from(m.short).toString("hex")}:${q}`;
        const n = s.sentEvents.get(key) ?? 0;
        if (n > 0) s.repeats++;
        s.sentEvents.set(key, n + 1);
      }
    }
    return encode(message);
  };
}

function sample(net: RadioNetwork, site: RadioSite, s: PerStation, txUntil: Map<string, number>): string {
  const now = net.scheduler.now();
  if ((txUntil.get(site.name) ?? 0) > now) return "on-air";
  const p = site.node.pending();
  const due = site.node.nextWake() <= now || site.codec.nextWake() <= now;
  const canSend = site.dutyCycle.canSend(site.link.airtimeMs(site.link.mtu));
  if (site.station.status().queued > 0) return canSend ? "message-waits-budget-or-jitter" : "blocked-by-duty";
  if (due && !canSend) return "blocked-by-duty";
  if (due) return "due-not-sent";
  if (p.answers > 0 || p.wants > 0) return canSend ? "waiting-backoff" : "waiting-backoff-no-budget";
  return canSend ? "nothing-to-do" : "nothing-to-do-no-budget";
}

const profile: LineObserver = (net) => {
  const stats = new Map<string, PerStation>();
  const txUntil = new Map<string, number>();
  const lostBefore = net.medium.counters().lost;
  for (const site of net.sites) {
    const s: PerStation = { sentEvents: new Map(), repeats: 0, airtime: {}, frames: {}, eventsNew: 0, eventsDuplicate: 0, samples: {}, lastSendAt: 0 };
    stats.set(site.name, s);
    watchDuplicates(site, s);
    watchSends(site, s);
  }
  const stopTap = net.medium.tap((p) => {
    const s = stats.get(p.sender) as PerStation;
    const c = classify(p.bytes);
    s.airtime[c] = (s.airtime[c] ?? 0) + p.airtimeMs;
    s.frames[c] = (s.frames[c] ?? 0) + 1;
    txUntil.set(p.sender, p.atMs + p.airtimeMs);
  });
  let running = true;
  const tick = () => {
    if (!running) return;
    for (const site of net.sites) {
      const s = stats.get(site.name) as PerStation;
      const k = sample(net, site, s, txUntil);
      s.samples[k] = (s.samples[k] ?? 0) + 1;
    }
    net.clock.at(net.scheduler.now() + SAMPLE_MS, tick);
  };
  tick();
  return () => {
    running = false;
    stopTap();
    report(net, stats, lostBefore);
  };
};

function report(net: RadioNetwork, stats: Map<string, PerStation>, lostBefore: Record<string, number>): void {
  const total: Record<string, number> = {};
  for (const [name, s] of stats) {
    const air = Object.entries(s.airtime).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}s/${s.frames[k]}`).join(", ");
    const n = Object.values(s.samples).reduce((a, b) => a + b, 0);
    const time = Object.entries(s.samples).map(([k, v]) => `${k} ${((100 * v) / n).toFixed(0)}%`).join(", ");
    process.stderr.write(`${name}: air ${air}\n    events received new ${s.eventsNew} dup ${s.eventsDuplicate}; sent ${s.sentEvents.size} distinct, ${s.repeats} again\n    time ${time}\n`);
    for (const [k, v] of Object.entries(s.airtime)) total[k] = (total[k] ?? 0) + v;
  }
  const sum = Object.values(total).reduce((a, b) => a + b, 0);
  process.stderr.write(`total airtime ${(sum / 1000).toFixed(0)} s: ${Object.entries(total).map(([k, v]) => `${k} ${((100 * v) / sum).toFixed(1)}%`).join(", ")}\n`);
  const lost = net.medium.counters().lost;
  process.stderr.write(`lost copies: ${Object.entries(lost).map(([k, v]) => `${k} ${v - (lostBefore[k] ?? 0)}`).join(", ")}\n`);
  for (const site of net.sites) {
    const c = site.codec.stats;
    const n = site.node.stats;
    process.stderr.write(
      `${site.name}: messages ${JSON.stringify(n.framesSent)} suppressed ${n.suppressedEvents}; air: fragmented ${c.messagesFragmented} fragments ${c.fragmentsEncoded} resent ${c.fragmentsResent} ` +
        `resendsSuppressed ${c.resendsSuppressed} nacksReceived ${c.nacksReceived} answered ${c.nacksAnswered} refused ${c.nacksRefused} nacks ${c.nacksSent} (suppressed ${c.nacksSuppressed}) dupFragments ${c.fragmentsDuplicate} reassembled ${c.messagesReassembled} partialsDropped ${JSON.stringify(c.partialsDropped)} dropped ${JSON.stringify(Object.fromEntries(Object.entries(c.dropped).filter(([, v]) => v > 0)))}\n`,
    );
  }
}

const w = { ...RADIO_WORKLOAD, lineSites: option("sites", RADIO_WORKLOAD.lineSites), submissionsPerSite: option("submissions", RADIO_WORKLOAD.submissionsPerSite), seed: option("seed", RADIO_WORKLOAD.seed) };
const start = performance.now();
const r = await benchLineConvergence(w, profile);
const h = 3_600_000;
process.stderr.write(
  `converged in ${(r.convergenceMs / h).toFixed(2)} h; bound ${(r.lowerBoundMs / h).toFixed(2)} h; ratio ${(r.convergenceMs / r.lowerBoundMs).toFixed(2)}; airtime ${(r.airtimeMs / 1000).toFixed(0)} s; ${r.events} events; ${((performance.now() - start) / 1000).toFixed(0)} s of CPU\n`,
);
