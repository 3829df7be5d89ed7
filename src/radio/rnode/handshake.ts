/**
 * The conversation that brings an RNode up, as Reticulum's RNodeInterface has
 * it: a detect burst re-sent until the device answers, a firmware check, the
 * setters, and a comparison of the echoed values with the requested ones.
 * Every outcome is a value: the device's facts, or an RNodeError.
 */
import type { Clock } from "../clock.js";
import { encodeKissFrames, type KissFrame } from "../kiss.js";
import {
  Command,
  DETECT_REQUEST,
  DETECT_RESPONSE,
  DUMMY_BYTE,
  errorCodeName,
  firmwareSupported,
  type FirmwareVersion,
} from "./commands.js";
import { firmwareTooOld, notAnRNode, portClosed, radioNotStarted, RNodeError, settingsMismatch } from "./errors.js";
import type { RNodePort } from "./rnode-port.js";
import { compareReadBack, configureFrames, QUERY_FRAMES, type RadioReadBack, recordReadBack, type RNodeSettings } from "./settings.js";

/** ESP32-S3 boards can take more than 10 s to boot after the port opens (bergie/reticulum-js). */
export const DETECT_TIMEOUT_MS = 15_000;
/** A board still booting ignores input, so the detect burst is repeated this often. */
export const DETECT_RESEND_MS = 1_000;
/** Once detected, how long to wait for the rest of the burst's answers (a firmware without CMD_BOARD never sends it). */
const DETECT_GRACE_MS = 500;
/** The setters are answered in milliseconds; this leaves room for a busy device. */
export const CONFIGURE_TIMEOUT_MS = 3_000;

/**
 * Detect, firmware version, platform, MCU and board, sharing FENDs:
 * `C0 08 73 C0 50 00 C0 48 00 C0 49 00 C0 47 00 C0`. The queries carry one
 * dummy byte because the firmware runs a handler once per payload byte.
 */
export const DETECT_BURST: Uint8Array = encodeKissFrames([
  { command: Command.DETECT, payload: Uint8Array.of(DETECT_REQUEST) },
  { command: Command.FW_VERSION, payload: Uint8Array.of(DUMMY_BYTE) },
  { command: Command.PLATFORM, payload: Uint8Array.of(DUMMY_BYTE) },
  { command: Command.MCU, payload: Uint8Array.of(DUMMY_BYTE) },
  { command: Command.BOARD, payload: Uint8Array.of(DUMMY_BYTE) },
]);

/** What the device says it is. */
export interface DeviceInfo {
  readonly firmware: FirmwareVersion;
  readonly platform?: number;
  readonly mcu?: number;
  readonly board?: number;
}

/** How patient the detection is. */
export interface DetectTiming {
  readonly timeoutMs: number;
  readonly resendMs: number;
}

interface Detection {
  detected: boolean;
  firmware?: FirmwareVersion;
  platform?: number;
  mcu?: number;
  board?: number;
}

function noteDetectReply(d: Detection, f: KissFrame): void {
  const b = f.payload[0];
  if (b === undefined) return;
  if (f.command === Command.DETECT && b === DETECT_RESPONSE) d.detected = true;
  else if (f.command === Command.FW_VERSION && f.payload.length === 2) d.firmware = { major: b, minor: f.payload[1] ?? 0 };
  else if (f.command === Command.PLATFORM) d.platform = b;
  else if (f.command === Command.MCU) d.mcu = b;
  else if (f.command === Command.BOARD) d.board = b;
}

/** Sends the detect burst until the device answers (or the timeout); checks the firmware version. */
export async function detectRNode(port: RNodePort, clock: Clock, timing: DetectTiming): Promise<DeviceInfo | RNodeError> {
  const d: Detection = { detected: false };
  let deadline = clock.now() + timing.timeoutMs;
  const answered = (): boolean => d.detected && d.firmware !== undefined;
  const consume = (f: KissFrame): boolean => {
    noteDetectReply(d, f);
    if (answered()) deadline = Math.min(deadline, clock.now() + DETECT_GRACE_MS);
    return answered() && d.platform !== undefined && d.mcu !== undefined && d.board !== undefined;
  };
  while (port.isOpen && clock.now() < deadline) {
    if (!answered()) port.write(DETECT_BURST);
    const until = answered() ? deadline : Math.min(deadline, clock.now() + timing.resendMs);
    if (await port.waitFor(consume, until)) break;
  }
  if (!port.isOpen) return portClosed(port.path);
  if (!d.detected || !d.firmware) return notAnRNode(port.path, timing.timeoutMs);
  if (!firmwareSupported(d.firmware)) return firmwareTooOld(port.path, d.firmware);
  return { firmware: d.firmware, platform: d.platform, mcu: d.mcu, board: d.board };
}

/** Sends `frames` and collects the echoes of their commands until all came or the timeout. */
async function exchange(port: RNodePort, clock: Clock, frames: readonly KissFrame[], timeoutMs: number) {
  const readBack: RadioReadBack = {};
  const errors: string[] = [];
  const pending = new Set(frames.map((f) => f.command));
  port.write(encodeKissFrames(frames));
  await port.waitFor((f) => {
    if (f.command === Command.ERROR && f.payload[0] !== undefined) errors.push(`ERROR_${errorCodeName(f.payload[0])}`);
    if (recordReadBack(f, readBack)) pending.delete(f.command);
    return pending.size === 0;
  }, clock.now() + timeoutMs);
  return { readBack, errors };
}

/**
 * Sets frequency, bandwidth, power, SF, CR and the airtime locks, switches the
 * radio on, and checks every echo (frequency ±100 Hz, the rest exactly; the
 * radio must report on). Returns the settings as the device reported them.
 */
export async function configureRNode(port: RNodePort, clock: Clock, settings: RNodeSettings): Promise<RadioReadBack | RNodeError> {
  const { readBack, errors } = await exchange(port, clock, configureFrames(settings), CONFIGURE_TIMEOUT_MS);
  if (!port.isOpen) return portClosed(port.path);
  const mismatches = compareReadBack(settings, readBack);
  if (mismatches.length > 0) return settingsMismatch(port.path, mismatches);
  if (readBack.radioOn !== true) return radioNotStarted(port.path, errors);
  return readBack;
}

/** Reads frequency, bandwidth, power, SF, CR and radio state without changing them. */
export async function queryRadio(port: RNodePort, clock: Clock, timeoutMs = CONFIGURE_TIMEOUT_MS): Promise<RadioReadBack> {
  return (await exchange(port, clock, QUERY_FRAMES, timeoutMs)).readBack;
}
