/**
 * Reassembly of fragmented messages, keyed by (origin, message id), with hard
 * bounds: partials per sender and overall, and bytes. A partial reserves its
 * worst case (count × perFragmentBytes) when admitted, so admission is the only
 * place a bound is checked and an admitted message can always complete.
 *
 * A partial that stops growing is nacked after a randomized stall (doubling
 * per nack sent, up to 32×, and a repeat never sooner than nackRepeatMs; at
 * most maxNackRetries nacks), postponed when another
 * station's nack already asks for everything it misses, and dropped when it
 * has not grown for partialTtlMs. Keys of completed messages are remembered a
 * while, so fragments re-sent for someone else are duplicates, not a new
 * partial that would nack the rest of a message already delivered.
 */
import { NACK_BACKOFF_MAX_DOUBLINGS, NACKS_WITHOUT_FIRST } from "./constants.js";
import type { FragmentBody, NackBody } from "./fragments.js";
import { joinChunks, messageKey } from "./fragments.js";
import type { AirLimits, AirTiming } from "./options.js";

export type AddResult =
  | { kind: "complete"; message: Uint8Array; frames: Uint8Array[] }
  | { kind: "stored" }
  | { kind: "duplicate" }
  | { kind: "refused"; reason: "reassembly-full" | "malformed-fragment" }
  /** Every fragment arrived but the whole-message check failed; the partial is gone. */
  | { kind: "bad-check" };

export interface ReassemblyUsage {
  readonly partials: number;
  readonly reservedBytes: number;
  /** Bytes actually held (frames and chunks); never above reservedBytes. */
  readonly heldBytes: number;
  readonly recentKeys: number;
}

export interface Reassembly {
  /** Stores one authenticated fragment from `origin`; `frame` is kept to answer others' nacks once complete. */
  add(origin: Uint8Array, fragment: FragmentBody, frame: Uint8Array, now: number): AddResult;
  /** Nacks due now; each call marks them sent. */
  dueNacks(now: number): NackBody[];
  /** Notes a nack overheard from another station; returns whether it postponed our own. */
  overheardNack(nack: NackBody, now: number): boolean;
  /** Whether a message from `origin` is partly received (its rest still on its way). */
  receiving(origin: Uint8Array): boolean;
  /** Drops a partial nobody here needs; its later fragments count as duplicates. */
  forget(origin: Uint8Array, messageId: number, now: number): void;
  /** Drops partials that have not grown for the TTL; returns how many. */
  expire(now: number): number;
  nextWake(): number;
  usage(): ReassemblyUsage;
}

export interface ReassemblyOptions {
  readonly limits: AirLimits;
  readonly timing: AirTiming;
  /** Worst-case bytes one fragment holds: the longest frame plus the longest chunk. */
  readonly perFragmentBytes: number;
  readonly random: () => number;
}

interface Partial {
  readonly origin: Uint8Array;
  readonly sender: string;
  readonly messageId: number;
  readonly count: number;
  readonly reserved: number;
  readonly chunks: (Uint8Array | undefined)[];
  readonly frames: (Uint8Array | undefined)[];
  received: number;
  held: number;
  /** Length of every chunk but the last (0 until one is seen); the last must not be longer. */
  chunkSize: number;
  lastSize: number;
  lastGrowth: number;
  nextNackAt: number;
  nacks: number;
}

export function createReassembly(o: ReassemblyOptions): Reassembly {
  return new PartialMessages(o);
}

class PartialMessages implements Reassembly {
  private readonly partials = new Map<string, Partial>();
  private readonly perSender = new Map<string, number>();
  /** Completed keys and when, oldest first. */
  private readonly recent = new Map<string, number>();
  private reserved = 0;
  private held = 0;

  constructor(private readonly o: ReassemblyOptions) {}

  add(origin: Uint8Array, f: FragmentBody, frame: Uint8Array, now: number): AddResult {
    const key = messageKey(origin, f.messageId);
    if ((this.recent.get(key) ?? -Infinity) + this.o.limits.partialTtlMs > now) return { kind: "duplicate" };
    const p = this.partials.get(key) ?? this.admit(key, origin, f, now);
    if (!p) return { kind: "refused", reason: "reassembly-full" };
    if (p.count !== f.count) return { kind: "refused", reason: "malformed-fragment" };
    if (p.chunks[f.index]) return { kind: "duplicate" };
    if (!fitsShape(p, f)) return { kind: "refused", reason: "malformed-fragment" };
    p.chunks[f.index] = f.chunk;
    p.frames[f.index] = frame;
    p.held += f.chunk.length + frame.length;
    this.held += f.chunk.length + frame.length;
    p.received += 1;
    p.lastGrowth = now;
    p.nextNackAt = now + this.wait(0);
    return p.received === p.count ? this.finish(key, p, now) : { kind: "stored" };
  }

  dueNacks(now: number): NackBody[] {
    const out: NackBody[] = [];
    for (const p of this.partials.values()) {
      if (p.nacks >= this.nackLimit(p) || p.nextNackAt > now) continue;
      out.push({ origin: p.origin, messageId: p.messageId, count: p.count, missing: missingOf(p) });
      p.nacks += 1;
      p.nextNackAt = now + this.wait(p.nacks);
    }
    return out;
  }

  overheardNack(nack: NackBody, now: number): boolean {
    const p = this.partials.get(messageKey(nack.origin, nack.messageId));
    if (!p || p.count !== nack.count) return false;
    const asked = new Set(nack.missing);
    if (!missingOf(p).every((i) => asked.has(i))) return false;
    p.nextNackAt = Math.max(p.nextNackAt, now + this.wait(p.nacks));
    return true;
  }

  receiving(origin: Uint8Array): boolean {
    return this.perSender.has(Buffer.from(origin).toString("hex"));
  }

  forget(origin: Uint8Array, messageId: number, now: number): void {
    const key = messageKey(origin, messageId);
    const p = this.partials.get(key);
    if (p) this.remove(key, p);
    this.remember(key, now);
  }

  expire(now: number): number {
    let n = 0;
    for (const [key, p] of this.partials) {
      if (p.lastGrowth + this.o.limits.partialTtlMs > now) continue;
      this.remove(key, p);
      n += 1;
    }
    return n;
  }

  nextWake(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const p of this.partials.values()) {
      at = Math.min(at, p.lastGrowth + this.o.limits.partialTtlMs);
      if (p.nacks < this.nackLimit(p)) at = Math.min(at, p.nextNackAt);
    }
    return at;
  }

  usage(): ReassemblyUsage {
    return { partials: this.partials.size, reservedBytes: this.reserved, heldBytes: this.held, recentKeys: this.recent.size };
  }

  /**
   * Nacks one partial may send. Without its first fragment the message may
   * be one this station does not need (see AirCodecOptions.wanted), and a
   * sender that knows so does not answer: a couple of nacks, then the sync
   * layer asks for what is really missing.
   */
  private nackLimit(p: Partial): number {
    return p.chunks[0] ? this.o.limits.maxNackRetries : Math.min(this.o.limits.maxNackRetries, NACKS_WITHOUT_FIRST);
  }

  /** The randomized wait before a nack, after `nacks` nacks already sent (a repeat waits at least nackRepeatMs). */
  private wait(nacks: number): number {
    const { stallMs, nackRepeatMs } = this.o.timing;
    const base = stallMs * 2 ** Math.min(nacks, NACK_BACKOFF_MAX_DOUBLINGS);
    return (nacks === 0 ? base : Math.max(base, nackRepeatMs)) * (1 + this.o.random());
  }

  /** A new partial with its worst case reserved, or null when a bound would be exceeded. */
  private admit(key: string, origin: Uint8Array, f: FragmentBody, now: number): Partial | null {
    const { limits } = this.o;
    const sender = Buffer.from(origin).toString("hex");
    const need = f.count * this.o.perFragmentBytes;
    const full = (this.perSender.get(sender) ?? 0) >= limits.maxPartialsPerSender
      || this.partials.size >= limits.maxPartials
      || this.reserved + need > limits.maxReassemblyBytes;
    if (full) return null;
    const p: Partial = {
      origin, sender, messageId: f.messageId, count: f.count, reserved: need,
      chunks: new Array<Uint8Array | undefined>(f.count), frames: new Array<Uint8Array | undefined>(f.count),
      received: 0, held: 0, chunkSize: 0, lastSize: 0, lastGrowth: now, nextNackAt: now + this.wait(0), nacks: 0,
    };
    this.partials.set(key, p);
    this.perSender.set(sender, (this.perSender.get(sender) ?? 0) + 1);
    this.reserved += need;
    return p;
  }

  private remove(key: string, p: Partial): void {
    this.partials.delete(key);
    this.reserved -= p.reserved;
    this.held -= p.held;
    const n = (this.perSender.get(p.sender) ?? 1) - 1;
    if (n > 0) this.perSender.set(p.sender, n);
    else this.perSender.delete(p.sender);
  }

  private finish(key: string, p: Partial, now: number): AddResult {
    this.remove(key, p);
    this.remember(key, now);
    const message = joinChunks(p.chunks.filter((c): c is Uint8Array => c !== undefined));
    if (!message) return { kind: "bad-check" };
    return { kind: "complete", message, frames: p.frames.filter((f): f is Uint8Array => f !== undefined) };
  }

  /** Remembers a completed key; forgets the oldest beyond maxRecentKeys or the TTL. */
  private remember(key: string, now: number): void {
    this.recent.delete(key);
    this.recent.set(key, now);
    for (const [k, at] of this.recent) {
      if (this.recent.size <= this.o.limits.maxRecentKeys && at + this.o.limits.partialTtlMs > now) break;
      this.recent.delete(k);
    }
  }
}

function missingOf(p: Partial): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.count; i++) if (!p.chunks[i]) out.push(i);
  return out;
}

/** Every chunk but the last has one length; the last is no longer. Records the lengths it learns. */
function fitsShape(p: Partial, f: FragmentBody): boolean {
  const size = f.chunk.length;
  if (f.index === p.count - 1) {
    if (p.chunkSize !== 0 && size > p.chunkSize) return false;
    p.lastSize = size;
    return true;
  }
  if (p.chunkSize === 0) {
    if (p.lastSize > size) return false;
    p.chunkSize = size;
    return true;
  }
  return size === p.chunkSize;
}
