/**
 * A virtual RNode: the firmware's serial behaviour on one side (reached
 * through serialport's mock binding, so the real driver is what runs) and a
 * LoRa radio on an AirPort on the other. It boots (ignoring input meanwhile
 * and announcing `C0 55 F8 C0` when done, unless it is an AVR board or the
 * notice is lost), comes up with its radio off and nothing set, clamps and
 * echoes setters, keeps
 * the radio locked until frequency, bandwidth, power and SF are set, queues,
 * splits and paces packets, reassembles received halves, and reports channel
 * statistics; see the fact sheet §1 and §8. All timing runs on the Clock.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import type { AirPort } from "../air-port.js";
import type { CancelTimer, Clock } from "../clock.js";
import { encodeKissFrame, FEND, type KissFrame } from "../kiss.js";
import { ALOCK_SCALE, Command, Mcu, Platform, RESET_BYTE } from "./commands.js";
import { type FirmwareRadio, VirtualFirmware } from "./virtual-firmware.js";
import { type ModemStats, VirtualModem } from "./virtual-modem.js";
import { createVirtualSerial } from "./virtual-serial.js";

/** Firmware version the virtual device reports by default (RNode_Firmware 1.86, Config.h). */
export const VIRTUAL_FIRMWARE: readonly [number, number] = [1, 86];
/** BOARD_RNODE_NG_22, the current official RNode. */
const DEFAULT_BOARD = 0x43;
/** SX1276/SX1278 boards clamp TX power here. */
const DEFAULT_MAX_TX_POWER = 17;
/** A typical ESP32 board's boot after a reset; an ESP32-S3 can take over 10 s. */
export const DEFAULT_BOOT_MS = 1_000;
/** ESP32 boards' TX queue (Boards.h CONFIG_QUEUE_SIZE / CONFIG_QUEUE_MAX_LENGTH). */
const QUEUE_BYTES = 6144;
const QUEUE_PACKETS = 200;
/** What the virtual radio hears when nobody sends. */
const NOISE_FLOOR_DBM = -110;
/** Reports the firmware fills on ESP32 and nRF52 builds only: AVR boards never send them. */
const ESP32_NRF52_REPORTS: ReadonlySet<number> = new Set([Command.STAT_CHTM, Command.STAT_PHYPRM, Command.STAT_CSMA]);

/** Options of {@link createVirtualRNode}. */
export interface VirtualRNodeOptions {
  /** Port path; unique within the process (serialport's mock registry is global). */
  readonly path: string;
  readonly air: AirPort;
  readonly clock: Clock;
  /** Packet sequence numbers. */
  readonly random: () => number;
  /** [major, minor]; default 1.86. */
  readonly firmware?: readonly [number, number];
  /** Platform byte; default ESP32 (0x80). AVR boards (0x90) send no reset notice and no channel, PHY or CSMA reports. */
  readonly platform?: number;
  /** MCU byte; default ESP32 (0x81). */
  readonly mcu?: number;
  readonly board?: number;
  /** TX power ceiling (dBm); default 17 (SX127x). */
  readonly maxTxPower?: number;
  /** Boot time after power-on or reset; input is ignored meanwhile. */
  readonly bootDelayMs?: number;
  /** Whether opening the port resets the board (most ESP32 boards: yes; default true). */
  readonly resetOnOpen?: boolean;
  /** Wait while the AirPort hears a transmission before sending (default true). */
  readonly csma?: boolean;
}

/** What the virtual device did, for assertions. */
export interface VirtualRNodeStats extends ModemStats {
  readonly boots: number;
  /** DATA bytes dropped because the TX queue was full. */
  readonly droppedHostBytes: number;
  /** Times the host sent "host left" (0A FF). */
  readonly hostLeft: number;
}

/** Which way the serial line carries the DATA frame a reset cuts in half. */
export type MidFrameDirection = "to-host" | "from-host";

/** The radio settings as the device holds them; airtime limits in percent (0: none). */
export interface VirtualRadioState extends FirmwareRadio {
  readonly airtimeLimitShort: number;
  readonly airtimeLimitLong: number;
}

/** A virtual RNode; give `binding` and `path` to the driver. */
export interface VirtualRNode {
  readonly binding: BindingInterface;
  readonly path: string;
  /** True from power-on or reset until the boot delay has passed. */
  readonly booting: boolean;
  readonly settings: VirtualRadioState;
  readonly stats: VirtualRNodeStats;
  /** Every byte the host wrote, in order, since creation or `clearHostBytes()`. */
  hostBytes(): Uint8Array;
  clearHostBytes(): void;
  /** USB unplugged: the device loses power and the host's port fails as on a disconnect. */
  unplug(): void;
  /** Plugged back in: powers up and boots. */
  replug(): void;
  /** The board resets (watchdog, brown-out): state lost, boots again while the port stays open. */
  reset(): void;
  /**
   * As `reset()`, but no reset notice reaches the host (an AVR board sends
   * none; an ESP32's can be lost on the line): once booted the device sits
   * with its radio off and nothing set, answering queries, sending no channel
   * reports, and queueing the host's DATA frames without sending them.
   */
  resetSilently(): void;
  /**
   * The board resets in the middle of the next DATA frame on the serial line:
   * "to-host", the host gets the first half of a received packet's frame;
   * "from-host", the device takes the first half of the host's next frame.
   * It then boots (and announces it) as after `reset()`.
   */
  resetMidFrame(direction: MidFrameDirection): void;
  /**
   * The firmware hangs (a stuck loop; a brown-out that leaves the USB serial
   * bridge powered): the port stays open, but the device takes no input,
   * sends nothing and its radio is dead until a reset or a power cycle (a
   * host opening the port resets it, unless `resetOnOpen` is false).
   */
  hang(): void;
  /** Sends raw bytes to the host, as if the device wrote them (e.g. a battery report). */
  injectSerial(bytes: Uint8Array): void;
}

/** A lock the firmware holds as a float fraction, in percent as it would echo it (0.01 % steps). */
function lockPercent(fraction: number): number {
  return Math.round(fraction * ALOCK_SCALE * ALOCK_SCALE) / ALOCK_SCALE;
}

export function createVirtualRNode(options: VirtualRNodeOptions): VirtualRNode {
  const { clock } = options;
  const platform = options.platform ?? Platform.ESP32;
  const bootDelayMs = options.bootDelayMs ?? DEFAULT_BOOT_MS;
  const hostLog: Uint8Array[] = [];
  let powered = true;
  let hung = false;
  let booting = false;
  let boots = 0;
  let bootTimer: CancelTimer | null = null;
  let cutNext: MidFrameDirection | null = null;

  /** Writes the first half of `bytes` and resets when `resetMidFrame(direction)` is armed and `bytes` is a DATA frame. */
  const cutHere = (direction: MidFrameDirection, bytes: Uint8Array, write: (half: Uint8Array) => void): boolean => {
    if (cutNext !== direction || bytes[0] !== FEND || bytes[1] !== Command.DATA) return false;
    cutNext = null;
    write(bytes.subarray(0, Math.ceil(bytes.length / 2)));
    boot();
    return true;
  };
  const send = (frame: KissFrame): void => {
    if (!powered || booting || hung) return;
    if (platform === Platform.AVR && ESP32_NRF52_REPORTS.has(frame.command)) return;
    const bytes = encodeKissFrame(frame.command, frame.payload);
    if (!cutHere("to-host", bytes, (half) => serial.toHost(half))) serial.toHost(bytes);
  };
  const modem = new VirtualModem({
    air: options.air,
    clock,
    random: options.random,
    emit: send,
    csma: options.csma ?? true,
    noiseFloorDbm: NOISE_FLOOR_DBM,
    queueBytes: QUEUE_BYTES,
    queuePackets: QUEUE_PACKETS,
  });
  const identity = {
    firmware: options.firmware ?? VIRTUAL_FIRMWARE,
    platform,
    mcu: options.mcu ?? Mcu.ESP32,
    board: options.board ?? DEFAULT_BOARD,
    maxTxPower: options.maxTxPower ?? DEFAULT_MAX_TX_POWER,
  };
  const firmware = new VirtualFirmware(identity, modem, send, () => boot());
  const serial = createVirtualSerial(options.path, {
    hostOpened: () => {
      if (powered && (options.resetOnOpen ?? true)) boot();
    },
    fromHost: (bytes) => {
      hostLog.push(bytes);
      if (!powered || booting || hung) return; // a booting (or hung) board drops what arrives
      if (!cutHere("from-host", bytes, (half) => firmware.feed(half))) firmware.feed(bytes);
    },
  });

  function powerDown(): void {
    hung = false;
    bootTimer?.();
    bootTimer = null;
    modem.powerOff();
    firmware.clear();
  }

  /** Power-on or reset; `announce`: ESP32 and nRF52 boards send the reset notice once booted (setup(), kiss_indicate_reset). */
  function boot(announce = platform !== Platform.AVR): void {
    powerDown();
    booting = true;
    boots++;
    bootTimer = clock.at(clock.now() + bootDelayMs, () => {
      bootTimer = null;
      booting = false;
      if (announce) send({ command: Command.RESET, payload: Uint8Array.of(RESET_BYTE) });
    });
  }

  boot();

  return {
    binding: serial.binding,
    path: options.path,
    get booting() {
      return booting;
    },
    get settings() {
      return {
        ...firmware.radio,
        airtimeLimitShort: lockPercent(modem.shortLimit),
        airtimeLimitLong: lockPercent(modem.longLimit),
      };
    },
    get stats() {
      return { ...modem.stats, boots, droppedHostBytes: firmware.droppedBytes, hostLeft: firmware.hostLeft };
    },
    hostBytes() {
      return Uint8Array.from(hostLog.flatMap((b) => [...b]));
    },
    clearHostBytes() {
      hostLog.length = 0;
    },
    unplug() {
      powered = false;
      powerDown();
      serial.unplug();
    },
    replug() {
      powered = true;
      serial.replug();
      boot();
    },
    reset() {
      if (powered) boot();
    },
    resetSilently() {
      if (powered) boot(false);
    },
    hang() {
      hung = true;
      modem.powerOff();
    },
    resetMidFrame(direction) {
      cutNext = direction;
    },
    injectSerial(bytes) {
      serial.toHost(bytes);
    },
  };
}
