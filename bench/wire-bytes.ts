/**
 * Bytes on the air of one 20-question submission: our sync "events" message
 * carrying its single wire item, against the seed prototype's JSON for the same
 * answers (one record.create plus one field.set per answer, in one message).
 */
import { sha256 } from "../src/engine/crypto.js";
import { shortTag } from "../src/engine/frontier.js";
import { createHlcClock } from "../src/engine/hlc.js";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { FeedWriter } from "./feeds.js";
import { benchSigners, planUpserts } from "./fixtures.js";
import type { Metric } from "./metrics.js";
import { round } from "./metrics.js";
import { SeedFeed, seedEventsMessage } from "../src/baseline/seed-encoding.js";

/** Averages over a sequence of submissions of one form by one site. */
export interface WireBytesResult {
  readonly submissions: number;
  readonly fieldsPerSubmission: number;
  /** Mean bytes of our events message per submission. */
  readonly ours: number;
  /** Mean bytes of the prototype's events message per submission. */
  readonly seed: number;
  readonly seedEventsPerSubmission: number;
}

/**
 * One enumerator's day: `submissions` new household surveys, 10–40 minutes
 * apart, each sent on its own as it is made (our message: one wire item; the
 * prototype's: its 21 events).
 */
export function measureWireBytes(submissions = 100): WireBytesResult {
  const [signer] = benchSigners(1);
  if (!signer) throw new Error("no bench signer");
  const short = shortTag(signer.author);
  const writer = new FeedWriter(signer);
  // The prototype's CLI names a node by its RNS identity hash: 16 bytes of SHA-256 of the public key, in hex.
  const seedFeed = new SeedFeed(sha256(signer.publicKey).subarray(0, 16).toString("hex"));
  let ours = 0;
  let seed = 0;
  let seedEvents = 0;
  let fields = 0;
  for (const p of planUpserts({ seed: 7, authors: 1, events: submissions, editShare: 0, gapMs: [600_000, 2_400_000] })) {
    const ev = writer.sign(p);
    ours += encodeMessage({ type: "events", short, start: ev.seq, items: [writer.wireItem(ev)] }).length;
    // The prototype stamps each of the submission's events with its own clock; they share the millisecond.
    const clock = createHlcClock({ now: () => p.hlc.wall });
    const events = seedFeed.submission(p.body.record, p.body.type, p.body.fields, () => clock.tick());
    seed += seedEventsMessage(events).length;
    seedEvents += events.length;
    fields += Object.keys(p.body.fields).length;
  }
  return {
    submissions,
    fieldsPerSubmission: fields / submissions,
    ours: ours / submissions,
    seed: seed / submissions,
    seedEventsPerSubmission: seedEvents / submissions,
  };
}

/** The wire-size metrics. */
export function wireBytesMetrics(r: WireBytesResult): Metric[] {
  return [
    { metric: "engine.wire_bytes_per_upsert_20f", value: round(r.ours), unit: "bytes" },
    { metric: "engine.seed_bytes_per_upsert_20f", value: round(r.seed), unit: "bytes" },
    { metric: "engine.wire_vs_seed_ratio", value: round(r.ours / r.seed), unit: "ratio" },
  ];
}
