/**
 * Test rigs for the RNode driver: virtual RNodes on a two-port air, links
 * over serialport's mock binding, and a raw host connection for talking to a
 * virtual device byte by byte. Everything runs on stepped virtual time.
 */
import type { BindingInterface } from "@serialport/bindings-cpp";
import { seededRandom } from "../../src/engine/random.js";
import type { Logger } from "../../src/log/logger.js";
import type { AirPort } from "../../src/radio/air-port.js";
import { KissDecoder, type KissFrame } from "../../src/radio/kiss.js";
import type { Link, ReceivedFrame } from "../../src/radio/link.js";
import { RNodeError } from "../../src/radio/rnode/errors.js";
import { createRNodeLink, type RNodeLinkOptions } from "../../src/radio/rnode/rnode-link.js";
import { openRNodePort, type RNodePort } from "../../src/radio/rnode/rnode-port.js";
import type { RNodeSettings } from "../../src/radio/rnode/settings.js";
import { createVirtualRNode, type VirtualRNode, type VirtualRNodeOptions } from "../../src/radio/rnode/virtual-rnode.js";
import { type AirLog, createAirPair } from "./air-pair.js";
import { createSteppedTime, type SteppedTime } from "./step-time.js";

/** EU 868 MHz, SF7/125 kHz, 4/5, 14 dBm, with the manual's example airtime locks. */
export const SETTINGS: RNodeSettings = {
  frequency: 868_100_000,
  bandwidth: 125_000,
  txPower: 14,
  sf: 7,
  cr: 5,
  airtimeLimitShort: 33,
  airtimeLimitLong: 1.5,
};

let ports = 0;
/** A port path no other virtual device in this process uses. */
export function newPath(): string {
  return `/dev/ttyVIRT${ports++}`;
}

export const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").replace(/(..)(?!$)/g, "$1 ");

/** Decodes a byte stream (what the host wrote) into frames. */
export function framesOf(bytes: Uint8Array): KissFrame[] {
  return new KissDecoder({ now: () => 0 }).push(bytes);
}

/** One line a link logged. */
export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps its lines for assertions. */
export function recordingLogger(lines: LogLine[], base: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ level, msg, fields: { ...base, ...fields } });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: (f) => recordingLogger(lines, { ...base, ...f }) };
}

export interface Rig {
  readonly time: SteppedTime;
  readonly air: { a: AirPort; b: AirPort; log: AirLog };
  device(side: "a" | "b", options?: Partial<VirtualRNodeOptions>): VirtualRNode;
  link(device: { binding: BindingInterface; path: string }, options?: Partial<RNodeLinkOptions>): Link & { received: ReceivedFrame[]; logs: LogLine[] };
  /** A device on `side` with a link that is up. */
  station(side: "a" | "b", options?: Partial<VirtualRNodeOptions>): Promise<{ device: VirtualRNode; link: Link & { received: ReceivedFrame[]; logs: LogLine[] } }>;
  /** Starts `link`, running virtual time until it is up. */
  up(link: Link): Promise<void>;
  /** Starts `link` and returns the error it was refused with. */
  refused(link: Link): Promise<RNodeError>;
  raw(device: { binding: BindingInterface; path: string }): Promise<RNodePort & { frames: KissFrame[] }>;
}

export function createRig(): Rig {
  const time = createSteppedTime();
  const air = createAirPair(time.clock);
  const random = seededRandom(7);
  return {
    time,
    air,
    device(side, options = {}) {
      return createVirtualRNode({ path: newPath(), air: air[side], clock: time.clock, random, ...options });
    },
    link(device, options = {}) {
      const logs: LogLine[] = [];
      const link = createRNodeLink({
        path: device.path,
        binding: device.binding,
        settings: SETTINGS,
        clock: time.clock,
        logger: recordingLogger(logs),
        random,
        ...options,
      });
      const received: ReceivedFrame[] = [];
      link.onFrame((f) => received.push(f));
      return Object.assign(link, { received, logs });
    },
    async station(side, options) {
      const device = this.device(side, options);
      const link = this.link(device);
      await this.up(link);
      return { device, link };
    },
    async up(link) {
      await time.run(link.start());
    },
    async refused(link) {
      const err = await time.run(link.start()).then(
        () => null,
        (e: unknown) => e,
      );
      if (!(err instanceof RNodeError)) throw new Error(`expected an RNodeError, got ${String(err)}`);
      return err;
    },
    async raw(device) {
      const port = await time.run(openRNodePort({ path: device.path, binding: device.binding, clock: time.clock }));
      if (port instanceof RNodeError) throw port;
      const frames: KissFrame[] = [];
      port.onFrame((f) => frames.push(f));
      return Object.assign(port, { frames });
    },
  };
}
