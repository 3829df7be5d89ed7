/**
 * What an RNode tells its host besides data: RSSI and SNR ahead of each
 * received packet, periodic channel, PHY, CSMA, battery and temperature
 * reports, and error codes. This turns those frames into the values the
 * link's status shows, and pairs each DATA frame with the signal report that
 * preceded it.
 */
import type { ReceivedFrame } from "../link.js";
import type { KissFrame } from "../kiss.js";
import {
  type Battery,
  type ChannelStats,
  Command,
  type CsmaParams,
  errorCodeName,
  parseBattery,
  parseChannelStats,
  parseCsma,
  parsePhyParams,
  parseTemperature,
  type PhyParams,
  rssiFromByte,
  snrFromByte,
} from "./commands.js";

/** The latest reports, for status. */
export interface TelemetrySnapshot {
  readonly channel: ChannelStats | null;
  readonly phy: PhyParams | null;
  readonly csma: CsmaParams | null;
  readonly battery: Battery | null;
  readonly temperatureC: number | null;
  /** Error frames seen, by code name (INITRADIO, TXFAILED…). */
  readonly errors: Readonly<Record<string, number>>;
}

/** The device's reports as they stand; one per link, kept across reconnects. */
export class RNodeTelemetry {
  private channel: ChannelStats | null = null;
  private phy: PhyParams | null = null;
  private csma: CsmaParams | null = null;
  private battery: Battery | null = null;
  private temperatureC: number | null = null;
  private readonly errors: Record<string, number> = {};
  private rssi: number | undefined;
  private snr: number | undefined;

  /**
   * Takes one frame from the device. Returns the received frame when it is
   * DATA (with the most recent RSSI/SNR, which are then forgotten); records
   * reports and returns null otherwise. Unknown commands are ignored.
   */
  take(frame: KissFrame): ReceivedFrame | null {
    const p = frame.payload;
    switch (frame.command) {
      case Command.DATA:
        return this.data(p);
      case Command.STAT_RSSI:
        if (p.length === 1) this.rssi = rssiFromByte(p[0] ?? 0);
        break;
      case Command.STAT_SNR:
        if (p.length === 1) this.snr = snrFromByte(p[0] ?? 0);
        break;
      case Command.STAT_CHTM:
        this.channel = parseChannelStats(p) ?? this.channel;
        break;
      case Command.STAT_PHYPRM:
        this.phy = parsePhyParams(p) ?? this.phy;
        break;
      case Command.STAT_CSMA:
        this.csma = parseCsma(p) ?? this.csma;
        break;
      case Command.STAT_BAT:
        this.battery = parseBattery(p) ?? this.battery;
        break;
      case Command.STAT_TEMP:
        this.temperatureC = parseTemperature(p) ?? this.temperatureC;
        break;
      case Command.ERROR:
        if (p[0] !== undefined) this.countError(p[0]);
        break;
    }
    return null;
  }

  /** Forgets a half-received signal report (a new connection starts clean). */
  forgetSignal(): void {
    this.rssi = undefined;
    this.snr = undefined;
  }

  snapshot(): TelemetrySnapshot {
    const { channel, phy, csma, battery, temperatureC } = this;
    return { channel, phy, csma, battery, temperatureC, errors: { ...this.errors } };
  }

  private data(bytes: Uint8Array): ReceivedFrame | null {
    if (bytes.length === 0) return null;
    const frame: ReceivedFrame = {
      bytes,
      ...(this.rssi !== undefined ? { rssi: this.rssi } : {}),
      ...(this.snr !== undefined ? { snr: this.snr } : {}),
    };
    this.forgetSignal();
    return frame;
  }

  private countError(code: number): void {
    const name = errorCodeName(code);
    this.errors[name] = (this.errors[name] ?? 0) + 1;
  }
}
