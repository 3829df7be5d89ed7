/**
 * `meshlogd rnode probe PORT`: what RNode is on a serial port and how its
 * radio is set, without changing anything.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import { realClock } from "../radio/clock.js";
import { probeRNode } from "../radio/rnode/probe.js";
import { parseArgs, UsageError } from "./options.js";

const mhz = (hz: number | undefined) => (hz === undefined ? "?" : `${(hz / 1e6).toFixed(4)} MHz`);
const khz = (hz: number | undefined) => (hz === undefined ? "?" : `${hz / 1000} kHz`);
const orUnknown = (v: unknown, unit = "") => (v === undefined ? "?" : `${String(v)}${unit}`);

export async function rnodeCommand(
  args: readonly string[],
  out: (line: string) => void = (l) => void process.stdout.write(`${l}\n`),
  binding?: BindingInterface,
): Promise<number> {
  if (args[0] !== "probe") throw new UsageError(`unknown rnode command "${args[0] ?? ""}" (there is: probe PORT)`);
  const { positional, options } = parseArgs(args.slice(1), ["timeout"]);
  const path = positional[0];
  if (!path) throw new UsageError("rnode probe needs the serial port, e.g. meshlogd rnode probe /dev/ttyUSB0");
  const timeoutS = Number(options.get("timeout") ?? "5");
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout must be seconds > 0, got "${options.get("timeout") ?? ""}"`);
  out(`probing ${path} …`);
  const r = await probeRNode({ path, clock: realClock(), timeoutMs: timeoutS * 1000, ...(binding ? { binding } : {}) });
  if (!r.ok) {
    out(`meshlogd: ${r.error.message}`);
    return 1;
  }
  const d = r.device;
  const radio = d.radio;
  out(`RNode on ${path}`);
  out(`  firmware   ${d.firmware}`);
  out(`  platform   ${d.platform ?? "?"}${d.mcu ? ` (${d.mcu})` : ""}${d.board ? `, board ${d.board}` : ""}`);
  out(`  radio      ${radio.radioOn ? "on" : "off"}`);
  out(`  frequency  ${mhz(radio.frequency)}`);
  out(`  bandwidth  ${khz(radio.bandwidth)}`);
  out(`  SF         ${orUnknown(radio.sf)}`);
  out(`  CR         ${radio.cr === undefined ? "?" : `4/${radio.cr}`}`);
  out(`  TX power   ${orUnknown(radio.txPower, " dBm")}`);
  if (radio.airtimeLimitShort !== undefined || radio.airtimeLimitLong !== undefined) {
    out(`  airtime    limits ${orUnknown(radio.airtimeLimitShort, " %")} short, ${orUnknown(radio.airtimeLimitLong, " %")} long`);
  }
  return 0;
}
