/**
 * Bounds and timings of the air codec, with their defaults. Bounds cap memory
 * under any input; timings should be set by the station from the link's
 * airtime, since a stall at SF7 is a tenth of one at SF12.
 */

/** Memory bounds. Every one holds whatever frames arrive; beyond them frames or partials are dropped and counted. */
export interface AirLimits {
  /** Messages one sender may have in reassembly at once (one noisy member cannot take the whole buffer). */
  readonly maxPartialsPerSender: number;
  /** Messages in reassembly at once, all senders. */
  readonly maxPartials: number;
  /**
   * Bytes reserved by messages in reassembly. A partial reserves its worst
   * case (count × (mtu + chunk)) when it starts, so one admitted can always
   * finish, and what is held never exceeds this.
   */
  readonly maxReassemblyBytes: number;
  /** A partial that has not grown for this long is dropped (counted as expired). */
  readonly partialTtlMs: number;
  /** Nacks this station sends for one message before it only waits. */
  readonly maxNackRetries: number;
  /** Fragmented messages kept to answer nacks, in each of two caches: our own, and others' we reassembled. */
  readonly maxHeldMessages: number;
  /** Bytes of frames kept in each of those caches. */
  readonly maxHeldBytes: number;
  /** How long a held message stays answerable. */
  readonly heldTtlMs: number;
  /** Completed message keys remembered, so late re-sent fragments of them do not start a new partial. */
  readonly maxRecentKeys: number;
}

/** Timings, in ms on the injected clock. */
export interface AirTiming {
  /**
   * A partial with no new fragment for this long has stalled: nack it. Set it
   * to a few frame airtimes plus channel-access slack (link.airtimeMs(mtu) × 3).
   * Each wait is drawn from [stallMs, 2·stallMs) so receivers that lost the
   * same fragment spread their nacks and one can suppress the others, and it
   * doubles with every nack already sent, up to NACK_BACKOFF_MAX_DOUBLINGS
   * times (the sender may be held by its duty-cycle budget).
   */
  readonly stallMs: number;
  /**
   * A station that did not send a message but holds it complete answers a
   * nack for it after a random delay in [answerDelayMs, 2·answerDelayMs), so
   * the origin, which answers at once, usually goes first and suppresses it.
   */
  readonly answerDelayMs: number;
  /**
   * Least wait before a repeated nack for one message: the time its sender
   * may need before it can answer. Under a duty-cycle budget set it to what
   * the budget takes to earn a frame (frame airtime / duty), or a nack is
   * repeated several times before the sender may send anything at all.
   */
  readonly nackRepeatMs: number;
}

export const DEFAULT_LIMITS: AirLimits = {
  maxPartialsPerSender: 4, // a member has a message or two in flight; 4 leaves room for a restart
  maxPartials: 32, // tens of members, most quiet at any moment
  maxReassemblyBytes: 1024 * 1024, // ~2 largest messages at worst-case reservation; a server has the RAM
  partialTtlMs: 30 * 60_000, // a large message under a 1 % duty cycle can take tens of minutes
  maxNackRetries: 6, // with doubling waits, ~2^6 stalls: past that, the sync layer re-requests anyway
  maxHeldMessages: 16, // recently fragmented messages; older ones are re-requested by the sync layer
  maxHeldBytes: 512 * 1024,
  heldTtlMs: 30 * 60_000, // as long as a receiver may keep the partial alive
  maxRecentKeys: 256, // a few keys a minute for the TTL window
};

export const DEFAULT_TIMING: AirTiming = {
  stallMs: 4_000, // 3 × a full frame at SF9/125 kHz (~1.3 s)
  answerDelayMs: 2_000, // longer than the origin needs to start its answer
  nackRepeatMs: 8_000, // 2 × stallMs: no duty-cycle wait assumed
};

/** Limits with defaults filled in; throws RangeError on a bound below 1 (below 0 for maxNackRetries): a programmer error. */
export function resolveLimits(limits: Partial<AirLimits> | undefined): AirLimits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(out)) {
    const zeroOk = name === "maxNackRetries";
    if (!Number.isFinite(value) || value < (zeroOk ? 0 : 1)) {
      throw new RangeError(`air codec limit ${name} must be a ${zeroOk ? "non-negative" : "positive"} number, got ${value}`);
    }
  }
  return out;
}

/** Timings with defaults filled in; throws RangeError on a non-positive one. */
export function resolveTiming(timing: Partial<AirTiming> | undefined): AirTiming {
  const out = { ...DEFAULT_TIMING, ...timing };
  for (const [name, value] of Object.entries(out)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`air codec timing ${name} must be positive, got ${value}`);
  }
  return out;
}
