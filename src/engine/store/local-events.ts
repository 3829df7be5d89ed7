/**
 * Events of this site's own feed: stamped by the store's clock, signed with
 * the site's identity and applied through the ingest path's writer, in one
 * transaction with the clock's new stamp.
 */
import { kindCode, signEventWithBody, type EventBody, type SignedEvent } from "../event.js";
import type { Hlc } from "../hlc.js";
import { hexToBytes, toEventId, type AuthorId, type RecordId } from "../ids.js";
import type { AuthorRow } from "./author-registry.js";
import type { RecordState } from "../record-state.js";
import type { IngestPath } from "./ingest-path.js";
import type { StoreClock } from "./store-clock.js";
import type { StoreCore } from "./store-core.js";

/** Thrown when a store opened without an identity is asked to author (programmer misuse). */
const NO_IDENTITY = "this store has no identity: open it with a signer to author events";

/** This site's author id; throws for a store opened without an identity. */
export function localAuthorOf(core: StoreCore): AuthorId {
  if (!core.signer) throw new Error(NO_IDENTITY);
  return core.signer.author;
}

/** A local event and the state of the record it changed (undefined for an event that changes none). */
export interface Appended {
  readonly event: SignedEvent;
  readonly state: RecordState | undefined;
}

/**
 * Returns `append`: signs `body` as the next event of this site's feed and
 * applies it, in one transaction. `lastWriteOf` gives a record's newest stamp
 * held (see StoreClock.stampFor).
 */
export function createLocalAppend(
  core: StoreCore,
  clock: StoreClock,
  path: IngestPath,
  lastWriteOf: (record: RecordId) => Hlc | undefined,
): (body: EventBody) => Appended {
  return (body) => {
    const signer = core.signer;
    if (!signer) throw new Error(NO_IDENTITY);
    const me = core.authors.get(signer.author) as AuthorRow;
    return core.transaction(() => {
      const hlc = clock.stampFor(body, lastWriteOf);
      const prev = me.head.id ? toEventId(me.head.id) : null;
      const { event: ev, bodyBytes } = signEventWithBody(signer, { seq: me.head.seq + 1, prev, hlc }, body);
      const state = path.apply(me, { seq: ev.seq, prev: me.head.id, hlc, kind: kindCode(body), body, bodyBytes, sig: ev.sig, id: hexToBytes(ev.id) });
      clock.save();
      return { event: ev, state };
    });
  };
}
