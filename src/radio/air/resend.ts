/**
 * Answering nacks: fragmented messages held as their exact frames (so a
 * sealed frame is re-sent byte for byte, keeping the origin's nonce and tag
 * valid, never sealed again), and re-sends scheduled for missing fragments.
 *
 * Two caches, so others' messages never evict our own: the origin must be
 * able to answer; a station that reassembled someone's message may. The
 * origin answers at its next poll; others wait a random delay, and a
 * fragment overheard meanwhile (from anyone) is struck from their re-send.
 */
import type { NackBody } from "./fragments.js";
import { messageKey } from "./fragments.js";

/** A bounded cache of message frames by message key: at most maxMessages and maxBytes, each for at most ttlMs; oldest go first. */
export interface HeldCache {
  put(key: string, frames: readonly Uint8Array[], now: number): void;
  get(key: string, now: number): readonly Uint8Array[] | undefined;
  usage(now: number): { messages: number; bytes: number };
}

export function createHeldCache(maxMessages: number, maxBytes: number, ttlMs: number): HeldCache {
  const held = new Map<string, { frames: readonly Uint8Array[]; bytes: number; at: number }>();
  let bytes = 0;
  const evict = (key: string): void => {
    bytes -= held.get(key)?.bytes ?? 0;
    held.delete(key);
  };
  const purge = (now: number): void => {
    for (const [key, h] of held) if (h.at + ttlMs <= now) evict(key);
  };
  return {
    put(key, frames, now) {
      purge(now);
      evict(key);
      const size = frames.reduce((a, f) => a + f.length, 0);
      if (size > maxBytes) return;
      for (const oldest of held.keys()) {
        if (held.size < maxMessages && bytes + size <= maxBytes) break;
        evict(oldest);
      }
      held.set(key, { frames, bytes: size, at: now });
      bytes += size;
    },
    get(key, now) {
      purge(now);
      return held.get(key)?.frames;
    },
    usage(now) {
      purge(now);
      return { messages: held.size, bytes };
    },
  };
}

export interface ResenderOptions {
  readonly stationId: Uint8Array;
  readonly own: HeldCache;
  readonly overheard: HeldCache;
  readonly answerDelayMs: number;
  /** Most scheduled re-sends at once (each names a held message, so twice the held count suffices). */
  readonly maxPending: number;
  readonly random: () => number;
}

export interface Resender {
  /** Schedules a re-send of the fragments `nack` names, if a held message matches it; returns whether it did. */
  onNack(nack: NackBody, now: number): boolean;
  /** Strikes a fragment heard on air from any pending re-send; returns whether it did. */
  onFragmentHeard(key: string, index: number): boolean;
  /** Frames whose re-send is due now, in order. */
  due(now: number): Uint8Array[];
  /** When `due` next has something (Infinity when nothing is pending). */
  nextWake(): number;
  /** Messages with a re-send scheduled (at most maxPending). */
  pending(): number;
}

export function createResender(o: ResenderOptions): Resender {
  return new PendingResends(o);
}

interface Pending {
  /** Whether the message is ours (answered from the own cache at once) or overheard (after a delay). */
  readonly own: boolean;
  readonly due: number;
  readonly indices: Set<number>;
}

class PendingResends implements Resender {
  private readonly pendings = new Map<string, Pending>();

  constructor(private readonly o: ResenderOptions) {}

  onNack(nack: NackBody, now: number): boolean {
    const own = Buffer.compare(nack.origin, this.o.stationId) === 0;
    const key = messageKey(nack.origin, nack.messageId);
    if (this.cache(own).get(key, now)?.length !== nack.count) return false;
    let p = this.pendings.get(key);
    if (!p) {
      if (this.pendings.size >= this.o.maxPending) return false;
      p = { own, due: own ? now : now + this.o.answerDelayMs * (1 + this.o.random()), indices: new Set() };
      this.pendings.set(key, p);
    }
    for (const i of nack.missing) p.indices.add(i);
    return true;
  }

  onFragmentHeard(key: string, index: number): boolean {
    const p = this.pendings.get(key);
    if (!p?.indices.delete(index)) return false;
    if (p.indices.size === 0) this.pendings.delete(key);
    return true;
  }

  due(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [key, p] of this.pendings) {
      if (p.due > now) continue;
      this.pendings.delete(key);
      const frames = this.cache(p.own).get(key, now) ?? [];
      for (const i of [...p.indices].sort((a, b) => a - b)) {
        const frame = frames[i];
        if (frame) out.push(frame);
      }
    }
    return out;
  }

  nextWake(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const p of this.pendings.values()) at = Math.min(at, p.due);
    return at;
  }

  pending(): number {
    return this.pendings.size;
  }

  private cache(own: boolean): HeldCache {
    return own ? this.o.own : this.o.overheard;
  }
}
