/**
 * An eavesdropper's audit of the simulated air: every packet each station put
 * on it, and the most airtime any station used in any window — measured from
 * what really went on the air, not from the stations' own bookkeeping.
 */
import type { LoRaMedium, TappedPacket } from "../../src/radio/lora-medium.js";

export interface AirtimeAudit {
  readonly packets: TappedPacket[];
  /** The largest airtime (ms) `station` used in any window of `windowMs`. */
  maxWindowAirtime(station: string, windowMs: number): number;
  stop(): void;
}

export function auditAir(medium: LoRaMedium): AirtimeAudit {
  const packets: TappedPacket[] = [];
  const stop = medium.tap((p) => packets.push(p));
  return {
    packets,
    maxWindowAirtime(station, windowMs) {
      const mine = packets.filter((p) => p.sender === station).map((p) => [p.atMs, p.atMs + p.airtimeMs] as const);
      let worst = 0;
      // The busiest window ends where some transmission ends.
      for (const [, end] of mine) {
        const from = end - windowMs;
        let sum = 0;
        for (const [s, e] of mine) sum += Math.max(0, Math.min(e, end) - Math.max(s, from));
        worst = Math.max(worst, sum);
      }
      return worst;
    },
    stop,
  };
}
