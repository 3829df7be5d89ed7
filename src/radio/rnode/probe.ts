/**
 * `meshlogd rnode probe PORT`: find out what is on a serial port without
 * changing it. Detects the RNode, then reads its radio settings with queries
 * (zero frequency/bandwidth, 0xFF for the one-byte values), never setters, and
 * closes the port without sending "radio off" or "host left".
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import type { Clock } from "../clock.js";
import { DETECT_RESEND_MS, DETECT_TIMEOUT_MS, detectRNode, queryRadio } from "./handshake.js";
import { type DeviceDescription, describeDevice } from "./device-info.js";
import { RNodeError } from "./errors.js";
import { openRNodePort } from "./rnode-port.js";

/** Options of {@link probeRNode}. */
export interface ProbeOptions {
  readonly path: string;
  /** serialport binding; the platform's own when omitted. */
  readonly binding?: BindingInterface;
  readonly clock: Clock;
  /** How long to wait for the device to answer the detect request. */
  readonly timeoutMs?: number;
}

/** What a probe found: the device and its current settings, or why it could not tell. */
export type ProbeResult =
  | { readonly ok: true; readonly path: string; readonly device: DeviceDescription & { readonly radio: NonNullable<DeviceDescription["radio"]> } }
  | { readonly ok: false; readonly path: string; readonly error: RNodeError };

/** Detects the RNode on `path` and reads its settings without changing anything. */
export async function probeRNode(options: ProbeOptions): Promise<ProbeResult> {
  const { path, clock } = options;
  const binding = options.binding ?? (await import("@serialport/bindings-cpp")).autoDetect();
  const port = await openRNodePort({ path, binding, clock });
  if (port instanceof RNodeError) return { ok: false, path, error: port };
  try {
    const info = await detectRNode(port, clock, { timeoutMs: options.timeoutMs ?? DETECT_TIMEOUT_MS, resendMs: DETECT_RESEND_MS });
    if (info instanceof RNodeError) return { ok: false, path, error: info };
    const radio = await queryRadio(port, clock);
    return { ok: true, path, device: { ...describeDevice(info, radio), radio } };
  } finally {
    await port.close();
  }
}
