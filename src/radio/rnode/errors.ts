/**
 * Why an RNode could not be brought up, as one error class with a reason a
 * caller branches on and a message that says what happened, on which port,
 * and what to do about it.
 */
import { formatFirmware, type FirmwareVersion, MIN_FIRMWARE } from "./commands.js";
import type { SettingMismatch, SettingProblem } from "./settings.js";

/** Why an RNode could not be used; stable, for callers to branch on. */
export type RNodeFailure =
  /** The port path does not exist. */
  | "port-not-found"
  /** The port exists but this user may not open it. */
  | "port-permission-denied"
  /** The port could not be opened for another reason (busy, not a tty…). */
  | "port-open-failed"
  /** The port went away during the handshake. */
  | "port-closed"
  /** Nothing answered the detect request in time. */
  | "not-an-rnode"
  /** A device this link had up stopped answering (hung, browning out, stuck booting). */
  | "not-answering"
  /** The firmware is older than the driver supports. */
  | "firmware-too-old"
  /** A setting is outside its valid range; nothing was sent. */
  | "invalid-settings"
  /** The device did not confirm every setting in time. */
  | "settings-unconfirmed"
  /** The device reports different settings than asked (it clamped them). */
  | "settings-mismatch"
  /** The device did not switch its radio on. */
  | "radio-not-started";

/** An RNode problem a user can act on; `reason` is stable, `message` is for people. */
export class RNodeError extends Error {
  override readonly name = "RNodeError";
  constructor(
    readonly reason: RNodeFailure,
    /** The serial port it concerns. */
    readonly port: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const PORT_HINT = "list the RNodes with `ls -l /dev/serial/by-id` and set the port to one of them";

/** Turns a serialport open failure into the reason and advice the user needs. */
export function openFailure(port: string, cause: unknown): RNodeError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || /No such file|ENOENT/i.test(text)) {
    return new RNodeError("port-not-found", port, `Serial port ${port} does not exist (is the RNode plugged in?): ${PORT_HINT}.`, { cause });
  }
  // A device node that outlived its device (docker's `devices:` copy of an unplugged RNode) fails so.
  if (code === "ENODEV" || code === "ENXIO" || /No such device|ENODEV|ENXIO/i.test(text)) {
    return new RNodeError("port-not-found", port, `Serial port ${port} has no device behind it (is the RNode plugged in?): ${PORT_HINT}.`, { cause });
  }
  if (code === "EACCES" || /Permission denied|EACCES/i.test(text)) {
    return new RNodeError(
      "port-permission-denied",
      port,
      `No permission to open ${port}: add the user running meshlogd to the dialout group (\`sudo usermod -aG dialout $USER\`, then log in again).`,
      { cause },
    );
  }
  return new RNodeError("port-open-failed", port, `Could not open ${port} (${text}): check that no other program (rnodeconf, Reticulum) holds it; ${PORT_HINT}.`, {
    cause,
  });
}

/** Nothing answered the detect burst within `waitedMs`. */
export function notAnRNode(port: string, waitedMs: number): RNodeError {
  return new RNodeError(
    "not-an-rnode",
    port,
    `No RNode answered on ${port} within ${Math.round(waitedMs / 1000)} s: the device there is not an RNode, has no RNode firmware, or is stuck booting. ` +
      `Check the port (\`ls -l /dev/serial/by-id\`) and install the firmware with \`rnodeconf --autoinstall\`.`,
  );
}

/** A device this link had up gave no answer to the detect request within `waitedMs`. */
export function stoppedAnswering(port: string, waitedMs: number): RNodeError {
  return new RNodeError(
    "not-answering",
    port,
    `The RNode on ${port} stopped answering (nothing for ${Math.round(waitedMs / 1000)} s): it may be hung or short of power. ` +
      `meshlogd reopens the port, which resets most boards; if this repeats, check its cable and power supply.`,
  );
}

/**
 * Whether `err` only says the device is not there now (not plugged in, or
 * unplugged during the handshake): something that mends itself once it is
 * plugged in, unlike a setting, a permission or a firmware to fix.
 */
export function deviceAbsent(err: RNodeError): boolean {
  return err.reason === "port-not-found" || err.reason === "port-closed";
}

/** The device runs firmware older than {@link MIN_FIRMWARE}. */
export function firmwareTooOld(port: string, version: FirmwareVersion): RNodeError {
  return new RNodeError(
    "firmware-too-old",
    port,
    `The RNode on ${port} runs firmware ${formatFirmware(version)}; meshlogd needs ${formatFirmware(MIN_FIRMWARE)} or newer. ` +
      `Update it with \`rnodeconf ${port} -u\` (or \`rnodeconf --autoinstall\`).`,
  );
}

/** Settings outside their ranges, refused before the port is opened. */
export function invalidSettings(port: string, problems: readonly SettingProblem[]): RNodeError {
  const list = problems.map((p) => `${p.setting} is ${p.value}, valid: ${p.valid}`).join("; ");
  return new RNodeError("invalid-settings", port, `Radio settings for ${port} refused before contacting the device: ${list}.`);
}

/** The device echoed settings other than those asked (or none at all). */
export function settingsMismatch(port: string, mismatches: readonly SettingMismatch[]): RNodeError {
  const unconfirmed = mismatches.every((m) => m.reported === undefined);
  const list = mismatches
    .map((m) =>
      m.reported === undefined
        ? `${m.setting}: asked ${m.asked}, the device never confirmed it`
        : `${m.setting}: asked ${m.asked}, the device reports ${m.reported}; ${m.advice}`,
    )
    .join("; ");
  const reason = unconfirmed ? "settings-unconfirmed" : "settings-mismatch";
  return new RNodeError(reason, port, `The RNode on ${port} did not take the radio settings: ${list}.`);
}

/** The radio state read back as off after "radio on"; `errors` are the error frames seen meanwhile. */
export function radioNotStarted(port: string, errors: readonly string[]): RNodeError {
  const seen = errors.length > 0 ? ` (it reported ${errors.join(", ")})` : "";
  return new RNodeError(
    "radio-not-started",
    port,
    `The RNode on ${port} did not switch its radio on${seen}: it may be unprovisioned or in TNC mode. ` +
      `Check it with \`rnodeconf ${port} -i\` and put it in host mode with \`rnodeconf ${port} -N\`.`,
  );
}

/** The port closed while the handshake was under way. */
export function portClosed(port: string): RNodeError {
  return new RNodeError("port-closed", port, `The serial port ${port} closed during the RNode handshake (unplugged?); check the cable and the port.`);
}
