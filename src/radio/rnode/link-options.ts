/**
 * What a caller may tune on an RNode link, the defaults, and the reconnect
 * back-off they give.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import type { Clock } from "../clock.js";
import type { Logger } from "../../log/logger.js";
import type { RNodeSettings } from "./settings.js";

/** Frames held while the radio is busy or the device is away; beyond this the newest are dropped (and any that wait over TX_MAX_WAIT_MS). */
export const TX_QUEUE_FRAMES = 64;
/** A replugged USB serial device reappears within a second or two. */
export const RECONNECT_INITIAL_MS = 1_000;
/** Keeps retries for a missing device cheap while still noticing it soon after it returns. */
export const RECONNECT_MAX_MS = 30_000;
/** ±20 % so links that lost their devices together do not retry in lockstep. */
const RECONNECT_JITTER = 0.2;

/** Options of {@link createRNodeLink}. */
export interface RNodeLinkOptions {
  /** Serial port path, e.g. /dev/serial/by-id/usb-…; also the status target. */
  readonly path: string;
  readonly settings: RNodeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  /** serialport binding; the platform's own (bindings-cpp autoDetect) when omitted. */
  readonly binding?: BindingInterface;
  /** Jitter for the reconnect back-off. */
  readonly random?: () => number;
  readonly detectTimeoutMs?: number;
  readonly detectResendMs?: number;
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  readonly txQueueFrames?: number;
  /** Longest a frame may wait for the device before it is dropped (TX_MAX_WAIT_MS). */
  readonly txMaxWaitMs?: number;
  /**
   * A port missing at start (the RNode not plugged in, or unplugged during
   * the first handshake): true, start() resolves with the link down and
   * reconnecting, as after an unplug; false (the default), it rejects.
   */
  readonly waitForDevice?: boolean;
  /** How often the radio state and settings of an up device are read back (HEALTH_CHECK_INTERVAL_MS). */
  readonly healthCheckMs?: number;
  /** Silence after channel reports that triggers a check at once (STATS_SILENCE_MS). */
  readonly statsSilenceMs?: number;
}

/** How long to wait before reconnect attempt `attempt` (0 first): doubling from the initial wait up to the maximum, jittered. */
export function reconnectDelay(options: RNodeLinkOptions, attempt: number, random: () => number): number {
  const initial = options.reconnectInitialMs ?? RECONNECT_INITIAL_MS;
  const base = Math.min(options.reconnectMaxMs ?? RECONNECT_MAX_MS, initial * 2 ** attempt);
  return base * (1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * random());
}
