/** A simulated LoRa air under virtual time, shared by the radio tests. */
import type { RadioSettings } from "../../src/radio/air-port.js";
import { virtualClock, type Clock } from "../../src/radio/clock.js";
import { createLoRaMedium, type LoRaMedium, type LoRaMediumOptions } from "../../src/radio/lora-medium.js";
import { VirtualScheduler } from "../../src/radio/virtual-time.js";
import { seededRandom } from "../../src/engine/random.js";

/** EU 868.1 MHz, SF7, 125 kHz, 4/5, 14 dBm: a common RNode setting. */
export const SF7_868: RadioSettings = { frequency: 868_100_000, bandwidth: 125_000, sf: 7, cr: 5, txPower: 14 };

export interface VirtualAir {
  readonly scheduler: VirtualScheduler;
  readonly clock: Clock;
  readonly medium: LoRaMedium;
  /** Runs the simulation until nothing is scheduled. */
  settle(): void;
  /** Runs the simulation up to `atMs` (absolute virtual time). */
  runUntil(atMs: number): void;
}

export function createVirtualAir(seed = 1, options: Partial<Omit<LoRaMediumOptions, "clock" | "random">> = {}): VirtualAir {
  const scheduler = new VirtualScheduler();
  const clock = virtualClock(scheduler);
  const medium = createLoRaMedium({ clock, random: seededRandom(seed), ...options });
  return {
    scheduler,
    clock,
    medium,
    settle: () => void scheduler.run({ until: Number.POSITIVE_INFINITY }),
    runUntil: (atMs) => void scheduler.run({ until: atMs }),
  };
}
