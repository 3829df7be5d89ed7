/**
 * What a station under test puts on the air, checked frame by frame as it
 * sends (so a run of millions of frames need not keep them): whether a
 * member can open each one, how many are fragments, and the most airtime
 * used in any window of the duty-cycle length.
 */
import { FRAME_KIND, KIND_MASK, OFFSET } from "../../src/radio/air/constants.js";
import { createFrameCodec } from "../../src/radio/air/frame.js";
import { deriveFrameKey } from "../../src/radio/air/network-key.js";
import type { SentFrame } from "./inject-link.js";

export interface SendWatch {
  /** Frames seen. */
  readonly frames: number;
  readonly fragments: number;
  /** Kinds of the frames a member could not open (none, for a well-behaved station). */
  readonly unopenable: number[];
  /** The most airtime (ms) sent in any window of `windowMs`. */
  readonly worstWindowMs: number;
  observe(frame: SentFrame): void;
}

export interface SendWatchOptions {
  readonly networkId: number;
  readonly networkKey: Uint8Array | null;
  readonly airtimeMs: (bytes: number) => number;
  readonly windowMs: number;
}

export function createSendWatch(o: SendWatchOptions): SendWatch {
  const key = o.networkKey ? deriveFrameKey(o.networkKey) : null;
  const opener = createFrameCodec({ networkId: o.networkId, stationId: Uint8Array.of(1, 2, 3, 4), frameKey: key, requireSealed: key !== null, mtu: 254, nonceStart: new Uint8Array(8) });
  // Spans within the window ending at the newest frame, oldest first (frames are sent in time order and never overlap).
  const spans: { start: number; ms: number }[] = [];
  let first = 0;
  let sum = 0;
  const w = { frames: 0, fragments: 0, unopenable: [] as number[], worstWindowMs: 0 };
  return {
    get frames() { return w.frames; },
    get fragments() { return w.fragments; },
    get unopenable() { return w.unopenable; },
    get worstWindowMs() { return w.worstWindowMs; },
    observe({ atMs, bytes }) {
      w.frames++;
      const kind = (bytes[OFFSET.type] ?? 0) & KIND_MASK;
      if (kind === FRAME_KIND.fragment) w.fragments++;
      if (!opener.open(bytes).ok) w.unopenable.push(kind);
      const span = { start: atMs, ms: o.airtimeMs(bytes.length) };
      spans.push(span);
      sum += span.ms;
      // The busiest window ends where a frame ends: drop what ended before it began, and cut the one it begins inside.
      const from = span.start + span.ms - o.windowMs;
      for (let head = spans[first]; head && head.start + head.ms <= from; head = spans[first]) {
        sum -= head.ms;
        first++;
      }
      if (first > 1024 && first * 2 > spans.length) {
        spans.splice(0, first);
        first = 0;
      }
      const oldest = spans[first] as { start: number };
      w.worstWindowMs = Math.max(w.worstWindowMs, sum - Math.max(0, from - oldest.start));
    },
  };
}
