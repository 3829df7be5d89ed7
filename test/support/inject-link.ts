/**
 * A link double for hostile-input tests: the test hands it frames as if the
 * radio had heard them (`inject`), and it keeps the frames the station gave
 * it to send (every one, or the newest `keepSent` so a run of millions of
 * frames does not grow the test's own memory; `onSend` sees each one).
 * Nothing goes anywhere; airtime follows the RNode's LoRa formula so the
 * station's duty cycle and timings are those of a real radio.
 */
import type { RadioSettings } from "../../src/radio/air-port.js";
import { rnodeFrameAirtimeMs } from "../../src/radio/airtime.js";
import type { Link, LinkStatus, ReceivedFrame } from "../../src/radio/link.js";

export interface InjectLink extends Link {
  /** Hands `bytes` to the station's receiver at once, as a frame heard with this RSSI and SNR. */
  inject(bytes: Uint8Array, rssi?: number, snr?: number): void;
  /** The frames the station sent, in order, with when each was handed over: every one, or the newest `keepSent`. */
  readonly sent: SentFrame[];
  /** How many frames the station sent in all (`sent` may hold only the newest). */
  sentTotal(): number;
}

export interface InjectLinkOptions {
  readonly mtu?: number;
  /** Keep only about this many of the newest sent frames (between it and twice it). */
  readonly keepSent?: number;
  /** Sees every frame the station sends, as it is handed over. */
  readonly onSend?: (frame: SentFrame) => void;
}

export interface SentFrame {
  readonly atMs: number;
  readonly bytes: Uint8Array;
}

export function createInjectLink(settings: RadioSettings, now: () => number, o: InjectLinkOptions = {}): InjectLink {
  const mtu = o.mtu ?? 254;
  const keep = o.keepSent ?? Number.POSITIVE_INFINITY;
  let receive: ((frame: ReceivedFrame) => void) | undefined;
  let state: LinkStatus["state"] = "down";
  const sent: SentFrame[] = [];
  let sentTotal = { frames: 0, bytes: 0 };
  let injected = { frames: 0, bytes: 0 };
  return {
    mtu,
    sent,
    sentTotal: () => sentTotal.frames,
    airtimeMs: (bytes) => rnodeFrameAirtimeMs(bytes, settings),
    send(frame) {
      if (frame.length > mtu) throw new RangeError(`inject link: a ${frame.length}-byte frame is longer than its mtu of ${mtu}`);
      const s = { atMs: now(), bytes: Uint8Array.from(frame) };
      sent.push(s);
      if (sent.length >= 2 * keep) sent.splice(0, sent.length - keep);
      sentTotal = { frames: sentTotal.frames + 1, bytes: sentTotal.bytes + frame.length };
      o.onSend?.(s);
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
      framesSent: sentTotal.frames,
      framesReceived: injected.frames,
      bytesSent: sentTotal.bytes,
      bytesReceived: injected.bytes,
      dropped: {},
    }),
  };
}
