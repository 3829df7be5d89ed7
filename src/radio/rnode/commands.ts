/**
 * The RNode firmware's serial command set (Framing.h), its fixed values, and
 * parsers that turn its status payloads into typed values. Nothing here does
 * I/O; see the fact sheet `shared/facts/rnode-lora.md` §1 for the sources.
 */

/** Command bytes. The same byte names the host's request and the device's answer. */
export const Command = {
  DATA: 0x00,
  FREQUENCY: 0x01,
  BANDWIDTH: 0x02,
  TXPOWER: 0x03,
  SF: 0x04,
  CR: 0x05,
  RADIO_STATE: 0x06,
  RADIO_LOCK: 0x07,
  DETECT: 0x08,
  LEAVE: 0x0a,
  ST_ALOCK: 0x0b,
  LT_ALOCK: 0x0c,
  READY: 0x0f,
  STAT_RSSI: 0x23,
  STAT_SNR: 0x24,
  STAT_CHTM: 0x25,
  STAT_PHYPRM: 0x26,
  STAT_BAT: 0x27,
  STAT_CSMA: 0x28,
  STAT_TEMP: 0x29,
  BOARD: 0x47,
  PLATFORM: 0x48,
  MCU: 0x49,
  FW_VERSION: 0x50,
  RESET: 0x55,
  ERROR: 0x90,
} as const;

/** Host asks "are you an RNode?" with this byte after CMD_DETECT. */
export const DETECT_REQUEST = 0x73;
/** …and an RNode answers with this one. */
export const DETECT_RESPONSE = 0x46;
/** Payload of CMD_RESET: sent by ESP32/NRF52 boards once booted; sent by a host it reboots the device. */
export const RESET_BYTE = 0xf8;
/** Payload of CMD_LEAVE: the host is going away. */
export const LEAVE_BYTE = 0xff;
/** One-byte setters read back their value when sent this byte. */
export const QUERY_BYTE = 0xff;
/** The firmware runs a query's handler once per payload byte, so a query carries exactly one dummy byte. */
export const DUMMY_BYTE = 0x00;
/** CMD_RADIO_STATE payload: radio off. */
export const RADIO_OFF = 0x00;
/** CMD_RADIO_STATE payload: radio on (refused while the radio is locked). */
export const RADIO_ON = 0x01;

/** Header nibble carrying the random packet sequence number (Framing.h NIBBLE_SEQ). */
export const HEADER_SEQUENCE_MASK = 0xf0;
/** Header flag: this LoRa packet is one half of a split host frame. */
export const HEADER_FLAG_SPLIT = 0x01;

/** The byte of CMD_STAT_RSSI is dBm plus this (Config.h rssi_offset). */
export const RSSI_OFFSET = 157;
/** CMD_STAT_SNR is a signed byte in quarter-dB steps. */
export const SNR_STEPS_PER_DB = 4;
/** CMD_STAT_TEMP is °C plus this (Power.h PMU_TEMP_OFFSET). */
export const TEMPERATURE_OFFSET = 120;
/** CHTM's u16 fields are a fraction × 10000; divide by this for percent. */
export const CHTM_PERCENT_DIVISOR = 100;
/** The noise/interference byte of CHTM uses this for "no interference". */
export const CHTM_NO_INTERFERENCE = 0xff;
/** Airtime locks travel as percent × 100 in a u16. */
export const ALOCK_SCALE = 100;

/** Error codes carried by CMD_ERROR (Framing.h). */
export const ErrorCode = {
  INITRADIO: 0x01,
  TXFAILED: 0x02,
  EEPROM_LOCKED: 0x03,
  QUEUE_FULL: 0x04,
  MEMORY_LOW: 0x05,
  MODEM_TIMEOUT: 0x06,
} as const;

/** Name of an error code for logs and status ("0x2a" when unknown). */
export function errorCodeName(code: number): string {
  const hit = Object.entries(ErrorCode).find(([, v]) => v === code);
  return hit ? hit[0] : `0x${code.toString(16).padStart(2, "0")}`;
}

/** Platform bytes (Boards.h). */
export const Platform = { AVR: 0x90, ESP32: 0x80, NRF52: 0x70 } as const;
/** MCU bytes (Boards.h). */
export const Mcu = { "ATmega1284P": 0x91, "ATmega2560": 0x92, ESP32: 0x81, NRF52: 0x71 } as const;

/** Board model bytes of common RNodes (Boards.h); others show as hex. */
const BOARD_NAMES: Readonly<Record<number, string>> = {
  0x31: "RNode v1",
  0x32: "homebrew",
  0x33: "T-Beam",
  0x34: "Huzzah32",
  0x35: "generic ESP32",
  0x36: "LoRa32 v2.0",
  0x37: "LoRa32 v2.1",
  0x38: "Heltec LoRa32 v2",
  0x39: "LoRa32 v1.0",
  0x3a: "Heltec LoRa32 v3",
  0x3b: "T-Deck",
  0x3c: "Heltec T114",
  0x3d: "T-Beam Supreme",
  0x3e: "XIAO ESP32S3",
  0x3f: "Heltec LoRa32 v4",
  0x40: "RNode v2.0",
  0x41: "RNode v2.1",
  0x42: "T3S3",
  0x43: "RNode v2.2",
  0x44: "T-Echo",
  0x50: "generic nRF52",
  0x51: "RAK4631",
};

function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}

function nameOf(table: Readonly<Record<string, number>>, byte: number): string {
  return Object.entries(table).find(([, v]) => v === byte)?.[0] ?? hexByte(byte);
}

/** Human name of a platform byte. */
export const platformName = (byte: number): string => nameOf(Platform, byte);
/** Human name of an MCU byte. */
export const mcuName = (byte: number): string => nameOf(Mcu, byte);
/** Human name of a board byte. */
export const boardName = (byte: number): string => BOARD_NAMES[byte] ?? hexByte(byte);

/** Oldest firmware this driver accepts: Reticulum's REQUIRED_FW_VER (1.52). */
export const MIN_FIRMWARE = { major: 1, minor: 52 } as const;

/** Firmware version as the device reports it. */
export interface FirmwareVersion {
  readonly major: number;
  readonly minor: number;
}

/** "1.86": the minor is shown with two digits, as rnodeconf does. */
export function formatFirmware(v: FirmwareVersion): string {
  return `${v.major}.${String(v.minor).padStart(2, "0")}`;
}

/** Whether the firmware is at least {@link MIN_FIRMWARE}. */
export function firmwareSupported(v: FirmwareVersion): boolean {
  return v.major > MIN_FIRMWARE.major || (v.major === MIN_FIRMWARE.major && v.minor >= MIN_FIRMWARE.minor);
}

/** `value` as a big-endian u16 (airtime locks, stats fields). */
export function u16(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}
/** `value` as a big-endian u32 (frequency, bandwidth). */
export function u32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}
/** The big-endian u16 at `at` (missing bytes read as 0; callers check lengths first). */
export function readU16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}
/** The big-endian u32 at `at`, unsigned. */
export function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) * 0x1000000 + (((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)));
}

/** dBm from a CMD_STAT_RSSI byte. */
export function rssiFromByte(byte: number): number {
  return byte - RSSI_OFFSET;
}

/** dB from a CMD_STAT_SNR byte (two's complement, quarter-dB steps). */
export function snrFromByte(byte: number): number {
  return ((byte << 24) >> 24) / SNR_STEPS_PER_DB;
}

/** CMD_STAT_CHTM: channel time, 11 bytes. Percentages are 0..100. */
export interface ChannelStats {
  /** Our own TX airtime over the short window (~15 s). */
  readonly airtimeShortPct: number;
  /** Our own TX airtime over the last hour. */
  readonly airtimeLongPct: number;
  /** Total channel utilisation (ours and others'), short window. */
  readonly channelLoadShortPct: number;
  /** Total channel utilisation, long window. */
  readonly channelLoadLongPct: number;
  /** RSSI now (dBm). */
  readonly currentRssi: number;
  /** Noise floor (dBm). */
  readonly noiseFloor: number;
  /** Interference level (dBm), null when none is detected. */
  readonly interference: number | null;
}

const CHTM_BYTES = 11;
const PHYPRM_BYTES = 12;
const CSMA_BYTES = 3;
const BATTERY_BYTES = 2;

/** Parses CMD_STAT_CHTM; null when the payload has the wrong length. */
export function parseChannelStats(p: Uint8Array): ChannelStats | null {
  if (p.length !== CHTM_BYTES) return null;
  const ntf = p[10] ?? CHTM_NO_INTERFERENCE;
  return {
    airtimeShortPct: readU16(p, 0) / CHTM_PERCENT_DIVISOR,
    airtimeLongPct: readU16(p, 2) / CHTM_PERCENT_DIVISOR,
    channelLoadShortPct: readU16(p, 4) / CHTM_PERCENT_DIVISOR,
    channelLoadLongPct: readU16(p, 6) / CHTM_PERCENT_DIVISOR,
    currentRssi: rssiFromByte(p[8] ?? 0),
    noiseFloor: rssiFromByte(p[9] ?? 0),
    interference: ntf === CHTM_NO_INTERFERENCE ? null : rssiFromByte(ntf),
  };
}

/** CMD_STAT_PHYPRM: the modem's timing as the firmware computed it. */
export interface PhyParams {
  readonly symbolTimeUs: number;
  readonly symbolRateBaud: number;
  readonly preambleSymbols: number;
  readonly preambleMs: number;
  readonly csmaSlotMs: number;
  readonly difsMs: number;
}

/** Parses CMD_STAT_PHYPRM (six u16); null when the payload has the wrong length. */
export function parsePhyParams(p: Uint8Array): PhyParams | null {
  if (p.length !== PHYPRM_BYTES) return null;
  return {
    symbolTimeUs: readU16(p, 0),
    symbolRateBaud: readU16(p, 2),
    preambleSymbols: readU16(p, 4),
    preambleMs: readU16(p, 6),
    csmaSlotMs: readU16(p, 8),
    difsMs: readU16(p, 10),
  };
}

/** CMD_STAT_CSMA: the contention window the firmware uses now. */
export interface CsmaParams {
  readonly band: number;
  readonly min: number;
  readonly max: number;
}

/** Parses CMD_STAT_CSMA; null when the payload has the wrong length. */
export function parseCsma(p: Uint8Array): CsmaParams | null {
  if (p.length !== CSMA_BYTES) return null;
  return { band: p[0] ?? 0, min: p[1] ?? 0, max: p[2] ?? 0 };
}

/** Battery state names by the byte CMD_STAT_BAT carries first. */
const BATTERY_STATES = ["unknown", "discharging", "charging", "charged"] as const;
/** What the battery is doing, as CMD_STAT_BAT reports it. */
export type BatteryState = (typeof BATTERY_STATES)[number];

/** CMD_STAT_BAT. */
export interface Battery {
  readonly state: BatteryState;
  readonly percent: number;
}

/** Parses CMD_STAT_BAT; null when the payload has the wrong length. */
export function parseBattery(p: Uint8Array): Battery | null {
  if (p.length !== BATTERY_BYTES) return null;
  return { state: BATTERY_STATES[p[0] ?? 0] ?? "unknown", percent: p[1] ?? 0 };
}

/** Parses CMD_STAT_TEMP into °C; null when the payload is not one byte. */
export function parseTemperature(p: Uint8Array): number | null {
  if (p.length !== 1) return null;
  return (p[0] ?? 0) - TEMPERATURE_OFFSET;
}
