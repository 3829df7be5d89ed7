/**
 * Signs planned upserts into per-author hash-chained feeds and packs them the
 * way the radio path carries them: sync "events" messages of consecutive wire
 * items of one author.
 */
import type { CborValue } from "../src/engine/cbor.js";
import type { Signer } from "../src/engine/crypto.js";
import { signEvent, signingMessage, type SignedEvent } from "../src/engine/event.js";
import { shortTag } from "../src/engine/frontier.js";
import { hexToBytes, type EventId } from "../src/engine/ids.js";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { encodeWireItem } from "../src/engine/wire.js";
import { planUpserts, type PlannedUpsert, type WorkloadOptions } from "./fixtures.js";

/** Bytes of `signingMessage(id)`: the signature context followed by the 32-byte id. */
export const SIGNING_MESSAGE_BYTES = signingMessage(Buffer.alloc(32)).length;

/** The next position of one author's feed: signs events in order and turns them into wire items. */
export class FeedWriter {
  private seq = 0;
  private prev: EventId | null = null;
  private prevWall: number | null = null;

  constructor(readonly signer: Signer) {}

  /** Signs `p` as this feed's next event. */
  sign(p: PlannedUpsert): SignedEvent {
    const ev = signEvent(this.signer, { seq: this.seq + 1, prev: this.prev, hlc: p.hlc }, p.body);
    this.seq = ev.seq;
    this.prev = ev.id;
    return ev;
  }

  /** The wire item of `ev`, which must be the event signed just before this call. */
  wireItem(ev: SignedEvent): CborValue {
    const item = encodeWireItem(ev, this.prevWall);
    this.prevWall = ev.hlc.wall;
    return item;
  }
}

/** One encoded sync "events" message: `count` consecutive events of one author from seq `start`. */
export interface EncodedBatch {
  /** Index of the author in the workload's signers. */
  readonly author: number;
  readonly start: number;
  readonly count: number;
  /** Position in the workload of the batch's newest event: the order batches become sendable in. */
  readonly order: number;
  readonly bytes: Uint8Array;
}

/** What a consumer of signed events may want besides the batches (e.g. the verify benchmark's inputs). */
export type SignedEventSink = (author: number, ev: SignedEvent) => void;

/**
 * Signs a workload and yields its events as encoded messages of `batchSize`
 * wire items each (the last batch of each feed may be shorter). Only events of
 * `only` authors are signed when it is given, so workers can split a workload
 * by author; the plan is the same in every worker.
 */
export function* signedBatches(
  workload: WorkloadOptions,
  signers: readonly Signer[],
  batchSize: number,
  only?: ReadonlySet<number>,
  sink?: SignedEventSink,
): Generator<EncodedBatch> {
  const writers = signers.map((s) => new FeedWriter(s));
  const pending = signers.map(() => ({ start: 1, items: [] as CborValue[] }));
  const flush = (author: number, order: number): EncodedBatch => {
    const p = pending[author] as { start: number; items: CborValue[] };
    const signer = signers[author] as Signer;
    const bytes = encodeMessage({ type: "events", short: shortTag(signer.author), start: p.start, items: p.items });
    const batch = { author, start: p.start, count: p.items.length, order, bytes };
    p.start += p.items.length;
    p.items = [];
    return batch;
  };
  let index = 0;
  for (const planned of planUpserts(workload)) {
    index++;
    if (only && !only.has(planned.author)) continue;
    const w = writers[planned.author] as FeedWriter;
    const ev = w.sign(planned);
    sink?.(planned.author, ev);
    const p = pending[planned.author] as { items: CborValue[] };
    p.items.push(w.wireItem(ev));
    if (p.items.length >= batchSize) yield flush(planned.author, index);
  }
  for (let a = 0; a < signers.length; a++) {
    if ((pending[a]?.items.length ?? 0) > 0) yield flush(a, index + a);
  }
}

/** Inputs of a signature check, packed flat: message i is bytes [i*M, (i+1)*M) of `messages`. */
export interface VerifyInputs {
  /** Author index per event. */
  readonly authors: Uint8Array;
  readonly messages: Uint8Array;
  readonly signatures: Uint8Array;
  readonly count: number;
}

/** Collects the signing message and signature of every event passed to its sink. */
export class VerifyCollector {
  private readonly authors: number[] = [];
  private readonly messages: Buffer[] = [];
  private readonly signatures: Uint8Array[] = [];

  readonly sink: SignedEventSink = (author, ev) => {
    this.authors.push(author);
    this.messages.push(signingMessage(hexToBytes(ev.id)));
    this.signatures.push(ev.sig);
  };

  /** Everything collected so far, packed flat. */
  result(): VerifyInputs {
    return {
      authors: Uint8Array.from(this.authors),
      messages: Buffer.concat(this.messages),
      signatures: Buffer.concat(this.signatures),
      count: this.authors.length,
    };
  }
}
