/**
 * KISS framing as the RNode firmware speaks it: `FEND <command> <escaped
 * payload> FEND`, with a bare command byte (no TNC port nibble) and FEND/FESC
 * escaped inside the payload. Multi-byte fields are big-endian; that is the
 * caller's business, this module only moves bytes.
 */

/** Frame delimiter; it both opens and closes a frame, and two frames may share one. */
export const FEND = 0xc0;
/** Escape byte. */
export const FESC = 0xdb;
/** `FESC TFEND` stands for a literal FEND. */
export const TFEND = 0xdc;
/** `FESC TFESC` stands for a literal FESC. */
export const TFESC = 0xdd;

/**
 * Largest payload the decoder keeps. Twice the RNode's 508-byte host MTU: no
 * legitimate frame is cut, and a stream with lost FENDs cannot grow a frame
 * without bound.
 */
export const KISS_MAX_PAYLOAD = 1024;

/**
 * Silence (ms) after which a half-received frame is thrown away, as
 * Reticulum's RNode driver does: a device that reset mid-frame must not glue
 * its next frame onto the stale half.
 */
export const KISS_PARTIAL_TIMEOUT_MS = 100;

/** One decoded frame: the command byte and the unescaped payload. */
export interface KissFrame {
  readonly command: number;
  readonly payload: Uint8Array;
}

/** What the decoder saw since it was made. */
export interface KissDecoderCounts {
  /** Frames decoded and returned. */
  frames: number;
  /** Frames dropped because their payload exceeded the bound. */
  oversize: number;
  /** Frames dropped because FESC was followed by something other than TFEND/TFESC. */
  badEscapes: number;
  /** Partial frames discarded after a silence. */
  timedOut: number;
}

function escapeInto(out: Uint8Array, at: number, payload: Uint8Array): number {
  let i = at;
  for (const byte of payload) {
    if (byte === FEND) {
      out[i++] = FESC;
      out[i++] = TFEND;
    } else if (byte === FESC) {
      out[i++] = FESC;
      out[i++] = TFESC;
    } else {
      out[i++] = byte;
    }
  }
  return i;
}

/** Encodes one frame, FEND at both ends. */
export function encodeKissFrame(command: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeKissFrames([{ command, payload }]);
}

/**
 * Encodes several frames back to back, each pair sharing one FEND, as the
 * RNode detect burst is sent (`C0 08 73 C0 50 00 C0 …`).
 */
export function encodeKissFrames(frames: readonly KissFrame[]): Uint8Array {
  const worst = frames.reduce((n, f) => n + 2 + 2 * f.payload.length, 1);
  const out = new Uint8Array(worst);
  let i = 0;
  out[i++] = FEND;
  for (const frame of frames) {
    out[i++] = frame.command & 0xff;
    i = escapeInto(out, i, frame.payload);
    out[i++] = FEND;
  }
  return out.slice(0, i);
}

/** Options of a {@link KissDecoder}. */
export interface KissDecoderOptions {
  /** Current time (ms) on the caller's clock; used only for the partial-frame timeout. */
  readonly now: () => number;
  /** Largest payload kept; longer frames are dropped and counted. */
  readonly maxPayload?: number;
  /** Silence after which a partial frame is discarded. */
  readonly partialTimeoutMs?: number;
}

/**
 * A streaming decoder: feed it byte chunks as they arrive, cut anywhere, and
 * it returns the whole frames they complete. Malformed input is never thrown:
 * it is dropped and counted in {@link KissDecoder.counts}.
 */
export class KissDecoder {
  readonly counts: KissDecoderCounts = { frames: 0, oversize: 0, badEscapes: 0, timedOut: 0 };
  private readonly buffer: Uint8Array;
  private readonly partialTimeoutMs: number;
  private length = 0;
  private inFrame = false;
  private command: number | null = null;
  private escape = false;
  private fault: "oversize" | "bad-escape" | null = null;
  private lastByteAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: KissDecoderOptions) {
    this.buffer = new Uint8Array(options.maxPayload ?? KISS_MAX_PAYLOAD);
    this.partialTimeoutMs = options.partialTimeoutMs ?? KISS_PARTIAL_TIMEOUT_MS;
  }

  /** Decodes `chunk`; returns the frames it completes, in order. */
  push(chunk: Uint8Array): KissFrame[] {
    const frames: KissFrame[] = [];
    if (chunk.length === 0) return frames;
    const now = this.options.now();
    if (this.command !== null && now - this.lastByteAt > this.partialTimeoutMs) {
      this.counts.timedOut++;
      this.forget();
      this.inFrame = false;
    }
    for (const byte of chunk) {
      const frame = this.take(byte);
      if (frame) frames.push(frame);
    }
    this.lastByteAt = now;
    return frames;
  }

  /** Forgets any partial frame and waits for the next FEND (a new connection starts clean). */
  reset(): void {
    this.forget();
    this.inFrame = false;
  }

  private take(byte: number): KissFrame | null {
    if (byte === FEND) {
      const frame = this.finish();
      this.inFrame = true;
      return frame;
    }
    if (!this.inFrame) return null; // noise before the first FEND
    if (this.command === null) {
      this.command = byte;
      return null;
    }
    if (this.fault) return null;
    if (this.escape) {
      this.escape = false;
      if (byte === TFEND) this.append(FEND);
      else if (byte === TFESC) this.append(FESC);
      else this.fault = "bad-escape";
    } else if (byte === FESC) {
      this.escape = true;
    } else {
      this.append(byte);
    }
    return null;
  }

  private append(byte: number): void {
    if (this.length >= this.buffer.length) {
      this.fault = "oversize";
      return;
    }
    this.buffer[this.length++] = byte;
  }

  private finish(): KissFrame | null {
    const command = this.command;
    if (command === null) return null; // FEND FEND: frames sharing a delimiter, or idle fill
    if (this.escape) this.fault = "bad-escape"; // FESC right before the closing FEND
    const fault = this.fault;
    const payload = this.buffer.slice(0, this.length);
    this.forget();
    if (fault === "oversize") this.counts.oversize++;
    if (fault === "bad-escape") this.counts.badEscapes++;
    if (fault) return null;
    this.counts.frames++;
    return { command, payload };
  }

  private forget(): void {
    this.length = 0;
    this.command = null;
    this.escape = false;
    this.fault = null;
  }
}
