/**
 * A Link straight onto the simulated air: what an RNode does to a host frame
 * (header byte, split above 254 bytes, one packet at a time, carrier sense),
 * without the serial layer, so large simulations stay fast.
 */
import type { AirPort, RadioSettings } from "./air-port.js";
import { RNODE_HEADER_BYTES, RNODE_MAX_PAYLOAD, RNODE_SINGLE_PAYLOAD, rnodeFrameAirtimeMs, symbolMs } from "./airtime.js";
import type { CancelTimer, Clock } from "./clock.js";
import type { Link, LinkStatus, ReceivedFrame } from "./link.js";
import type { LoRaMedium } from "./lora-medium.js";
import { seededRandom } from "../engine/random.js";

/** The RNode firmware's header: a random 4-bit sequence number above a flags nibble (Framing.h). */
const NIBBLE_SEQ = 0xf0;
const FLAG_SPLIT = 0x01;

/** Frames waiting behind the one on the air: the smallest RNode TX queue (24 packets on some boards). */
export const DEFAULT_SIM_QUEUE_FRAMES = 24;

/** RNode CSMA (ESP32/NRF52 firmware): a slot is 12 symbols, clamped to 24..100 ms; DIFS is 2 slots; a window of 15 slots. */
const CSMA_SLOT_SYMBOLS = 12;
const CSMA_SLOT_MIN_MS = 24;
const CSMA_SLOT_MAX_MS = 100;
const CSMA_DIFS_SLOTS = 2;
const CSMA_WINDOW_SLOTS = 15;

/** Seed for the header sequence nibbles when no random source is given: runs stay reproducible. */
const DEFAULT_SEQUENCE_SEED = 0x5eed;

export type SimLinkOptions = ({ readonly medium: LoRaMedium } | { readonly port: AirPort }) & {
  /** The station id on the medium (and the status target). */
  readonly id: string;
  readonly settings: RadioSettings;
  readonly clock: Clock;
  /** Largest frame accepted: 254 (one packet, the default) up to 508 (split into two packets, as the firmware does). */
  readonly mtu?: number;
  /** Frames that may wait behind the one on the air; more are dropped and counted. Default 24. */
  readonly queueLimit?: number;
  /** Carrier sense before each frame, as ESP32/NRF52 RNodes do: wait random slots while the channel is busy. Default true. */
  readonly csma?: boolean;
  /** Uniform [0, 1) source for header sequence numbers and CSMA back-off. */
  readonly random?: () => number;
};

/** The frame being put on the air: its packets and how many went out. */
interface Outgoing {
  readonly bytes: number;
  readonly packets: Uint8Array[];
  next: number;
}

/** Header and split as the firmware's transmit(): one packet up to 254 bytes, else two with the split flag. */
export function splitIntoPackets(frame: Uint8Array, sequence: number): Uint8Array[] {
  const split = frame.length > RNODE_SINGLE_PAYLOAD;
  const header = (sequence & NIBBLE_SEQ) | (split ? FLAG_SPLIT : 0);
  const parts = split ? [frame.subarray(0, RNODE_SINGLE_PAYLOAD), frame.subarray(RNODE_SINGLE_PAYLOAD)] : [frame];
  return parts.map((part) => {
    const packet = new Uint8Array(RNODE_HEADER_BYTES + part.length);
    packet[0] = header;
    packet.set(part, RNODE_HEADER_BYTES);
    return packet;
  });
}

/**
 * Joins split halves like the firmware: a half waits for the next half with
 * the same sequence number; a different one replaces it and an unsplit packet
 * discards it (no timeout, no length check). Returns whole frames.
 */
function createReassembler(dropHalf: () => void) {
  let pending: { seq: number; bytes: Uint8Array; rssi: number; snr: number } | null = null;
  return (packet: Uint8Array, rssi: number, snr: number): ReceivedFrame | undefined => {
    const header = packet[0] ?? 0;
    const payload = packet.slice(RNODE_HEADER_BYTES);
    if ((header & FLAG_SPLIT) === 0) {
      if (pending) dropHalf();
      pending = null;
      return { bytes: payload, rssi, snr };
    }
    const seq = header & NIBBLE_SEQ;
    if (pending?.seq === seq) {
      const bytes = new Uint8Array(pending.bytes.length + payload.length);
      bytes.set(pending.bytes);
      bytes.set(payload, pending.bytes.length);
      // The AVR firmware reports the mean of the two halves' RSSI and SNR.
      const frame = { bytes, rssi: (pending.rssi + rssi) / 2, snr: (pending.snr + snr) / 2 };
      pending = null;
      return frame;
    }
    if (pending) dropHalf();
    pending = { seq, bytes: payload, rssi, snr };
    return undefined;
  };
}

function csmaSlotMs(settings: RadioSettings): number {
  return Math.min(CSMA_SLOT_MAX_MS, Math.max(CSMA_SLOT_MIN_MS, CSMA_SLOT_SYMBOLS * symbolMs(settings)));
}

/**
 * Creates the link; it attaches to the medium (if given one) on first start.
 * Frames go out one at a time in send order; a stopped link keeps its queue
 * and sends it after the next start.
 */
export function createSimLink(options: SimLinkOptions): Link {
  const { id, settings, clock } = options;
  const mtu = options.mtu ?? RNODE_SINGLE_PAYLOAD;
  if (!Number.isInteger(mtu) || mtu < 1 || mtu > RNODE_MAX_PAYLOAD) {
    throw new RangeError(`sim link ${id}: mtu must be 1..${RNODE_MAX_PAYLOAD}, got ${mtu}`);
  }
  const queueLimit = options.queueLimit ?? DEFAULT_SIM_QUEUE_FRAMES;
  const csma = options.csma ?? true;
  const random = options.random ?? seededRandom(DEFAULT_SEQUENCE_SEED);
  let port = "port" in options ? options.port : undefined;
  let state: LinkStatus["state"] = "down";
  let receive: (frame: ReceivedFrame) => void = () => {};
  let transmitted: (airtimeMs: number) => void = () => {};
  const queue: Uint8Array[] = [];
  let outgoing: Outgoing | null = null;
  let backoff: CancelTimer | null = null;
  const counts = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, packetsSent: 0, airtimeMs: 0 };
  const dropped: Record<string, number> = {};
  const drop = (reason: string) => void (dropped[reason] = (dropped[reason] ?? 0) + 1);
  const reassemble = createReassembler(() => drop("orphan-half"));

  function onPacket(packet: Uint8Array, rssi: number, snr: number): void {
    const frame = reassemble(packet, rssi, snr);
    if (!frame || state !== "up") return;
    counts.framesReceived++;
    counts.bytesReceived += frame.bytes.length;
    receive(frame);
  }

  function pump(): void {
    if (state !== "up" || outgoing || backoff || queue.length === 0 || !port) return;
    if (csma && port.channelBusy()) {
      const slots = CSMA_DIFS_SLOTS + Math.floor(random() * CSMA_WINDOW_SLOTS);
      backoff = clock.at(clock.now() + slots * csmaSlotMs(settings), () => {
        backoff = null;
        pump();
      });
      return;
    }
    const frame = queue.shift() as Uint8Array;
    outgoing = { bytes: frame.length, packets: splitIntoPackets(frame, Math.floor(random() * 256)), next: 0 };
    sendNextPacket(port, outgoing);
  }

  function sendNextPacket(air: AirPort, out: Outgoing): void {
    if (out.next === 0) transmitted(rnodeFrameAirtimeMs(out.bytes, settings));
    const airtimeMs = air.transmit(out.packets[out.next++] as Uint8Array, settings);
    counts.packetsSent++;
    counts.airtimeMs += airtimeMs;
    clock.at(clock.now() + airtimeMs, () => afterPacket(air, out));
  }

  function afterPacket(air: AirPort, out: Outgoing): void {
    if (out.next < out.packets.length && state === "up") return sendNextPacket(air, out);
    if (out.next < out.packets.length) drop("stopped-mid-frame");
    else {
      counts.framesSent++;
      counts.bytesSent += out.bytes;
    }
    outgoing = null;
    pump();
  }

  return {
    mtu,
    airtimeMs: (bytes) => rnodeFrameAirtimeMs(bytes, settings),
    send(frame) {
      if (frame.length > mtu) throw new RangeError(`sim link ${id}: frame of ${frame.length} bytes exceeds mtu ${mtu}`);
      if (queue.length >= queueLimit) return drop("queue-full");
      queue.push(frame.slice());
      pump();
    },
    onFrame(next) {
      receive = next;
    },
    onTransmit(listener) {
      transmitted = listener;
    },
    async start() {
      if (state === "up") return;
      port ??= "medium" in options ? options.medium.attach(id) : undefined;
      port?.onPacket(onPacket);
      port?.tune(settings);
      state = "up";
      pump();
    },
    async stop() {
      if (state === "stopped") return;
      state = "stopped";
      port?.tune(null);
      backoff?.();
      backoff = null;
    },
    status: () => ({
      kind: "sim",
      target: id,
      state,
      ...(state === "down" ? { reason: "not started yet" } : {}),
      framesSent: counts.framesSent,
      framesReceived: counts.framesReceived,
      bytesSent: counts.bytesSent,
      bytesReceived: counts.bytesReceived,
      dropped: { ...dropped },
      details: { settings, queued: queue.length, packetsSent: counts.packetsSent, airtimeMs: counts.airtimeMs, csma },
    }),
  };
}
