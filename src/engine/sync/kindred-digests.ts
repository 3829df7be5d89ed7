/**
 * Digests that differ from ours only in feeds this station does not take: a
 * removed member's events beyond its cut, or a non-member's feed. A station
 * still on the air with such a frontier (a removed member that has not
 * learnt it, or an old version) would otherwise look inconsistent at every
 * beacon, reset everyone's Trickle timer and draw frontiers at full rate.
 * Once one of its frontiers showed that the member feeds agree, its digest
 * counts as the same as ours until our own digest changes.
 */

/** Distinct kindred digests remembered per digest of ours; removed stations are few, and a frontier round relearns one. */
const MAX_KINDRED = 16;

/** One entry of a heard frontier as the comparison needs it. */
export interface HeardEntry {
  /** The feed's author if it is one this station takes (a member), else undefined. */
  readonly author: string | undefined;
  readonly seq: number;
}

/**
 * True when a whole (one-page) frontier agrees with `ours` on every feed this
 * station takes: each member entry, capped at what `limit` accepts of it, equals ours, and none of ours is missing.
 */
export function agreesOnMembers(entries: readonly HeardEntry[], ours: ReadonlyMap<string, number>, limit: (author: string) => number): boolean {
  let listed = 0;
  for (const e of entries) {
    if (e.author === undefined) continue;
    if (Math.min(e.seq, limit(e.author)) !== (ours.get(e.author) ?? 0)) return false;
    if (ours.has(e.author)) listed++;
  }
  return listed === ours.size;
}

export class KindredDigests {
  private ours = "";
  private readonly kin = new Set<string>();

  /** Whether `digest` is ours, or was shown to differ from ours only in feeds we do not take. */
  same(digest: Uint8Array, ours: Uint8Array): boolean {
    const d = Buffer.from(digest);
    if (d.equals(Buffer.from(ours))) return true;
    this.sync(ours);
    return this.kin.has(d.toString("hex"));
  }

  /** A frontier with `digest` was heard; `agrees` says whether it agrees with ours on every member feed. */
  learn(digest: Uint8Array, ours: Uint8Array, agrees: boolean): void {
    this.sync(ours);
    const key = Buffer.from(digest).toString("hex");
    if (!agrees) {
      this.kin.delete(key);
      return;
    }
    if (this.kin.size >= MAX_KINDRED) this.kin.clear();
    this.kin.add(key);
  }

  /** What was learnt holds for one digest of ours: forget it when ours changes. */
  private sync(ours: Uint8Array): void {
    const key = Buffer.from(ours).toString("hex");
    if (key === this.ours) return;
    this.ours = key;
    this.kin.clear();
  }
}
