/**
 * The radio half of the virtual RNode: the firmware's TX queue, its 1-byte
 * packet header and split of frames above 254 bytes into two LoRa packets,
 * half-duplex transmission one packet at a time on an AirPort, its own
 * airtime accounting with the airtime locks, periodic channel statistics, and
 * on receive the header strip and 4-bit sequence reassembly (no timeout, as
 * in the firmware).
 */
import type { AirPort, RadioSettings } from "../air-port.js";
import { packetAirtimeMs, RNODE_MAX_PAYLOAD, RNODE_SINGLE_PAYLOAD, rnodePreambleSymbols, symbolMs } from "../airtime.js";
import type { CancelTimer, Clock } from "../clock.js";
import type { KissFrame } from "../kiss.js";
import { Command, HEADER_FLAG_SPLIT, HEADER_SEQUENCE_MASK, RSSI_OFFSET, SNR_STEPS_PER_DB, u16 } from "./commands.js";
import { AirtimeLedger } from "./virtual-airtime.js";

/** Channel statistics come about once a second while the radio is on (firmware check_modem_status). */
export const CHTM_INTERVAL_MS = 1_000;
/** CSMA slot while the channel is busy: the firmware's minimum slot (Config.h). */
const CSMA_SLOT_MS = 24;
/** The firmware's CSMA slot is 12 symbols, clamped to 24..100 ms; DIFS is two slots. */
const CSMA_SLOT_SYMBOLS = 12;
const CSMA_SLOT_MAX_MS = 100;
/** Contention window bounds the firmware reports when the channel is quiet. */
const CSMA_CW_MIN = 0;
const CSMA_CW_MAX = 15;

/** What the modem needs from the device around it. */
export interface ModemOptions {
  readonly air: AirPort;
  readonly clock: Clock;
  readonly random: () => number;
  /** Sends one frame to the host. */
  readonly emit: (frame: KissFrame) => void;
  /** Wait while the air is busy before sending (the firmware's CSMA, without its random back-off). */
  readonly csma: boolean;
  readonly noiseFloorDbm: number;
  /** Queue limits: bytes, packets (ESP32 boards: 6144 B / 200). */
  readonly queueBytes: number;
  readonly queuePackets: number;
}

/** Counters a test can read. */
export interface ModemStats {
  packetsSent: number;
  packetsReceived: number;
  framesToHost: number;
  framesDroppedTooLong: number;
}

/** The virtual device's radio: queue, airtime and locks on the TX side, reassembly on the RX side. */
export class VirtualModem {
  readonly stats: ModemStats = { packetsSent: 0, packetsReceived: 0, framesToHost: 0, framesDroppedTooLong: 0 };
  /** Airtime locks as fractions (0 = none). */
  shortLimit = 0;
  longLimit = 0;
  private settings: RadioSettings | null = null;
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private transmitting = false;
  /** Bumped when the radio stops, so a frame's second half scheduled before is not sent after. */
  private epoch = 0;
  private wait: CancelTimer | null = null;
  private chtm: CancelTimer | null = null;
  private pendingSeq: number | null = null;
  private pendingHalf = new Uint8Array(0);
  private readonly ledger: AirtimeLedger;

  constructor(private readonly o: ModemOptions) {
    this.ledger = new AirtimeLedger(() => o.clock.now());
    o.air.onPacket((packet, rssi, snr) => this.receive(packet, rssi, snr));
  }

  get online(): boolean {
    return this.settings !== null;
  }

  /** How many more bytes a host frame may add to the queue now (0: further bytes are dropped). */
  room(): number {
    return this.queue.length >= this.o.queuePackets ? 0 : Math.max(0, this.o.queueBytes - this.queuedBytes);
  }

  /** Whether CMD_READY would say "full". */
  full(): boolean {
    return this.room() === 0;
  }

  enqueue(frame: Uint8Array): void {
    if (frame.length === 0 || this.queue.length >= this.o.queuePackets) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.pump();
  }

  /** Radio on with `settings` (or retuned while on). */
  start(settings: RadioSettings): void {
    this.settings = settings;
    this.o.air.tune(settings);
    this.o.emit({ command: Command.STAT_PHYPRM, payload: phyParams(settings) });
    this.o.emit({ command: Command.STAT_CSMA, payload: Uint8Array.of(0, CSMA_CW_MIN, CSMA_CW_MAX) });
    if (!this.chtm) this.scheduleStats();
    this.pump();
  }

  /** Radio off: nothing is heard or sent; the queue waits. */
  stop(): void {
    this.settings = null;
    this.epoch++;
    this.transmitting = false;
    this.o.air.tune(null);
    this.chtm?.();
    this.chtm = null;
    this.wait?.();
    this.wait = null;
  }

  /** Power loss: radio off and everything queued or half-received forgotten. */
  powerOff(): void {
    this.stop();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.pendingSeq = null;
    this.shortLimit = 0;
    this.longLimit = 0;
    this.ledger.clear();
  }

  /** The CMD_STAT_CHTM payload now. */
  channelStats(): Uint8Array {
    const own = this.ledger.own();
    const all = this.ledger.all();
    const floor = (this.o.noiseFloorDbm + RSSI_OFFSET) & 0xff;
    const word = (fraction: number): Uint8Array => u16(Math.min(0xffff, Math.trunc(fraction * 10_000)));
    return Uint8Array.of(...word(own.short), ...word(own.long), ...word(Math.min(1, all.short)), ...word(Math.min(1, all.long)), floor, floor, 0xff);
  }

  private scheduleStats(): void {
    this.chtm = this.o.clock.at(this.o.clock.now() + CHTM_INTERVAL_MS, () => {
      this.chtm = null;
      if (!this.online) return;
      this.o.emit({ command: Command.STAT_CHTM, payload: this.channelStats() });
      this.scheduleStats();
      this.pump(); // the airtime lock may have lifted
    });
  }

  private locked(): boolean {
    const own = this.ledger.own();
    return (this.shortLimit > 0 && own.short >= this.shortLimit) || (this.longLimit > 0 && own.long >= this.longLimit);
  }

  private pump(): void {
    if (!this.settings || this.transmitting || this.wait || this.queue.length === 0) return;
    if (this.locked()) return; // the once-a-second stats tick tries again
    if (this.o.csma && this.o.air.channelBusy()) {
      this.wait = this.o.clock.at(this.o.clock.now() + CSMA_SLOT_MS, () => {
        this.wait = null;
        this.pump();
      });
      return;
    }
    const frame = this.queue.shift() as Uint8Array;
    this.queuedBytes -= frame.length;
    if (frame.length > RNODE_MAX_PAYLOAD) {
      this.stats.framesDroppedTooLong++; // the firmware skips it without a word
      this.pump();
      return;
    }
    const split = frame.length > RNODE_SINGLE_PAYLOAD;
    const header = (Math.floor(this.o.random() * 256) & HEADER_SEQUENCE_MASK) | (split ? HEADER_FLAG_SPLIT : 0);
    const halves = split ? [frame.subarray(0, RNODE_SINGLE_PAYLOAD), frame.subarray(RNODE_SINGLE_PAYLOAD)] : [frame];
    this.sendHalves(header, halves, this.settings, this.epoch);
  }

  /** Sends the packets of one frame back to back (the firmware sends the second half right after the first). */
  private sendHalves(header: number, halves: Uint8Array[], settings: RadioSettings, epoch: number): void {
    if (epoch !== this.epoch) return; // the radio went off meanwhile
    const [first, ...rest] = halves;
    if (!first) {
      this.transmitting = false;
      this.o.emit({ command: Command.STAT_CHTM, payload: this.channelStats() });
      this.pump();
      return;
    }
    const packet = new Uint8Array(first.length + 1);
    packet[0] = header;
    packet.set(first, 1);
    this.transmitting = true;
    const ms = this.o.air.transmit(packet, settings);
    this.stats.packetsSent++;
    this.ledger.bookOwn(ms);
    this.o.clock.at(this.o.clock.now() + ms, () => this.sendHalves(header, rest, settings, epoch));
  }

  private receive(packet: Uint8Array, rssi: number, snr: number): void {
    const settings = this.settings;
    if (!settings || packet.length < 2) return;
    this.stats.packetsReceived++;
    this.ledger.bookHeard(packetAirtimeMs(packet.length, settings));
    const header = packet[0] ?? 0;
    const sequence = header & HEADER_SEQUENCE_MASK;
    const body = packet.subarray(1);
    if ((header & HEADER_FLAG_SPLIT) === 0) {
      this.pendingSeq = null;
      this.toHost(body, rssi, snr);
    } else if (this.pendingSeq === sequence) {
      const whole = new Uint8Array(this.pendingHalf.length + body.length);
      whole.set(this.pendingHalf);
      whole.set(body, this.pendingHalf.length);
      this.pendingSeq = null;
      this.toHost(whole, rssi, snr);
    } else {
      this.pendingSeq = sequence; // first half, or a new frame's first half replacing an orphan
      this.pendingHalf = Uint8Array.from(body);
    }
  }

  private toHost(payload: Uint8Array, rssi: number, snr: number): void {
    const rssiByte = Math.max(0, Math.min(0xff, Math.round(rssi) + RSSI_OFFSET));
    this.o.emit({ command: Command.STAT_RSSI, payload: Uint8Array.of(rssiByte) });
    this.o.emit({ command: Command.STAT_SNR, payload: Uint8Array.of(Math.round(snr * SNR_STEPS_PER_DB) & 0xff) });
    this.o.emit({ command: Command.DATA, payload: Uint8Array.from(payload) });
    this.stats.framesToHost++;
  }
}

/** CMD_STAT_PHYPRM as the firmware fills it for `m`. */
function phyParams(m: RadioSettings): Uint8Array {
  const symMs = symbolMs(m);
  const preamble = rnodePreambleSymbols(m);
  const slot = Math.min(CSMA_SLOT_MAX_MS, Math.max(CSMA_SLOT_MS, Math.ceil(CSMA_SLOT_SYMBOLS * symMs)));
  const fields = [Math.round(symMs * 1000), Math.round(1000 / symMs), preamble, Math.ceil(preamble * symMs), slot, 2 * slot];
  return Uint8Array.from(fields.flatMap((f) => [...u16(Math.min(0xffff, f))]));
}
