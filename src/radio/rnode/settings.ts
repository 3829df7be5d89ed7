/**
 * Radio settings for an RNode: their valid ranges (checked before anything is
 * sent), the setter and query frames, and the comparison of what the device
 * echoed back with what was asked (the firmware clamps silently, so the echo
 * is the only way to learn it refused).
 */
import type { RadioSettings } from "../air-port.js";
import type { KissFrame } from "../kiss.js";
import { ALOCK_SCALE, Command, QUERY_BYTE, RADIO_ON, readU16, readU32, u16, u32 } from "./commands.js";

/** What the driver asks of the radio. */
export interface RNodeSettings extends RadioSettings {
  /** Own-airtime limit over ~15 s, percent 0..100 (0 or 100: no limit). Not sent when omitted. */
  readonly airtimeLimitShort?: number;
  /** Own-airtime limit over one hour, percent 0..100 (EU 1 % sub-band: 1). Not sent when omitted. */
  readonly airtimeLimitLong?: number;
}

/** Host-side range Reticulum also enforces (RNodeInterface.py); the board narrows it to its band. */
export const FREQUENCY_RANGE = { min: 137_000_000, max: 3_000_000_000 } as const;
/** SX127x/SX126x bandwidths (Hz); the firmware snaps anything else up to one of these. */
export const SUB_GHZ_BANDWIDTHS = [7800, 10400, 15600, 20800, 31250, 41700, 62500, 125000, 250000, 500000] as const;
/** SX1280 (2.4 GHz) bandwidths (Hz). */
export const SX1280_BANDWIDTHS = [203125, 406250, 812500, 1625000] as const;
/** Spreading factors the firmware accepts (it clamps to this). */
export const SF_RANGE = { min: 5, max: 12 } as const;
/** Coding rates 4/5..4/8, written 5..8 (the firmware clamps to this). */
export const CR_RANGE = { min: 5, max: 8 } as const;
/** TX power (dBm) the protocol carries; each board clamps lower (SX127x 17, SX1262 22). */
export const TX_POWER_RANGE = { min: 0, max: 37 } as const;
/** Airtime locks in percent. */
export const AIRTIME_LIMIT_RANGE = { min: 0, max: 100 } as const;
/** Frequency read back from a running radio comes from the chip's PLL steps: ±100 Hz is a match (Reticulum's rule). */
export const FREQUENCY_TOLERANCE_HZ = 100;
/** An airtime lock read back may differ by one unit (0.01 %): the firmware stores it as a float. */
const ALOCK_TOLERANCE = 1;

type SettingKey = keyof RNodeSettings;

/** The names a user writes in the site configuration, used in every message about a setting. */
export const SETTING_NAMES: Readonly<Record<SettingKey, string>> = {
  frequency: "frequency",
  bandwidth: "bandwidth",
  txPower: "tx_power",
  sf: "spreading_factor",
  cr: "coding_rate",
  airtimeLimitShort: "airtime_limit_short",
  airtimeLimitLong: "airtime_limit_long",
};

/** One setting outside its valid range. */
export interface SettingProblem {
  readonly setting: string;
  readonly value: number;
  readonly valid: string;
}

const ALL_BANDWIDTHS: readonly number[] = [...SUB_GHZ_BANDWIDTHS, ...SX1280_BANDWIDTHS];

function inRange(value: number, range: { min: number; max: number }, integer: boolean): boolean {
  return Number.isFinite(value) && value >= range.min && value <= range.max && (!integer || Number.isInteger(value));
}

/** Checks every setting against its range; an empty list means all are valid. */
export function checkRNodeSettings(s: RNodeSettings): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const check = (key: SettingKey, ok: boolean, valid: string): void => {
    const value = s[key];
    if (!ok && value !== undefined) problems.push({ setting: SETTING_NAMES[key], value, valid });
  };
  check("frequency", inRange(s.frequency, FREQUENCY_RANGE, true), "137000000..3000000000 Hz");
  check("bandwidth", ALL_BANDWIDTHS.includes(s.bandwidth), `one of ${ALL_BANDWIDTHS.join(", ")} Hz`);
  check("txPower", inRange(s.txPower, TX_POWER_RANGE, true), "0..37 dBm (whole numbers)");
  check("sf", inRange(s.sf, SF_RANGE, true), "5..12");
  check("cr", inRange(s.cr, CR_RANGE, true), "5..8 (for 4/5..4/8)");
  for (const key of ["airtimeLimitShort", "airtimeLimitLong"] as const) {
    const v = s[key];
    if (v !== undefined) check(key, inRange(v, AIRTIME_LIMIT_RANGE, false), "0..100 (%)");
  }
  return problems;
}

/** The u16 an airtime lock travels as: percent × 100, truncated like Reticulum's int(). */
export function airtimeLockWord(percent: number): number {
  return Math.trunc(percent * ALOCK_SCALE);
}

/** What the firmware will read back for a lock: it treats 100 % and above as "no limit" (0). */
function expectedLockWord(percent: number): number {
  const word = airtimeLockWord(percent);
  return word >= AIRTIME_LIMIT_RANGE.max * ALOCK_SCALE ? 0 : word;
}

/** The setters in Reticulum's order: frequency, bandwidth, power, SF, CR, locks (if set), radio on. */
export function configureFrames(s: RNodeSettings): KissFrame[] {
  const frames: KissFrame[] = [
    { command: Command.FREQUENCY, payload: u32(s.frequency) },
    { command: Command.BANDWIDTH, payload: u32(s.bandwidth) },
    { command: Command.TXPOWER, payload: Uint8Array.of(s.txPower) },
    { command: Command.SF, payload: Uint8Array.of(s.sf) },
    { command: Command.CR, payload: Uint8Array.of(s.cr) },
  ];
  if (s.airtimeLimitShort !== undefined) frames.push({ command: Command.ST_ALOCK, payload: u16(airtimeLockWord(s.airtimeLimitShort)) });
  if (s.airtimeLimitLong !== undefined) frames.push({ command: Command.LT_ALOCK, payload: u16(airtimeLockWord(s.airtimeLimitLong)) });
  frames.push({ command: Command.RADIO_STATE, payload: Uint8Array.of(RADIO_ON) });
  return frames;
}

/**
 * Queries that read the radio settings without changing them: a zero
 * frequency/bandwidth and 0xFF for the one-byte values. The airtime locks have
 * no query form (zero would switch them off), so they are not read.
 */
export const QUERY_FRAMES: readonly KissFrame[] = [
  { command: Command.FREQUENCY, payload: u32(0) },
  { command: Command.BANDWIDTH, payload: u32(0) },
  { command: Command.TXPOWER, payload: Uint8Array.of(QUERY_BYTE) },
  { command: Command.SF, payload: Uint8Array.of(QUERY_BYTE) },
  { command: Command.CR, payload: Uint8Array.of(QUERY_BYTE) },
  { command: Command.RADIO_STATE, payload: Uint8Array.of(QUERY_BYTE) },
];

/** Radio settings as the device reported them; a field is absent until its echo arrived. */
export interface RadioReadBack {
  frequency?: number;
  bandwidth?: number;
  txPower?: number;
  sf?: number;
  cr?: number;
  airtimeLimitShort?: number;
  airtimeLimitLong?: number;
  radioOn?: boolean;
}

/** Records `frame` into `into` when it is a settings echo; returns whether it was one. */
export function recordReadBack(frame: KissFrame, into: RadioReadBack): boolean {
  const p = frame.payload;
  const byte = p[0];
  switch (frame.command) {
    case Command.FREQUENCY:
      if (p.length === 4) into.frequency = readU32(p, 0);
      return p.length === 4;
    case Command.BANDWIDTH:
      if (p.length === 4) into.bandwidth = readU32(p, 0);
      return p.length === 4;
    case Command.ST_ALOCK:
    case Command.LT_ALOCK: {
      if (p.length !== 2) return false;
      into[frame.command === Command.ST_ALOCK ? "airtimeLimitShort" : "airtimeLimitLong"] = readU16(p, 0) / ALOCK_SCALE;
      return true;
    }
  }
  if (byte === undefined) return false;
  if (frame.command === Command.TXPOWER) into.txPower = byte;
  else if (frame.command === Command.SF) into.sf = byte;
  else if (frame.command === Command.CR) into.cr = byte;
  else if (frame.command === Command.RADIO_STATE) into.radioOn = byte === RADIO_ON;
  else return false;
  return true;
}

/** A setting the device reports differently from what was asked. */
export interface SettingMismatch {
  readonly setting: string;
  readonly asked: number;
  /** What the device reports; undefined when it never echoed the setting. */
  readonly reported: number | undefined;
  /** What the user should change. */
  readonly advice: string;
}

function adviceFor(key: SettingKey, reported: number | undefined): string {
  const name = SETTING_NAMES[key];
  if (reported === undefined) return `check that the device is in host mode (\`rnodeconf PORT -N\`)`;
  switch (key) {
    case "txPower":
      return `the device clamps ${name} to what its radio supports: set ${name} to ${reported} or less`;
    case "frequency":
      return `set ${name} to one this board's radio can tune (its band, e.g. 863000000..870000000 for an 868 MHz board)`;
    case "bandwidth":
      return `set ${name} to one of ${SUB_GHZ_BANDWIDTHS.join(", ")} (SX1280 boards: ${SX1280_BANDWIDTHS.join(", ")})`;
    case "sf":
      return `set ${name} to one this radio supports (7..12 on SX127x boards, 5..12 on SX126x/SX128x)`;
    default:
      return `set ${name} to ${reported}`;
  }
}

/** Compares the echoes with what was asked: frequency within ±100 Hz, the rest exactly. */
export function compareReadBack(asked: RNodeSettings, got: RadioReadBack): SettingMismatch[] {
  const out: SettingMismatch[] = [];
  const compare = (key: SettingKey, want: number, have: number | undefined, same: boolean): void => {
    if (!same) out.push({ setting: SETTING_NAMES[key], asked: want, reported: have, advice: adviceFor(key, have) });
  };
  const f = got.frequency;
  compare("frequency", asked.frequency, f, f !== undefined && Math.abs(f - asked.frequency) <= FREQUENCY_TOLERANCE_HZ);
  compare("bandwidth", asked.bandwidth, got.bandwidth, got.bandwidth === asked.bandwidth);
  compare("txPower", asked.txPower, got.txPower, got.txPower === asked.txPower);
  compare("sf", asked.sf, got.sf, got.sf === asked.sf);
  compare("cr", asked.cr, got.cr, got.cr === asked.cr);
  for (const key of ["airtimeLimitShort", "airtimeLimitLong"] as const) {
    const want = asked[key];
    const have = got[key];
    if (want === undefined) continue;
    const same = have !== undefined && Math.abs(have * ALOCK_SCALE - expectedLockWord(want)) <= ALOCK_TOLERANCE;
    compare(key, want, have, same);
  }
  return out;
}
