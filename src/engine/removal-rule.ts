/**
 * The removal rule: from the removal events a store holds, the cut of each
 * removed member's feed (the last seq that stays valid). A pure function of
 * the set of removal events, so every site holding the same ones cuts alike.
 *
 * - Several removals of one member: the smallest `after` wins.
 * - A removal naming its own author is inert (a feed cannot void itself).
 * - Removals are taken in stamp order (HLC, then author, then seq). One whose
 *   own seq lies beyond its author's cut at that point is void: its author
 *   had been removed before it. A later removal never cuts a feed below a
 *   removal that feed already made effectively, so what counted keeps
 *   counting once the void ones are gone (cutting a feed removes its void
 *   removals, and the rule gives the same cuts on what is left).
 */
import type { AuthorId } from "./ids.js";

/** One removal event as the rule reads it. */
export interface RemovalFact {
  /** The removal event's author, seq and stamp. */
  readonly remover: AuthorId;
  readonly seq: number;
  readonly wall: number;
  readonly counter: number;
  /** Who is removed, and the last seq of its feed that stays valid. */
  readonly member: AuthorId;
  readonly after: number;
}

function byStamp(a: RemovalFact, b: RemovalFact): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.counter !== b.counter) return a.counter - b.counter;
  if (a.remover !== b.remover) return a.remover < b.remover ? -1 : 1;
  return a.seq - b.seq;
}

/** Each removed member's cut. A member absent from the map is not removed. Order of `facts` does not matter. */
export function removalCuts(facts: Iterable<RemovalFact>): Map<AuthorId, number> {
  const cuts = new Map<AuthorId, number>();
  /** Highest seq of an effective removal each author made: its feed is never cut below it. */
  const floor = new Map<AuthorId, number>();
  for (const r of [...facts].sort(byStamp)) {
    if (r.member === r.remover) continue;
    if (r.seq > (cuts.get(r.remover) ?? Number.POSITIVE_INFINITY)) continue; // its author was removed before it
    const after = Math.max(r.after, floor.get(r.member) ?? 0);
    cuts.set(r.member, Math.min(cuts.get(r.member) ?? Number.POSITIVE_INFINITY, after));
    floor.set(r.remover, Math.max(floor.get(r.remover) ?? 0, r.seq));
  }
  return cuts;
}
