/**
 * Who the store takes events from: members listed here (addMember), less
 * those a removal event held here removed from the whole network, and the
 * removal of a member everywhere (a removal event of this site's feed).
 */
import type { EventBody, SignedEvent } from "../event.js";
import type { AuthorId } from "../ids.js";
import type { RemovalFact } from "../removal-rule.js";
import type { StoreCore } from "./store-core.js";

/** What removeMemberEverywhere did: the removal event it appended, or why it appended none. */
export type RemovalOutcome =
  | { readonly ok: true; readonly event: SignedEvent }
  | { readonly ok: false; readonly reason: "no-identity" | "self" | "not-a-member" | "already-removed" };

/** Every removal event held, with the cut each removed member's feed ends up with, and the names of the authors known. */
export interface RemovalsHeld {
  readonly events: readonly RemovalFact[];
  readonly cuts: ReadonlyMap<AuthorId, number>;
  readonly names: ReadonlyMap<AuthorId, string | null>;
}

export interface Membership {
  add(author: AuthorId, name?: string): void;
  remove(author: AuthorId): void;
  removeEverywhere(author: AuthorId): RemovalOutcome;
  isMember(author: AuthorId): boolean;
  members(): { author: AuthorId; name: string | null }[];
  removalsHeld(): RemovalsHeld;
}

/** `append` signs and applies an event of this site's feed. */
export function createMembership(core: StoreCore, append: (body: EventBody) => SignedEvent): Membership {
  const { authors, removals } = core;
  const isMember = (author: AuthorId): boolean =>
    authors.get(author)?.member === true && removals.cutOf(author) === Number.POSITIVE_INFINITY;
  return {
    add(author, name) {
      authors.add(author, name);
      core.frontierChanged();
    },
    remove(author) {
      authors.remove(author);
      core.frontierChanged();
    },
    removeEverywhere(author) {
      if (!core.signer) return { ok: false, reason: "no-identity" };
      if (core.isSelf(author)) return { ok: false, reason: "self" };
      const a = authors.get(author);
      if (!a?.member) return { ok: false, reason: "not-a-member" };
      if (removals.cutOf(author) !== Number.POSITIVE_INFINITY) return { ok: false, reason: "already-removed" };
      return { ok: true, event: append({ kind: "removal", member: author, after: a.head.seq }) };
    },
    isMember,
    members: () => [...authors.all()].filter((a) => isMember(a.author)).map((a) => ({ author: a.author, name: a.name })),
    removalsHeld() {
      const names = new Map<AuthorId, string | null>([...authors.all()].map((a) => [a.author, a.name]));
      return { events: removals.facts(), cuts: removals.cuts(), names };
    },
  };
}
