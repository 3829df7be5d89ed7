/**
 * Reading the feeds: the frontier and its digest, an author's events as full
 * signed events or as wire items for the radio (packed with the vocabulary
 * they were encoded against), and the fork evidence kept. What lies beyond a
 * removed member's cut is never offered.
 */
import { decodeStrict, encodeCanonical, type CborValue } from "../cbor.js";
import { isRecordBody, parseBody, type SignedEvent } from "../event.js";
import { decodeSignedEvent } from "../event-codec.js";
import { frontierDigest, type Frontier } from "../frontier.js";
import { toEventId, type AuthorId, type EventId } from "../ids.js";
import type { WireBatch } from "../sync/sync-node.js";
import type { VocabularyField } from "../vocabulary.js";
import { encodeWireItem } from "../wire.js";
import type { StoreCore } from "./store-core.js";
import { StoreCorruptError } from "./store-corrupt-error.js";

/** One piece of fork evidence: an author's other event at `seq`, and the id of the one kept. */
export interface ForkEvidence {
  author: AuthorId;
  seq: number;
  keptId: EventId | null;
  other: SignedEvent;
}

export interface FeedReads {
  frontier(): Frontier;
  digest(): Buffer;
  headSeq(author: AuthorId): number;
  readEvents(author: AuthorId, from: number, to: number): SignedEvent[];
  wireItems(author: AuthorId, from: number, to: number, maxBytes: number): WireBatch & { items: CborValue[] };
  latestVocabulary(author: AuthorId, type: string): readonly VocabularyField[] | undefined;
  forks(): ForkEvidence[];
  eventCount(): number;
}

interface EventRow {
  seq: number;
  id: Buffer;
  wall: number;
  counter: number;
  kind: number;
  body: Buffer;
  sig: Buffer;
  received_at: number;
}

function rowToEvent(author: AuthorId, row: EventRow, prevId: Buffer | null): SignedEvent {
  const decoded = decodeStrict(row.body);
  const body = decoded.ok ? parseBody(row.kind, decoded.value) : "malformed-body";
  if (typeof body === "string") throw new StoreCorruptError(`stored event ${author}#${row.seq} has an unreadable body`);
  return {
    author, seq: row.seq, prev: prevId ? toEventId(prevId) : null, hlc: { wall: row.wall, counter: row.counter },
    body, id: toEventId(row.id), sig: row.sig,
  };
}

export function createFeedReads(core: StoreCore): FeedReads {
  const { authors, removals, vocabularies } = core;
  const stmt = {
    eventAt: core.db.prepare<[number, number], { wall: number }>("SELECT wall FROM events WHERE author_ix = ? AND seq = ?"),
    range: core.db.prepare<[number, number, number], EventRow>(
      "SELECT seq, id, wall, counter, kind, body, sig, received_at FROM events WHERE author_ix = ? AND seq BETWEEN ? AND ? ORDER BY seq",
    ),
    forks: core.db.prepare<[], { author_ix: number; seq: number; kept_id: Buffer | null; other_event: Buffer }>(
      "SELECT author_ix, seq, kept_id, other_event FROM forks ORDER BY author_ix, seq",
    ),
  };

  function frontier(): Frontier {
    const f = new Map<AuthorId, number>();
    for (const a of authors.all()) {
      const seq = Math.min(a.head.seq, removals.cutOf(a.author)); // this site's own feed may go beyond its cut
      if (a.member && seq > 0) f.set(a.author, seq);
    }
    return f;
  }

  function wireItems(author: AuthorId, from: number, to: number, maxBytes: number): WireBatch & { items: CborValue[] } {
    const a = authors.get(author);
    const types = new Set<string>();
    let attachmentsOnly = true;
    const out = { items: [] as CborValue[], bytes: 0, newestWall: 0, types: [] as string[], attachmentsOnly: false };
    to = Math.min(to, removals.cutOf(author)); // what lies beyond a cut is void: never offered
    if (!a?.member || from > to || from < 1) return out;
    let prevWall: number | null = from > 1 ? (stmt.eventAt.get(a.ix, from - 1)?.wall ?? null) : null;
    if (from > 1 && prevWall === null) return out;
    for (const row of stmt.range.iterate(a.ix, from, to)) {
      const ev = rowToEvent(a.author, row, null);
      const vocabulary = ev.body.kind === "upsert" ? vocabularies.latestBefore(a.ix, ev.body.type, ev.seq) : undefined;
      const item = encodeWireItem(ev, prevWall, vocabulary);
      const size = encodeCanonical(item).length;
      if (out.items.length > 0 && out.bytes + size > maxBytes) break;
      out.items.push(item);
      out.bytes += size;
      out.newestWall = row.wall;
      prevWall = row.wall;
      if (isRecordBody(ev.body)) types.add(ev.body.type);
      attachmentsOnly &&= ev.body.kind === "attachment";
    }
    return { ...out, types: [...types], attachmentsOnly: out.items.length > 0 && attachmentsOnly };
  }

  return {
    frontier,
    digest: () => core.digest(() => frontierDigest(frontier())),
    headSeq: (author) => authors.get(author)?.head.seq ?? 0,
    readEvents(author, from, to) {
      const a = authors.get(author);
      if (!a || from > to) return [];
      const out: SignedEvent[] = [];
      let prevId: Buffer | null = null;
      for (const row of stmt.range.all(a.ix, Math.max(1, from - 1), to)) {
        if (row.seq >= from) out.push(rowToEvent(a.author, row, prevId));
        prevId = row.id;
      }
      return out;
    },
    wireItems,
    latestVocabulary(author, type) {
      const a = authors.get(author);
      return a ? vocabularies.latestBefore(a.ix, type, Number.MAX_SAFE_INTEGER)?.lexicon.fields : undefined;
    },
    forks: () =>
      stmt.forks.all().flatMap((r) => {
        const d = decodeSignedEvent(r.other_event);
        if (!d.ok) return [];
        return [{ author: authors.byRow(r.author_ix).author, seq: r.seq, keptId: r.kept_id ? toEventId(r.kept_id) : null, other: d.event }];
      }),
    eventCount() {
      let n = 0;
      for (const a of authors.all()) n += a.head.seq;
      return n;
    },
  };
}
