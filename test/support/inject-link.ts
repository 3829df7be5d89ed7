/**
 * A link double for hostile-input tests: the test hands it frames as if the
 * radio had heard them (`inject`), and it keeps every frame the station gave
 * it to send. Nothing goes anywhere; airtime follows the RNode's LoRa formula
 * so the station's duty cycle and timings are those of a real radio.
 */
import type { RadioSettings } from "../../src/radio/air-port.js";
import { rnodeFrameAirtimeMs } from "../../src/radio/airtime.js";
import type { Link, LinkStatus, ReceivedFrame } from "../../src/radio/link.js";

export interface InjectLink extends Link {
  /** Hands `bytes` to the station's receiver at once, as a frame heard with this RSSI and SNR. */
  inject(bytes: Uint8Array, rssi?: number, snr?: number): void;
  /** Every frame the station sent, in order, with when it was handed over. */
  readonly sent: SentFrame[];
}

export interface SentFrame {
  readonly atMs: number;
  readonly bytes: Uint8Array;
}

export function createInjectLink(settings: RadioSettings, now: () => number, mtu = 254): InjectLink {
  let receive: ((frame: ReceivedFrame) => void) | undefined;
  let state: LinkStatus["state"] = "down";
  const sent: SentFrame[] = [];
  let injected = { frames: 0, bytes: 0 };
  return {
    mtu,
    sent,
    airtimeMs: (bytes) => rnodeFrameAirtimeMs(bytes, settings),
    send(frame) {
      if (frame.length > mtu) throw new RangeError(`inject link: a ${frame.length}-byte frame is longer than its mtu of ${mtu}`);
      sent.push({ atMs: now(), bytes: Uint8Array.from(frame) });
    },
    onFrame(next) {
      receive = next;
    },
    inject(bytes, rssi = -100, snr = 5) {
      if (state !== "up" || !receive) throw new Error("inject link: start the station before injecting frames");
      injected = { frames: injected.frames + 1, bytes: injected.bytes + bytes.length };
      receive({ bytes: Uint8Array.from(bytes), rssi, snr });
    },
    start() {
      state = "up";
      return Promise.resolve();
    },
    stop() {
      state = "stopped";
      return Promise.resolve();
    },
    status: () => ({
      kind: "sim",
      target: "inject",
      state,
      framesSent: sent.length,
      framesReceived: injected.frames,
      bytesSent: sent.reduce((a, f) => a + f.bytes.length, 0),
      bytesReceived: injected.bytes,
      dropped: {},
    }),
  };
}
