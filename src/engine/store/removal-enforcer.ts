/**
 * Applies the cuts of the removal events held (removal-rule.ts) to the feeds
 * they cut (feed-cut.ts), until no cut moves: cutting a feed drops the
 * removal events it made beyond its cut, which can move other cuts. This
 * site's own feed is never cut. The cuts applied are kept (a meta key), so a
 * start with the same ones held does not apply them again.
 */
import type { FeedCutter } from "./feed-cut.js";
import type { StoreCore } from "./store-core.js";

/** Meta key of the cuts last applied and of the feed they spared (this site's). */
const APPLIED_KEY = "removal.cuts-applied";

export interface RemovalEnforcer {
  /** Cuts every removed member's feed at its cut (inside the transaction that added a removal). */
  enforce(): void;
  /** At open: applies the cuts held unless they are the ones last applied (a store written before it knew of them lacks them). */
  enforceAtOpen(): void;
}

export function createRemovalEnforcer(core: StoreCore, cutter: FeedCutter): RemovalEnforcer {
  const { authors, removals } = core;

  /** The cuts held, and whose feed they spare: what enforce() leaves applied. */
  function appliedKey(): string {
    const cuts = [...removals.cuts()].map(([author, cut]) => `${author}:${cut}`).sort();
    return `${core.signer?.author ?? "-"};${cuts.join(",")}`;
  }

  function enforce(): void {
    for (let again = true; again; ) {
      again = false;
      for (const [author, cut] of [...removals.cuts()]) {
        const a = authors.get(author);
        if (!a || core.isSelf(author)) continue;
        const dropped = cutter.cut(a, cut);
        if (dropped === 0) continue;
        core.bump("removal.dropped-events", dropped);
        removals.dropAbove(author, cut);
        again = true;
      }
    }
    core.gap.reload();
    core.vocabularies.reload();
    core.frontierChanged();
    core.setMeta(APPLIED_KEY, appliedKey());
  }

  return {
    enforce,
    enforceAtOpen() {
      if (removals.cuts().size > 0 && core.meta(APPLIED_KEY) !== appliedKey()) core.transaction(enforce);
    },
  };
}
