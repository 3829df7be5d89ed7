/**
 * An RNode's identity and radio settings in the form status pages, logs and
 * `meshlogd rnode probe` show them: names instead of platform/MCU/board bytes.
 */
import { boardName, formatFirmware, mcuName, platformName } from "./commands.js";
import type { DeviceInfo } from "./handshake.js";
import type { RadioReadBack } from "./settings.js";

/** A device as people read it. */
export interface DeviceDescription {
  /** "1.86". */
  readonly firmware: string;
  /** "ESP32", "NRF52", "AVR", or the byte in hex when unknown; absent when the device did not say. */
  readonly platform?: string;
  readonly mcu?: string;
  readonly board?: string;
  /** The radio settings as the device reported them. */
  readonly radio?: RadioReadBack;
}

/** Names the device's bytes; `radio` is copied so later changes do not leak into the description. */
export function describeDevice(info: DeviceInfo, radio: RadioReadBack | null): DeviceDescription {
  return {
    firmware: formatFirmware(info.firmware),
    ...(info.platform !== undefined ? { platform: platformName(info.platform) } : {}),
    ...(info.mcu !== undefined ? { mcu: mcuName(info.mcu) } : {}),
    ...(info.board !== undefined ? { board: boardName(info.board) } : {}),
    ...(radio ? { radio: { ...radio } } : {}),
  };
}
