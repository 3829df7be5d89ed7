/**
 * The simulated LoRa air shared by any number of radios. It models what
 * decides whether a packet arrives: time on air, tuning, range (the
 * topology), half duplex, collisions with capture, and per-link loss. Every
 * decision is made on the injected clock and random source, so a run under
 * the virtual clock is fast and the same seed gives the same run.
 *
 * Collision model: two packets overlapping in time at a receiver that hears
 * both (same frequency, bandwidth and SF; other spreading factors and
 * channels never interfere) are both lost there, unless capture applies: the
 * packet that started first (or at the same instant) survives when it is at
 * least `captureDb` stronger than the other; the later one is always lost.
 * Packets a receiver cannot hear (out of range, tuned elsewhere) do not
 * interfere. Range, loss, RSSI and SNR come from the topology at the moment a
 * packet starts; a receiver that retunes or leaves before it ends loses it.
 */
import type { AirPort, RadioSettings } from "./air-port.js";
import { LORA_MAX_PACKET, packetAirtimeMs } from "./airtime.js";
import type { CancelTimer, Clock } from "./clock.js";
import {
  DEFAULT_LINK_QUALITY,
  createTopology,
  type LinkQuality,
  type TopologyControl,
  type TopologySpec,
} from "./lora-topology.js";

/** SX127x co-channel rejection at the same SF is about 6 dB: a first packet that much stronger is still decoded. */
export const DEFAULT_CAPTURE_DB = 6;

/** Why a copy of a packet did not reach a station. */
export type LossReason = "loss" | "collision" | "half-duplex" | "not-tuned" | "out-of-range";

const LOSS_REASONS: readonly LossReason[] = ["loss", "collision", "half-duplex", "not-tuned", "out-of-range"];

/** Counters for one station (what it sent, and what became of the copies meant for it) or for the whole medium. */
export interface AirCounters {
  packetsSent: number;
  bytesSent: number;
  airtimeMs: number;
  delivered: number;
  lost: Record<LossReason, number>;
}

/** One packet as an eavesdropper on the band captures it (every packet put on the air, heard or not). */
export interface TappedPacket {
  readonly sender: string;
  readonly atMs: number;
  readonly airtimeMs: number;
  readonly settings: RadioSettings;
  readonly bytes: Uint8Array;
}

export interface LoRaMediumOptions {
  readonly clock: Clock;
  /** Uniform [0, 1) source for per-link loss; seed it for reproducible runs. */
  readonly random: () => number;
  /** Quality of links set without one, and whether pairs no link names hear each other (default: they do). */
  readonly defaults?: { readonly quality?: Partial<LinkQuality>; readonly unlisted?: "hear" | "deaf" };
  /** The starting topology; replaces `defaults.unlisted` when given. */
  readonly topology?: TopologySpec;
  /** How much stronger (dB) the first packet must be to survive a collision; null turns capture off. */
  readonly captureDb?: number | null;
}

export interface LoRaMedium extends TopologyControl {
  /** Puts a station on the air; one port per station id at a time (throws if it is attached already). */
  attach(stationId: string): AirPort;
  /** Runs `change` on this medium when the clock reaches `atMs` (e.g. a partition mid-run). */
  schedule(atMs: number, change: (medium: LoRaMedium) => void): CancelTimer;
  /** Sees every packet as it goes on the air; returns a function that stops the tap. */
  tap(listener: (packet: TappedPacket) => void): () => void;
  /** Counters of one station (zeros if never seen), or of the whole medium when no id is given. */
  counters(stationId?: string): AirCounters;
}

/** A station's port was used after `detach`, or asked to send while its own packet is still on the air. */
export class AirPortMisuseError extends Error {
  constructor(
    readonly stationId: string,
    message: string,
  ) {
    super(`station ${stationId}: ${message}`);
    this.name = "AirPortMisuseError";
  }
}

interface Station {
  readonly id: string;
  attached: boolean;
  tuning: RadioSettings | null;
  /** Bumped on every change of tuning, so a reception can tell the receiver retuned mid-packet. */
  tuneVersion: number;
  receive?: (packet: Uint8Array, rssi: number, snr: number) => void;
  txUntil: number;
  readonly receptions: Set<Reception>;
  readonly counters: AirCounters;
}

interface Transmission {
  readonly sender: Station;
  readonly settings: RadioSettings;
  readonly start: number;
  readonly end: number;
  readonly packet: Uint8Array;
}

interface Reception {
  readonly tx: Transmission;
  readonly station: Station;
  readonly quality: LinkQuality;
  readonly tuneVersion: number;
  lost?: LossReason;
}

function emptyCounters(): AirCounters {
  const lost = Object.fromEntries(LOSS_REASONS.map((r) => [r, 0])) as Record<LossReason, number>;
  return { packetsSent: 0, bytesSent: 0, airtimeMs: 0, delivered: 0, lost };
}

function sameChannel(a: RadioSettings | null, b: RadioSettings): boolean {
  return a !== null && a.frequency === b.frequency && a.bandwidth === b.bandwidth && a.sf === b.sf;
}

/** Whether a receiver still hears what it heard: on or off alike, and the same channel (CR and power do not matter). */
function sameReceiver(a: RadioSettings | null, b: RadioSettings | null): boolean {
  if (a === null || b === null) return a === b;
  return sameChannel(a, b);
}

/** Which of two overlapping receptions survives at one receiver, if either (the capture rule above). */
function captureWinner(first: Reception, second: Reception, captureDb: number | null): Reception | undefined {
  if (captureDb === null) return undefined;
  if (first.quality.rssi - second.quality.rssi >= captureDb) return first;
  if (first.tx.start === second.tx.start && second.quality.rssi - first.quality.rssi >= captureDb) return second;
  return undefined;
}

function newStation(id: string): Station {
  return { id, attached: false, tuning: null, tuneVersion: 0, txUntil: -Infinity, receptions: new Set(), counters: emptyCounters() };
}

/** One station's view of the air; `transmit` is the medium's. */
function createPort(s: Station, clock: Clock, transmit: (s: Station, packet: Uint8Array, settings: RadioSettings) => number): AirPort {
  return {
    transmit: (packet, settings) => transmit(s, packet, settings),
    tune(settings) {
      if (!sameReceiver(s.tuning, settings)) s.tuneVersion++;
      s.tuning = settings;
    },
    onPacket(receive) {
      s.receive = receive;
    },
    channelBusy() {
      const now = clock.now();
      for (const r of s.receptions) if (r.tx.end > now && r.tuneVersion === s.tuneVersion) return true;
      return false;
    },
    detach() {
      s.attached = false;
      s.tuning = null;
      s.tuneVersion++;
      delete s.receive;
    },
  };
}

/** Creates the shared air; see the module comment for the physics. */
export function createLoRaMedium(options: LoRaMediumOptions): LoRaMedium {
  const { clock, random } = options;
  const captureDb = options.captureDb === undefined ? DEFAULT_CAPTURE_DB : options.captureDb;
  const defaultQuality = { ...DEFAULT_LINK_QUALITY, ...options.defaults?.quality };
  const topology = createTopology(
    defaultQuality,
    options.topology ?? { links: [], unlisted: options.defaults?.unlisted ?? "hear" },
  );
  const stations = new Map<string, Station>();
  const taps = new Set<(packet: TappedPacket) => void>();
  const total = emptyCounters();

  function countLost(s: Station, reason: LossReason): void {
    s.counters.lost[reason]++;
    total.lost[reason]++;
  }

  function countSent(s: Station, bytes: number, airtimeMs: number): void {
    for (const c of [s.counters, total]) {
      c.packetsSent++;
      c.bytesSent += bytes;
      c.airtimeMs += airtimeMs;
    }
  }

  function startReception(tx: Transmission, s: Station): Reception | undefined {
    const quality = topology.link(tx.sender.id, s.id);
    if (!quality) return void countLost(s, "out-of-range");
    if (!sameChannel(s.tuning, tx.settings)) return void countLost(s, "not-tuned");
    const r: Reception = { tx, station: s, quality, tuneVersion: s.tuneVersion };
    if (s.txUntil > tx.start) r.lost = "half-duplex";
    for (const other of s.receptions) {
      if (other.tx.end <= tx.start || !sameChannel(other.tx.settings, tx.settings)) continue;
      const winner = captureWinner(other, r, captureDb);
      if (winner !== other) other.lost ??= "collision";
      if (winner !== r) r.lost ??= "collision";
    }
    s.receptions.add(r);
    return r;
  }

  function finishReception(r: Reception): void {
    const s = r.station;
    s.receptions.delete(r);
    let reason = r.lost;
    if (!reason && (!s.attached || s.tuneVersion !== r.tuneVersion)) reason = "not-tuned";
    if (!reason && r.quality.loss > 0 && random() < r.quality.loss) reason = "loss";
    if (reason) return countLost(s, reason);
    s.counters.delivered++;
    total.delivered++;
    s.receive?.(r.tx.packet.slice(), r.quality.rssi, r.quality.snr);
  }

  function transmit(sender: Station, packet: Uint8Array, settings: RadioSettings): number {
    if (!sender.attached) throw new AirPortMisuseError(sender.id, "transmit after detach");
    if (packet.length < 1 || packet.length > LORA_MAX_PACKET) {
      throw new RangeError(`station ${sender.id}: a LoRa packet is 1..${LORA_MAX_PACKET} bytes, got ${packet.length}`);
    }
    const now = clock.now();
    if (now < sender.txUntil) throw new AirPortMisuseError(sender.id, `transmit while sending until ${sender.txUntil} ms`);
    const airtimeMs = packetAirtimeMs(packet.length, settings);
    const tx: Transmission = { sender, settings, start: now, end: now + airtimeMs, packet: packet.slice() };
    sender.txUntil = tx.end;
    countSent(sender, packet.length, airtimeMs);
    // Half duplex: whatever this station was in the middle of hearing is lost to it.
    for (const r of sender.receptions) if (r.tx.end > now) r.lost ??= "half-duplex";
    const receptions: Reception[] = [];
    for (const s of stations.values()) {
      if (s === sender || !s.attached) continue;
      const r = startReception(tx, s);
      if (r) receptions.push(r);
    }
    for (const listener of taps) listener({ sender: sender.id, atMs: now, airtimeMs, settings, bytes: packet.slice() });
    clock.at(tx.end, () => receptions.forEach(finishReception));
    return airtimeMs;
  }

  const medium: LoRaMedium = {
    ...topology,
    attach(stationId) {
      const s = stations.get(stationId) ?? newStation(stationId);
      stations.set(stationId, s);
      if (s.attached) throw new AirPortMisuseError(stationId, "already attached to this medium");
      s.attached = true;
      return createPort(s, clock, transmit);
    },
    schedule: (atMs, change) => clock.at(atMs, () => change(medium)),
    tap(listener) {
      taps.add(listener);
      return () => void taps.delete(listener);
    },
    counters: (stationId) =>
      structuredClone(stationId === undefined ? total : (stations.get(stationId)?.counters ?? emptyCounters())),
  };
  return medium;
}
