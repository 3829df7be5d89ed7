/**
 * A radio station's timings, derived from one full frame's airtime and the
 * duty-cycle budget: the sync node's back-offs and waits, the air codec's
 * stall and hold times, and the station's own pacing.
 */
import type { SyncNodeOptions } from "../engine/sync/sync-node.js";
import type { AirCodecOptions } from "./air/codec.js";
import { DEFAULT_LIMITS } from "./air/options.js";

/** A budget slot (ms): the time a `dutyFraction` budget takes to earn one frame of `frameAirtimeMs`. */
export function budgetSlotMs(frameAirtimeMs: number, dutyFraction: number): number {
  return frameAirtimeMs / Math.min(1, Math.max(dutyFraction, 1e-6));
}

/**
 * The sync node's back-offs in units of one full frame's airtime: a random
 * back-off only separates stations if its window spans several frames (at
 * SF9 a frame is 1.3 s; the engine's defaults assume a fast channel).
 */
export const SYNC_TIMING_FRAMES = { frontier: 4, answer: 4, request: 2, frameGap: 0.5, retry: 16, hole: 8, cross: 8, trickleMin: 4 } as const;

/**
 * The sync node's waits for others' answers in budget slots: a slot is the
 * time the duty-cycle budget takes to earn one full frame (frame airtime /
 * duty fraction, 130 s at SF9 and 1 %). A relay held by its budget sends about
 * one frame a slot and serves several feeds in turn, so a feed it relays may
 * see a message only every several slots; asking again sooner only repeats.
 */
export const SYNC_TIMING_SLOTS = { busyWait: 4, frontierHold: 20, blobGap: 2, blobQuiet: 2 } as const;

/**
 * Share of the duty-cycle budget blob traffic may use in any window: a blob
 * frame goes only while the airtime booked in the window leaves the rest
 * free, so fresh events (and the exchange after a partition heals) always
 * find half the budget — 18 s, 14 full SF9 frames, at 1 % — at once. With
 * one blob message per two budget slots (blobGap) blob traffic also takes at
 * most half the pacer's rate, so the pacer's bucket refills between chunks.
 */
export const BLOB_BUDGET_SHARE = 0.5;

/**
 * A message starts a random 0..this many full frames' airtime after the
 * budget allows it. A station held by its budget sends whenever the airtime
 * it used an hour earlier expires, so without jitter its pattern repeats
 * hour after hour; two stations that cannot hear each other (carrier sense
 * cannot help) would then collide at the station between them every hour.
 */
export const START_JITTER_FRAMES = 2;

/**
 * The most airtime, in full frames, a station sends at once after a quiet
 * spell (see pacer.ts): room for the longest common message (a household
 * submission is two or three frames) and a little more.
 */
export const PACE_BURST_FRAMES = 6;

/** The node is asked for a message once the pacer could send this many full frames: a household submission's worth. */
export const PULL_FRAMES = 3;

/** Silence after a fragment, in full frames, before a receiver asks for the missing rest. */
export const AIR_STALL_FRAMES = 3;

/**
 * How long, in budget slots (see SYNC_TIMING_SLOTS), a fragmented message is
 * kept to answer nacks, and a partial one waits for its missing fragments: a
 * sender held by its budget may need several slots to start a long message
 * and several more to answer each nack.
 */
export const AIR_HOLD_SLOTS = 40;

/** Air codec timings and hold times for a link whose longest frame takes `frameAirtimeMs`, under a `dutyFraction` budget. */
export function airOptionsFor(frameAirtimeMs: number, dutyFraction = 1): Pick<AirCodecOptions, "timing" | "limits"> {
  const slot = budgetSlotMs(frameAirtimeMs, dutyFraction);
  const stallMs = AIR_STALL_FRAMES * frameAirtimeMs;
  const holdMs = Math.max(DEFAULT_LIMITS.heldTtlMs, AIR_HOLD_SLOTS * slot);
  return {
    // A repeated nack waits for the budget of a sender held by it to earn a frame.
    timing: { stallMs, nackRepeatMs: Math.max(2 * stallMs, slot) },
    limits: { heldTtlMs: holdMs, partialTtlMs: Math.max(DEFAULT_LIMITS.partialTtlMs, holdMs) },
  };
}

/** Trickle's longest beacon interval on a radio link: a converged network beacons a few times an hour at most. */
export const RADIO_TRICKLE_MAX_MS = 60 * 60_000;

/** Sync node timings for a link whose longest frame takes `frameAirtimeMs` on the air, under a `dutyFraction` budget. */
export function syncTimingFor(frameAirtimeMs: number, dutyFraction = 1): Partial<SyncNodeOptions> {
  const f = Math.max(frameAirtimeMs, 1);
  const slot = budgetSlotMs(f, dutyFraction);
  const t = SYNC_TIMING_FRAMES;
  const s = SYNC_TIMING_SLOTS;
  return {
    frontierDelayMs: t.frontier * f,
    answerDelayMs: t.answer * f,
    requestDelayMs: t.request * f,
    frameGapMs: t.frameGap * f,
    requestRetryMs: t.retry * f,
    holeDelayMs: t.hole * f,
    busyWaitMs: s.busyWait * slot,
    crossMs: t.cross * f,
    blobGapMs: s.blobGap * slot,
    blobQuietMs: s.blobQuiet * slot,
    frontierHoldMs: s.frontierHold * slot,
    trickle: { iminMs: t.trickleMin * f, imaxMs: Math.max(RADIO_TRICKLE_MAX_MS, 8 * t.trickleMin * f), k: 1 },
  };
}
