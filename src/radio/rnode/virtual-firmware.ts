/**
 * The serial half of the virtual RNode, after the firmware's serial_callback:
 * a byte-at-a-time parser where a one-byte command's handler runs once per
 * payload byte (so a query without its dummy byte gets no answer), setters
 * that clamp and echo, the radio lock, detect and identity replies, and DATA
 * frames handed to the modem's queue with its silent limits.
 */
import type { RadioSettings } from "../air-port.js";
import { FEND, FESC, type KissFrame, TFEND, TFESC } from "../kiss.js";
import {
  ALOCK_SCALE,
  Command,
  DETECT_REQUEST,
  DETECT_RESPONSE,
  LEAVE_BYTE,
  QUERY_BYTE,
  RADIO_OFF,
  RADIO_ON,
  readU16,
  readU32,
  RESET_BYTE,
  u16,
  u32,
} from "./commands.js";
import { CR_RANGE, SF_RANGE, SUB_GHZ_BANDWIDTHS } from "./settings.js";
import type { VirtualModem } from "./virtual-modem.js";

/** SX127x frequency step: 32 MHz crystal / 2^19. A running radio reports its frequency in these steps. */
const FREQUENCY_STEP_HZ = 32e6 / 2 ** 19;
/** "Not set yet" values the firmware starts with (update_radio_lock). */
const TXP_UNSET = 0xff;
const CR_DEFAULT = 5;
/** Multi-byte setters and their payload lengths; all other commands take one byte at a time. */
const FIELD_BYTES: Readonly<Record<number, number>> = {
  [Command.FREQUENCY]: 4,
  [Command.BANDWIDTH]: 4,
  [Command.ST_ALOCK]: 2,
  [Command.LT_ALOCK]: 2,
};

/** What the device says about itself. */
export interface FirmwareIdentity {
  readonly firmware: readonly [number, number];
  readonly platform: number;
  readonly mcu: number;
  readonly board: number;
  /** TX power ceiling of the radio (SX127x: 17 dBm); higher requests are clamped. */
  readonly maxTxPower: number;
}

/** The radio settings as the firmware holds them. */
export interface FirmwareRadio {
  frequency: number;
  bandwidth: number;
  txPower: number;
  sf: number;
  cr: number;
  online: boolean;
}

/** The virtual device's command processor; replies go out through `emit`, DATA to the modem. */
export class VirtualFirmware {
  readonly radio: FirmwareRadio = freshRadio();
  /** Times the host said "host left". */
  hostLeft = 0;
  /** DATA bytes dropped because the queue was full. */
  droppedBytes = 0;
  private inFrame = false;
  private command: number | null = null;
  private escape = false;
  private field: number[] = [];
  private data: number[] = [];

  constructor(
    private readonly id: FirmwareIdentity,
    private readonly modem: VirtualModem,
    private readonly emit: (frame: KissFrame) => void,
    private readonly reboot: () => void,
  ) {}

  /** Back to power-on state. */
  clear(): void {
    Object.assign(this.radio, freshRadio());
    this.inFrame = false;
    this.command = null;
    this.escape = false;
    this.field = [];
    this.data = [];
  }

  feed(bytes: Uint8Array): void {
    for (const b of bytes) this.byte(b);
  }

  private byte(b: number): void {
    if (b === FEND) {
      if (this.inFrame && this.command === Command.DATA) this.modem.enqueue(Uint8Array.from(this.data));
      this.inFrame = true;
      this.command = null;
      this.escape = false;
      this.field = [];
      this.data = [];
    } else if (!this.inFrame) {
      return;
    } else if (this.command === null) {
      this.command = b;
    } else if (this.command === Command.DATA || FIELD_BYTES[this.command] !== undefined) {
      this.escapedByte(this.command, b);
    } else {
      this.single(this.command, b); // one-byte commands see raw bytes, once each
    }
  }

  private escapedByte(command: number, raw: number): void {
    if (raw === FESC) {
      this.escape = true;
      return;
    }
    const b = this.escape ? (raw === TFEND ? FEND : raw === TFESC ? FESC : raw) : raw;
    this.escape = false;
    if (command === Command.DATA) {
      if (this.modem.room() > this.data.length) this.data.push(b);
      else this.droppedBytes++;
      return;
    }
    this.field.push(b);
    if (this.field.length === FIELD_BYTES[command]) this.multi(command, Uint8Array.from(this.field));
  }

  private reply(command: number, payload: Uint8Array): void {
    this.emit({ command, payload });
  }

  private multi(command: number, p: Uint8Array): void {
    const r = this.radio;
    if (command === Command.FREQUENCY) {
      const f = readU32(p, 0);
      if (f !== 0) r.frequency = r.online ? chipFrequency(f) : f;
      this.retune();
      this.reply(command, u32(r.frequency));
    } else if (command === Command.BANDWIDTH) {
      const bw = readU32(p, 0);
      if (bw !== 0) r.bandwidth = r.online ? snapBandwidth(bw) : bw;
      this.retune();
      this.reply(command, u32(r.bandwidth));
    } else {
      const limit = airtimeLimit(readU16(p, 0));
      if (command === Command.ST_ALOCK) this.modem.shortLimit = limit;
      else this.modem.longLimit = limit;
      this.reply(command, u16(Math.trunc(Math.fround(limit * ALOCK_SCALE * ALOCK_SCALE))));
    }
  }

  private single(command: number, b: number): void {
    const r = this.radio;
    switch (command) {
      case Command.TXPOWER:
        if (b !== QUERY_BYTE) r.txPower = Math.min(b, this.id.maxTxPower);
        this.retune();
        return this.reply(command, Uint8Array.of(r.txPower));
      case Command.SF:
        if (b !== QUERY_BYTE) r.sf = clamp(b, SF_RANGE);
        this.retune();
        return this.reply(command, Uint8Array.of(r.sf));
      case Command.CR:
        if (b !== QUERY_BYTE) r.cr = clamp(b, CR_RANGE);
        this.retune();
        return this.reply(command, Uint8Array.of(r.cr));
      case Command.RADIO_STATE:
        return this.radioState(b);
      case Command.RADIO_LOCK:
        return this.reply(command, Uint8Array.of(this.locked() ? 1 : 0));
      case Command.READY:
        return this.reply(command, Uint8Array.of(this.modem.full() ? 0 : 1));
      case Command.LEAVE:
        if (b === LEAVE_BYTE) this.hostLeft++;
        return;
      case Command.RESET:
        if (b === RESET_BYTE) this.reboot();
        return;
    }
    this.identity(command, b);
  }

  private identity(command: number, b: number): void {
    if (command === Command.DETECT && b === DETECT_REQUEST) this.reply(command, Uint8Array.of(DETECT_RESPONSE));
    else if (command === Command.FW_VERSION) this.reply(command, Uint8Array.from(this.id.firmware));
    else if (command === Command.PLATFORM) this.reply(command, Uint8Array.of(this.id.platform));
    else if (command === Command.MCU) this.reply(command, Uint8Array.of(this.id.mcu));
    else if (command === Command.BOARD) this.reply(command, Uint8Array.of(this.id.board));
  }

  private radioState(b: number): void {
    const r = this.radio;
    if (b === RADIO_OFF) {
      r.online = false;
      this.modem.stop();
    } else if (b === RADIO_ON) {
      if (!r.online && !this.locked()) this.startRadio();
      this.reply(Command.RADIO_STATE, Uint8Array.of(r.online ? 1 : 0)); // startRadio() reports, then the handler again
    } else if (b !== QUERY_BYTE) {
      return;
    }
    this.reply(Command.RADIO_STATE, Uint8Array.of(r.online ? 1 : 0));
  }

  private startRadio(): void {
    const r = this.radio;
    r.online = true;
    r.frequency = chipFrequency(r.frequency);
    r.bandwidth = snapBandwidth(r.bandwidth);
    this.modem.start(this.modulation());
  }

  private retune(): void {
    if (this.radio.online) this.modem.start(this.modulation());
  }

  private modulation(): RadioSettings {
    const { frequency, bandwidth, txPower, sf, cr } = this.radio;
    return { frequency, bandwidth, txPower, sf, cr };
  }

  private locked(): boolean {
    const r = this.radio;
    return r.frequency === 0 || r.bandwidth === 0 || r.txPower === TXP_UNSET || r.sf === 0;
  }
}

function freshRadio(): FirmwareRadio {
  return { frequency: 0, bandwidth: 0, txPower: TXP_UNSET, sf: 0, cr: CR_DEFAULT, online: false };
}

function clamp(v: number, range: { min: number; max: number }): number {
  return Math.max(range.min, Math.min(range.max, v));
}

/** The frequency the chip really tunes: whole PLL steps, read back truncated. */
function chipFrequency(hz: number): number {
  return Math.floor(Math.floor(hz / FREQUENCY_STEP_HZ) * FREQUENCY_STEP_HZ);
}

/** The SX127x/SX126x bandwidth a request lands on: the next step up, at most 500 kHz. */
function snapBandwidth(hz: number): number {
  return SUB_GHZ_BANDWIDTHS.find((step) => hz <= step) ?? SUB_GHZ_BANDWIDTHS[SUB_GHZ_BANDWIDTHS.length - 1]!;
}

/** A lock word as the firmware keeps it: a fraction, where 0 and anything ≥ 100 % mean "no lock". */
function airtimeLimit(word: number): number {
  const fraction = Math.fround(word / (ALOCK_SCALE * ALOCK_SCALE));
  return fraction >= 1 ? 0 : fraction;
}
