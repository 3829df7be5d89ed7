/**
 * Is the RNode that is up still set up as we left it? A board can reset
 * without telling the host: AVR boards never send the reset notice, and an
 * ESP32's `C0 55 F8 C0` can be lost on the line. The firmware then boots with
 * its radio off and every setting unset (frequency and bandwidth 0, TX power
 * 0xFF, SF 0, CR 5; RNode_Firmware.ino setup() and update_radio_lock()),
 * answers queries with those values, sends no channel reports (they come
 * from the loop only while the radio is on), and queues the DATA frames the
 * host writes without sending them or saying so. A board with a stored TNC
 * configuration boots with its radio on, but with that configuration.
 *
 * So the check reads the radio state and the settings back with queries:
 * bytes on the serial line, nothing on the air.
 */
import type { Clock } from "../clock.js";
import { queryRadio } from "./handshake.js";
import type { RNodePort } from "./rnode-port.js";
import { compareReadBack, type RNodeSettings, type SettingMismatch } from "./settings.js";

/** Often enough that a board that reset without a word (AVR boards send no reports at all) is back within a minute. */
export const HEALTH_CHECK_INTERVAL_MS = 60_000;
/**
 * ESP32 and nRF52 boards send channel statistics about once a second while
 * their radio is on and none while it is off: this long without one, the
 * radio is checked at once instead of at the next interval.
 */
export const STATS_SILENCE_MS = 10_000;
/**
 * How long a check waits for the answers, on top of the time on air of the
 * longest frame: the firmware's loop (and so its serial answers) waits while
 * it transmits.
 */
export const HEALTH_REPLY_MS = 3_000;
/** One odd answer may be noise on the serial line; the same verdict twice in a row is not. */
const CHECK_ATTEMPTS = 2;

/** What a check found. */
export type RadioHealth =
  | { readonly kind: "healthy" }
  /** The device answered with its radio off. */
  | { readonly kind: "radio-off" }
  /** The radio is on with settings other than ours (a board that booted into its stored TNC configuration). */
  | { readonly kind: "settings-lost"; readonly mismatches: readonly SettingMismatch[] }
  /** No answer to the radio-state query in time. */
  | { readonly kind: "no-answer"; readonly waitedMs: number };

/** Asks once; only the settings a query can read are compared (the airtime locks have no query form). */
async function askOnce(port: RNodePort, clock: Clock, settings: RNodeSettings, timeoutMs: number): Promise<RadioHealth> {
  const got = await queryRadio(port, clock, timeoutMs);
  if (got.radioOn === undefined) return { kind: "no-answer", waitedMs: timeoutMs };
  if (!got.radioOn) return { kind: "radio-off" };
  const { frequency, bandwidth, txPower, sf, cr } = settings;
  const mismatches = compareReadBack({ frequency, bandwidth, txPower, sf, cr }, got).filter((m) => m.reported !== undefined);
  return mismatches.length > 0 ? { kind: "settings-lost", mismatches } : { kind: "healthy" };
}

/**
 * Reads the radio state and settings of the device on `port`; asks once more
 * before reporting anything but "healthy", so one garbled answer does not
 * make the link re-initialise a working device. `proceed` is asked before
 * each query: a query must not be written while a handshake runs on the
 * port, where its answers would pass for the handshake's echoes.
 */
export async function checkRadioHealth(
  port: RNodePort,
  clock: Clock,
  settings: RNodeSettings,
  timeoutMs: number,
  proceed: () => boolean = () => true,
): Promise<RadioHealth> {
  let health: RadioHealth = { kind: "healthy" };
  for (let i = 0; i < CHECK_ATTEMPTS && port.isOpen && proceed(); i++) {
    health = await askOnce(port, clock, settings, timeoutMs);
    if (health.kind === "healthy") return health;
  }
  return health;
}

/** What the link's status and log say about an unhealthy verdict. */
export function describeHealth(health: Exclude<RadioHealth, { kind: "healthy" }>): string {
  switch (health.kind) {
    case "radio-off":
      return "the RNode's radio was found off (it reset without announcing it)";
    case "settings-lost": {
      const list = health.mismatches.map((m) => `${m.setting} ${m.reported} instead of ${m.asked}`).join(", ");
      return `the RNode reports other settings (${list}): it reset without announcing it`;
    }
    case "no-answer":
      return `the RNode did not answer ${CHECK_ATTEMPTS} status queries in a row (${(health.waitedMs / 1000).toFixed(1)} s each)`;
  }
}
