/**
 * A tiny air for two radios: what one port transmits reaches the other when
 * its time on air has passed, if the other is tuned alike and was not sending
 * meanwhile (half duplex). Enough to test the RNode driver end to end without
 * the full LoRa medium.
 */
import type { AirPort, RadioSettings } from "../../src/radio/air-port.js";
import { packetAirtimeMs } from "../../src/radio/airtime.js";
import type { Clock } from "../../src/radio/clock.js";

export interface AirPairOptions {
  /** Signal both ends report (dBm, dB). */
  readonly rssi?: number;
  readonly snr?: number;
}

/** One packet put on the air. */
export interface AirRecord {
  readonly from: "a" | "b";
  readonly packet: Uint8Array;
  readonly at: number;
  readonly ms: number;
}

/** What happened on the air, for assertions. */
export interface AirLog {
  readonly sent: AirRecord[];
  lost: number;
}

function alike(x: RadioSettings, y: RadioSettings): boolean {
  return x.frequency === y.frequency && x.bandwidth === y.bandwidth && x.sf === y.sf && x.cr === y.cr;
}

class PairPort implements AirPort {
  peer: PairPort | null = null;
  tuned: RadioSettings | null = null;
  private receive: (packet: Uint8Array, rssi: number, snr: number) => void = () => {};
  private txFrom = Number.NEGATIVE_INFINITY;
  private txTo = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly name: "a" | "b",
    private readonly clock: Clock,
    private readonly log: AirLog,
    private readonly signal: { rssi: number; snr: number },
  ) {}

  transmit(packet: Uint8Array, settings: RadioSettings): number {
    const ms = packetAirtimeMs(packet.length, settings);
    const from = this.clock.now();
    this.txFrom = from;
    this.txTo = from + ms;
    const copy = Uint8Array.from(packet);
    this.log.sent.push({ from: this.name, packet: copy, at: from, ms });
    this.clock.at(from + ms, () => this.peer?.hear(copy, settings, from, from + ms));
    return ms;
  }

  tune(settings: RadioSettings | null): void {
    this.tuned = settings;
  }

  onPacket(receive: (packet: Uint8Array, rssi: number, snr: number) => void): void {
    this.receive = receive;
  }

  channelBusy(): boolean {
    return this.clock.now() < (this.peer?.txTo ?? 0);
  }

  detach(): void {
    this.tuned = null;
  }

  private hear(packet: Uint8Array, settings: RadioSettings, from: number, to: number): void {
    const sendingMeanwhile = this.txFrom < to && this.txTo > from;
    if (!this.tuned || !alike(this.tuned, settings) || sendingMeanwhile) {
      this.log.lost++;
      return;
    }
    this.receive(packet, this.signal.rssi, this.signal.snr);
  }
}

/** Two ports that hear each other. */
export function createAirPair(clock: Clock, options: AirPairOptions = {}): { a: AirPort; b: AirPort; log: AirLog } {
  const log: AirLog = { sent: [], lost: 0 };
  const signal = { rssi: options.rssi ?? -92, snr: options.snr ?? 7.25 };
  const a = new PairPort("a", clock, log, signal);
  const b = new PairPort("b", clock, log, signal);
  a.peer = b;
  b.peer = a;
  return { a, b, log };
}
