/**
 * Where a (virtual) radio meets the simulated air: the LoRa medium gives each
 * attached radio one port. Packets here are whole LoRa packets as the air
 * carries them (at most 255 bytes, RNode header byte included).
 */
import type { LoRaModulation } from "./airtime.js";

/** Everything about a radio's tuning that decides who hears whom. */
export interface RadioSettings extends LoRaModulation {
  /** Centre frequency in Hz. */
  readonly frequency: number;
  /** Transmit power in dBm. */
  readonly txPower: number;
}

export interface AirPort {
  /**
   * Starts sending one packet now; returns its time on air (ms). Stations
   * tuned alike that hear this one receive it when it ends, unless it was lost,
   * collided at them, or they were sending themselves meanwhile.
   */
  transmit(packet: Uint8Array, settings: RadioSettings): number;
  /** What the receiver listens to; null switches it off (it hears nothing). */
  tune(settings: RadioSettings | null): void;
  /** Sets the one receiver of packets heard, with the link's RSSI (dBm) and SNR (dB). */
  onPacket(receive: (packet: Uint8Array, rssi: number, snr: number) => void): void;
  /** Whether this port hears a transmission in progress now (carrier sense, for CSMA). */
  channelBusy(): boolean;
  /** Leaves the air for good. */
  detach(): void;
}
