/**
 * Two listeners on the simulated LoRa air: the eavesdropper, who keeps every
 * packet put on it (what anyone with a receiver on the band captures), and
 * the insider, who holds the network key (when there is one) and reassembles
 * every sync message those packets carried.
 */
import { createAirCodec } from "../../src/radio/air/codec.js";
import { RNODE_HEADER_BYTES } from "../../src/radio/airtime.js";
import type { Clock } from "../../src/radio/clock.js";
import type { LoRaMedium, TappedPacket } from "../../src/radio/lora-medium.js";

/** A station id no site has. */
const INSIDER_ID = Uint8Array.of(0xee, 0xee, 0xee, 0xee);

export interface AirListeners {
  /** Every packet on the air, as captured (RNode header byte included). */
  readonly packets: TappedPacket[];
  /** The frames those packets carried, as the stations' codecs built them. */
  readonly frames: Uint8Array[];
  /** Every distinct sync message carried, whole or reassembled (sealed ones opened with the key). */
  readonly messages: Uint8Array[];
  stop(): void;
}

export function listenToAir(medium: LoRaMedium, o: { clock: Clock; networkId: number; networkKey: Uint8Array | null }): AirListeners {
  const insider = createAirCodec({
    networkId: o.networkId, stationId: INSIDER_ID, networkKey: o.networkKey, requireSealed: false, clock: o.clock,
    random: () => 0.5, randomBytes: (n) => new Uint8Array(n),
  });
  const packets: TappedPacket[] = [];
  const frames: Uint8Array[] = [];
  const messages = new Map<string, Uint8Array>();
  const stop = medium.tap((p) => {
    packets.push(p);
    // Frames of up to 254 bytes (every codec's default mtu) travel as one packet behind the RNode's header byte.
    const frame = p.bytes.slice(RNODE_HEADER_BYTES);
    frames.push(frame);
    const r = insider.receive(frame);
    if (r.kind === "message") messages.set(Buffer.from(r.message).toString("hex"), r.message);
  });
  return {
    packets, frames, stop,
    get messages() {
      return [...messages.values()];
    },
  };
}
