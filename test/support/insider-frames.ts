/**
 * Hostile frames that need a key to make, for the station fuzz: a member
 * signing a second event at a seq the station already holds (a fork), events
 * claiming a member's feed but signed with another key (forgeries), and
 * genuinely signed events of a key that is not a member. Each events message
 * ends one past the station's head of the feed it names, so the sync node
 * ingests it instead of ignoring a known range; the item there is a forgery,
 * so nothing can be applied.
 *
 * Forks come from a fixed pool, re-sent again and again (a replay of the
 * evidence), so the station's fork table can hold at most the pool.
 */
import type { CborMap } from "../../src/engine/cbor.js";
import { generateSigner, type Signer } from "../../src/engine/crypto.js";
import { signEvent, type EventBody, type SignedEvent } from "../../src/engine/event.js";
import { shortTag } from "../../src/engine/frontier.js";
import type { Hlc } from "../../src/engine/hlc.js";
import { recordId, recordType, type AuthorId, type EventId } from "../../src/engine/ids.js";
import type { SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { encodeMessage } from "../../src/engine/sync/messages.js";
import { encodeWireItem } from "../../src/engine/wire.js";
import type { Fuzz } from "./frame-mutations.js";
import type { HostileGenerator } from "./hostile-frames.js";

/** Distinct forks in the pool: enough to land on every member and several seqs, few enough to bound the fork table. */
export const FORK_POOL = 48;
/** Forged items pre-signed per member: signing one per frame would cost more than the station under test. */
const FORGERY_POOL = 64;
/** How far below the head a fork may sit: the message then carries the genuine items up to the head. */
const FORK_DEPTH = 3;

export interface InsiderContext {
  readonly f: Fuzz;
  /** The station under test's store (read only, to learn heads and prevs). */
  readonly store: SqliteStore;
  /** The other members, with their signing keys (the insider holds them). */
  readonly members: readonly Signer[];
  /** Frames carrying `message` from station `id`: one, or its fragments. */
  readonly carry: (id: Uint8Array, message: Uint8Array) => Uint8Array[];
}

export interface InsiderFrames {
  readonly generators: HostileGenerator[];
  /** Ids of every fork in the pool: the only events the fork table may ever hold. */
  readonly forkIds: ReadonlySet<EventId>;
}

function body(f: Fuzz): EventBody {
  const fields: CborMap = { village: f.pick(["north", "south", "east"]), size: f.int(40), notes: `forked ${f.int(1e6)}` };
  return { kind: "upsert", record: recordId(`uuid:f0f0f0f0-0000-4000-8000-${f.int(1e6).toString(16).padStart(12, "0")}`), type: recordType("household"), base: null, fields };
}

function stored(store: SqliteStore, author: AuthorId, seq: number): SignedEvent {
  const ev = store.readEvents(author, seq, seq)[0];
  if (!ev) throw new Error(`the station has no ${author}#${seq}`);
  return ev;
}

/** An event of `author`'s feed at `seq` over the station's own prev, signed by `by` (the author for a fork, anyone for a forgery). */
function eventAt(store: SqliteStore, author: AuthorId, seq: number, by: Signer, f: Fuzz): { ev: SignedEvent; prevWall: number | null } {
  const prev = seq > 1 ? stored(store, author, seq - 1) : null;
  const hlc: Hlc = { wall: (prev?.hlc.wall ?? 1_767_225_600_000) + 1 + f.int(60_000), counter: f.int(3) };
  const ev = signEvent(by, { seq, prev: (prev?.id ?? null) as EventId | null, hlc }, body(f));
  return { ev: { ...ev, author }, prevWall: prev?.hlc.wall ?? null };
}

/** [item at `from`, the station's genuine items after it up to the head, a forgery one past the head]. */
function eventsMessage(c: InsiderContext, author: AuthorId, from: number, first: ReturnType<typeof eventAt>, forged: ReturnType<typeof eventAt>): Uint8Array {
  const head = c.store.headSeq(author);
  const genuine = from < head ? c.store.wireItems(author, from + 1, head, Number.MAX_SAFE_INTEGER).items : [];
  const items = [encodeWireItem(first.ev, first.prevWall), ...genuine, encodeWireItem(forged.ev, forged.prevWall)];
  return encodeMessage({ type: "events", short: shortTag(author), start: from, items });
}

export function insiderFrames(c: InsiderContext): InsiderFrames {
  const { f, store } = c;
  const stranger = generateSigner().signer;
  const feeds = c.members.filter((m) => store.headSeq(m.author) > 0);
  if (feeds.length === 0) throw new Error("insider frames need a member whose feed the station holds");
  const forgeries = new Map(feeds.map((m) => [m.author, Array.from({ length: FORGERY_POOL }, () => eventAt(store, m.author, store.headSeq(m.author) + 1, stranger, f))]));
  const forgeryOf = (author: AuthorId) => f.pick(forgeries.get(author) ?? []);
  const forkIds = new Set<EventId>();
  const forks = Array.from({ length: FORK_POOL }, () => {
    const m = f.pick(feeds);
    const head = store.headSeq(m.author);
    const seq = Math.max(1, head - f.int(FORK_DEPTH));
    const fork = eventAt(store, m.author, seq, m, f);
    forkIds.add(fork.ev.id);
    return { member: m, message: eventsMessage(c, m.author, seq, fork, forgeryOf(m.author)) };
  });
  const forgedHeld = Array.from({ length: FORGERY_POOL }, () => {
    const m = f.pick(feeds);
    const seq = Math.max(1, store.headSeq(m.author) - f.int(FORK_DEPTH));
    return { member: m, message: eventsMessage(c, m.author, seq, eventAt(store, m.author, seq, stranger, f), forgeryOf(m.author)) };
  });
  const strangerMessages = Array.from({ length: FORGERY_POOL }, () => {
    const ev = signEvent(stranger, { seq: 1, prev: null, hlc: { wall: 1_767_225_600_000 + f.int(1e9), counter: 0 } }, body(f));
    return encodeMessage({ type: "events", short: shortTag(stranger.author), start: 1, items: [encodeWireItem(ev, null)] });
  });
  const memberId = (m: Signer) => new Uint8Array(shortTag(m.author));
  const generators: HostileGenerator[] = [
    { name: "fork: a member signs another event at a seq the station holds", make: () => {
      const k = f.pick(forks);
      return c.carry(f.chance(0.5) ? memberId(k.member) : memberId(f.pick(c.members)), k.message);
    } },
    { name: "forgery: a member's next event signed with another key", make: () => {
      const m = f.pick(feeds);
      const head = store.headSeq(m.author);
      const g = forgeryOf(m.author);
      const items = [...store.wireItems(m.author, head, head, Number.MAX_SAFE_INTEGER).items, encodeWireItem(g.ev, g.prevWall)];
      return c.carry(memberId(f.pick(c.members)), encodeMessage({ type: "events", short: shortTag(m.author), start: head, items }));
    } },
    { name: "forgery: another event at a held seq, signed with another key", make: () => {
      const k = f.pick(forgedHeld);
      return c.carry(memberId(k.member), k.message);
    } },
    { name: "a non-member's genuinely signed events", make: () => c.carry(new Uint8Array(shortTag(stranger.author)), f.pick(strangerMessages)) },
  ];
  return { generators, forkIds };
}
