/**
 * What the status page says about removal events (kind 5) the store holds:
 * a member the config still lists though a removal event removed it (the
 * event wins), and this site itself removed by another.
 */
import { parseAuthorId, type AuthorId } from "../engine/ids.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { SiteConfig } from "./site-config.js";

/** Attention lines, one per removed member that needs the admin's eye. */
export function removalNotes(store: SqliteStore, config: SiteConfig, self: AuthorId): string[] {
  const held = store.removalsHeld();
  const listed = new Map<AuthorId, string>();
  for (const m of config.network.members) {
    const key = parseAuthorId(m.key);
    if (key) listed.set(key, m.name);
  }
  const nameOf = (a: AuthorId) => held.names.get(a) ?? listed.get(a) ?? `${a.slice(0, 8)}…`;
  const by = (member: AuthorId) => {
    const removers = held.events.filter((e) => e.member === member && e.remover !== member).map((e) => nameOf(e.remover));
    return [...new Set(removers)].join(", ") || "another site";
  };
  const out: string[] = [];
  for (const [member, cut] of held.cuts) {
    if (member === self) {
      out.push(`This site was removed from the network by ${by(member)}: its writes after #${cut} stay here and reach no other site.`);
    } else if (listed.has(member)) {
      out.push(
        `Member ${listed.get(member)} was removed from the network by ${by(member)}: its events after #${cut} are refused, ` +
          `but network.members still lists ${listed.get(member)}. Take it out of the config (re-adding a removed member is not supported).`,
      );
    }
  }
  return out;
}
