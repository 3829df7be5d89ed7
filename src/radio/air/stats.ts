/**
 * Counters of the air codec, for the status API and metrics. Every received
 * frame ends in exactly one of `framesDecoded` or `dropped[reason]`, so
 * framesReceived = framesDecoded + Σ dropped.
 */
import type { FrameDropReason } from "./frame.js";

/** Why a received frame was not used. */
export type AirDropReason =
  | FrameDropReason
  /** Our own station id as sender: an echo of our frame re-sent by another station, or a replay. */
  | "own-echo"
  | "malformed-fragment"
  | "malformed-nack"
  /** A new message would exceed the reassembly bounds (per sender, overall, bytes). */
  | "reassembly-full";

/** Why a message in reassembly was given up. */
export type PartialDropReason =
  /** It did not grow for limits.partialTtlMs. */
  | "expired"
  /** All fragments arrived but the whole-message CRC-32 failed (fragments of two messages that shared an id). */
  | "bad-check"
  /** Its first fragment showed nothing this station lacks (AirCodecOptions.wanted). */
  | "unwanted";

export interface AirStats {
  /** Frames built by this station (whole messages, fragments, nacks); re-sent frames are not built again. */
  framesEncoded: number;
  framesReceived: number;
  /** Received frames that passed every check and were used. */
  framesDecoded: number;
  messagesEncoded: number;
  /** Of messagesEncoded, those sent as fragments. */
  messagesFragmented: number;
  fragmentsEncoded: number;
  /** New fragments stored (duplicates not included). */
  fragmentsReceived: number;
  fragmentsDuplicate: number;
  /** Messages handed to the caller, whole or reassembled. */
  messagesDelivered: number;
  messagesReassembled: number;
  nacksSent: number;
  nacksReceived: number;
  /** Our pending nacks postponed because another station's nack asked for all we miss. */
  nacksSuppressed: number;
  /** Nacks for which this station scheduled a re-send (it held the message). */
  nacksAnswered: number;
  /** Nacks not answered because the nacker already has what the message carries (AirCodecOptions.onNacked). */
  nacksRefused: number;
  fragmentsResent: number;
  /** Fragments we were about to re-send but overheard from another station first. */
  resendsSuppressed: number;
  dropped: Record<AirDropReason, number>;
  partialsDropped: Record<PartialDropReason, number>;
}

export function createStats(): AirStats {
  return {
    framesEncoded: 0, framesReceived: 0, framesDecoded: 0,
    messagesEncoded: 0, messagesFragmented: 0, fragmentsEncoded: 0,
    fragmentsReceived: 0, fragmentsDuplicate: 0, messagesDelivered: 0, messagesReassembled: 0,
    nacksSent: 0, nacksReceived: 0, nacksSuppressed: 0, nacksAnswered: 0, nacksRefused: 0,
    fragmentsResent: 0, resendsSuppressed: 0,
    dropped: {
      "too-short": 0, "too-long": 0, "bad-version": 0, "foreign-network": 0, "bad-type": 0,
      "unsealed-refused": 0, "no-key": 0, "bad-integrity": 0, "auth-failed": 0,
      "own-echo": 0, "malformed-fragment": 0, "malformed-nack": 0, "reassembly-full": 0,
    },
    partialsDropped: { expired: 0, "bad-check": 0, unwanted: 0 },
  };
}

/** Sum of all frame drops. */
export function totalDropped(stats: Readonly<AirStats>): number {
  return Object.values(stats.dropped).reduce((a, b) => a + b, 0);
}
