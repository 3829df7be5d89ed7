/**
 * A link moves frames between this station and whoever hears it: an RNode on
 * a serial port, a virtual RNode on the simulated LoRa medium, or UDP on a
 * LAN. The station above it sees only this interface, and the same contract
 * test suite runs against every implementation.
 */

/** One frame as it arrived, with what the radio measured while receiving it. */
export interface ReceivedFrame {
  readonly bytes: Uint8Array;
  /** Received signal strength (dBm), when the link measures it. */
  readonly rssi?: number;
  /** Signal-to-noise ratio (dB), when the link measures it. */
  readonly snr?: number;
}

/** What a link reports about itself for the status API. */
export interface LinkStatus {
  readonly kind: "rnode" | "sim" | "udp";
  /** Where it is attached: a serial port path, a UDP address, a simulated station id. */
  readonly target: string;
  readonly state: "starting" | "up" | "down" | "stopped";
  /** Why it is down, in words a user can act on. */
  readonly reason?: string;
  readonly framesSent: number;
  readonly framesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Frames the link dropped on receive (malformed at its own layer), by reason. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Link-specific facts: firmware and platform, radio settings, channel load, battery… */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Link {
  /** Largest frame `send` accepts, in bytes. */
  readonly mtu: number;
  /**
   * Time on air (ms) of a frame of `bytes` bytes: what the station books
   * against the duty-cycle budget and waits out before its next frame, since
   * a half-duplex radio neither sends two frames at once nor hears while it
   * sends. Zero for links that are not radios (UDP).
   */
  airtimeMs(bytes: number): number;
  /**
   * Hands one frame to the link to transmit. Never throws for a link that is
   * down: a frame sent while the link is down is queued (bounded) and goes out
   * once it is back, or is dropped and counted when the queue is full (or, for
   * a radio, when it waited so long that its booked airtime has aged). Throws
   * RangeError when `frame` is longer than `mtu` (a programmer's error).
   */
  send(frame: Uint8Array): void;
  /**
   * Sets the one listener told when a frame really starts going on the air
   * (after carrier sense and queueing), with its time on air: the station
   * books airtime against the duty-cycle budget at that moment, so what the
   * budget counts is what the air carried. Links that are not radios need not
   * implement it (the station then books at hand-off).
   */
  onTransmit?(listener: (airtimeMs: number) => void): void;
  /** Sets the one receiver of incoming frames (replacing any earlier one). */
  onFrame(receive: (frame: ReceivedFrame) => void): void;
  start(): Promise<void>;
  /** Stops cleanly (an RNode: radio off, then "host left"); idempotent. */
  stop(): Promise<void>;
  status(): LinkStatus;
}
