/**
 * The removal event (kind 5): its codec (and how a version that does not know
 * it carries it), the rule that turns removal events into cuts, and the
 * store's part: refusing, cutting, keeping a removal across a restart.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { encodeCanonical } from "../src/engine/cbor.js";
import { generateSigner } from "../src/engine/crypto.js";
import { bodyToCbor, KIND, parseBody, signEvent, type SignedEvent } from "../src/engine/event.js";
import { decodeSignedEvent, encodeSignedEvent } from "../src/engine/event-codec.js";
import { recordId, recordType, type AuthorId } from "../src/engine/ids.js";
import { removalCuts, type RemovalFact } from "../src/engine/removal-rule.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { agreesOnMembers } from "../src/engine/sync/kindred-digests.js";
import { encodeWireItem, parseWireItem } from "../src/engine/wire.js";
import { refold, trio, upsert } from "./support/removal-trio.js";

const WALL = 1_767_225_600_000;

function fact(remover: string, seq: number, wall: number, member: string, after: number): RemovalFact {
  return { remover: remover as AuthorId, seq, wall, counter: 0, member: member as AuthorId, after };
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe("removal rule", () => {
  it("the smallest after wins, in any order", () => {
    const facts = [fact("a", 5, WALL + 3, "m", 7), fact("b", 2, WALL + 1, "m", 4), fact("c", 9, WALL + 2, "m", 6)];
    for (const p of permutations(facts)) assert.deepEqual([...removalCuts(p)], [["m", 4]]);
  });

  it("a removal naming its own author is inert", () => {
    assert.deepEqual([...removalCuts([fact("m", 3, WALL, "m", 1)])], []);
  });

  it("a removal made after its author was cut below it is void", () => {
    // a removes m after m#2; m's removal of a is m#5, beyond that cut: it counts for nothing.
    const facts = [fact("a", 4, WALL + 1, "m", 2), fact("m", 5, WALL + 2, "a", 1)];
    for (const p of permutations(facts)) assert.deepEqual([...removalCuts(p)], [["m", 2]]);
  });

  it("a later removal never cuts a feed below a removal it made first: the cuts hold on what is left after cutting", () => {
    // a removes m (a#10, after m#7) first; m's concurrent removal of a (m#6, after a#9) is within m's cut and counts, but
    // is clamped so that a's own removal (a#10) survives the cut it makes.
    const facts = [fact("a", 10, WALL + 1, "m", 7), fact("m", 6, WALL + 2, "a", 9)];
    const cuts = removalCuts(facts);
    assert.deepEqual([...cuts].sort(), [["a", 10], ["m", 7]]);
    const left = facts.filter((f) => f.seq <= (cuts.get(f.remover) ?? Infinity));
    assert.deepEqual([...removalCuts(left)].sort(), [...cuts].sort());
  });
});

describe("removal event codec", () => {
  const { signer } = generateSigner();
  const member = generateSigner().signer.author;
  const ev = signEvent(signer, { seq: 1, prev: null, hlc: { wall: WALL, counter: 0 } }, { kind: "removal", member, after: 3 });

  it("round-trips as kind 5: [member key (32 bytes), after]", () => {
    const d = decodeSignedEvent(encodeSignedEvent(ev));
    assert.ok(d.ok);
    assert.deepEqual(d.event.body, { kind: "removal", member, after: 3 });
    assert.equal(d.event.id, ev.id);
    assert.deepEqual(bodyToCbor(ev.body), [Buffer.from(member, "hex"), 3]);
  });

  it("a version that does not know kind 5 holds it as an unknown kind and relays the same bytes, full and on the wire", () => {
    const asUnknown: SignedEvent = { ...ev, body: { kind: "unknown", code: KIND.removal, value: bodyToCbor(ev.body) } };
    assert.ok(encodeSignedEvent(asUnknown).equals(encodeSignedEvent(ev)));
    assert.ok(encodeCanonical(encodeWireItem(asUnknown, null)).equals(encodeCanonical(encodeWireItem(ev, null))));
    const w = parseWireItem(encodeWireItem(asUnknown, null), null, () => undefined);
    assert.ok(typeof w !== "string");
    assert.deepEqual(w.body, ev.body, "relayed by the old version, read here as a removal");
  });

  it("refuses a malformed removal body, and refuses to sign one", () => {
    for (const v of [[Buffer.alloc(31), 1], [Buffer.alloc(32), -1], [Buffer.alloc(32), 1.5], [Buffer.alloc(32)], "x"]) {
      assert.equal(parseBody(KIND.removal, v as never), "malformed-body");
    }
    const store = openStore({ path: ":memory:", signer });
    assert.throws(() => store.append({ kind: "removal", member, after: -1 }), RangeError);
    store.close();
  });
});

describe("removal in the store", () => {
  it("says why it authors no removal: itself, not a member, already removed, no identity", () => {
    const { signers, stores } = trio();
    const [a] = stores as [SqliteStore];
    assert.deepEqual(a.removeMemberEverywhere(signers[0]!.author), { ok: false, reason: "self" });
    assert.deepEqual(a.removeMemberEverywhere(generateSigner().signer.author), { ok: false, reason: "not-a-member" });
    assert.equal(a.removeMemberEverywhere(signers[1]!.author).ok, true);
    assert.deepEqual(a.removeMemberEverywhere(signers[1]!.author), { ok: false, reason: "already-removed" });
    const bare = openStore({ path: ":memory:" });
    bare.addMember(signers[1]!.author);
    assert.deepEqual(bare.removeMemberEverywhere(signers[1]!.author), { ok: false, reason: "no-identity" });
    for (const s of [...stores, bare]) s.close();
  });

  it("cuts a feed it holds beyond the cut, record by record, to the view of the events left (types, deletes, races)", () => {
    const { signers, stores } = trio();
    const [a, b, m] = stores as [SqliteStore, SqliteStore, SqliteStore];
    const mAuthor = signers[2]!.author;
    upsert(m, "r1", { x: 1, y: 1 });
    upsert(b, "r1", { x: 2 }); // races m's write below on x
    const early = m.readEvents(mAuthor, 1, 1);
    a.ingest([...early, ...b.readEvents(signers[1]!.author, 1, 1)]);
    const viewBefore = a.viewBytes();
    m.ingest(b.readEvents(signers[1]!.author, 1, 1));
    upsert(m, "r1", { x: 3, z: 3 }); // m#2: after b's, seen
    m.append({ kind: "delete", record: recordId("r2"), type: recordType("t"), base: null }); // m#3: a record only m's late events touch
    m.append({ kind: "upsert", record: recordId("r3"), type: recordType("t"), base: null, fields: { w: 1 } }); // m#4
    const late = m.readEvents(mAuthor, 2, 4);
    assert.equal(b.ingest([...early, ...late]).applied, 4);
    assert.notDeepEqual(b.viewBytes(), viewBefore);
    const removal = a.removeMemberEverywhere(mAuthor);
    assert.ok(removal.ok);
    assert.equal(b.ingest(a.readEvents(signers[0]!.author, 1, 1)).applied, 1);
    assert.equal(b.headSeq(mAuthor), 1);
    assert.ok(b.viewBytes().equals(refold(b)), "the view is a re-fold of the events left");
    assert.ok(b.viewBytes().equals(a.viewBytes()), "and the view of the site that never took them");
    assert.ok(b.viewBytes().equals(viewBefore));
    assert.equal(b.counterValues()["removal.dropped-events"], 3);
    assert.deepEqual(b.ingest(late).refused, { "removed-member": 3 });
    for (const s of stores) s.close();
  });

  it("keeps a removal across a restart, and drops events of the removed feed waiting in the gap buffer", () => {
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-removal-"));
    try {
      const { signers, stores } = trio();
      const [a, , m] = stores as [SqliteStore, SqliteStore, SqliteStore];
      const mAuthor = signers[2]!.author;
      for (let i = 0; i < 4; i++) upsert(m, `r${i}`, { v: i });
      const mEvents = m.readEvents(mAuthor, 1, 4);
      assert.ok(a.removeMemberEverywhere(mAuthor).ok);
      const path = join(dir, "b.sqlite");
      let b = openStore({ path, signer: signers[1]!, verifyPool: null });
      b.addMember(signers[0]!.author);
      b.addMember(mAuthor);
      b.ingest([mEvents[0]!, mEvents[2]!]); // #3 waits for #2 in the gap buffer
      assert.equal(b.gapBufferSize(), 1);
      b.ingest(a.readEvents(signers[0]!.author, 1, 1)); // a's removal cuts m after #0 (a held none of m's events)
      assert.equal(b.gapBufferSize(), 0, "what waited beyond the cut is gone");
      b.close();
      b = openStore({ path, signer: signers[1]!, verifyPool: null });
      assert.equal(b.acceptsUpTo(mAuthor), 0);
      assert.equal(b.isMember(mAuthor), false);
      assert.equal(b.headSeq(mAuthor), 0);
      assert.deepEqual(b.ingest(mEvents).refused, { "removed-member": 4 });
      assert.ok(b.viewBytes().equals(refold(b)));
      b.close();
      for (const s of stores) s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("frontier agreement on member feeds", () => {
  const ours = new Map([["a", 3], ["b", 5]]);
  const none = () => Infinity;
  it("agrees when only non-member feeds differ, or a removed feed beyond its cut", () => {
    assert.ok(agreesOnMembers([{ author: "a", seq: 3 }, { author: "b", seq: 5 }, { author: undefined, seq: 9 }], ours, none));
    assert.ok(agreesOnMembers([{ author: "a", seq: 3 }, { author: "b", seq: 8 }], ours, (x) => (x === "b" ? 5 : Infinity)));
  });
  it("disagrees when a member feed differs or is missing", () => {
    assert.ok(!agreesOnMembers([{ author: "a", seq: 3 }, { author: "b", seq: 6 }], ours, none));
    assert.ok(!agreesOnMembers([{ author: "a", seq: 3 }], ours, none));
    assert.ok(!agreesOnMembers([{ author: "a", seq: 3 }, { author: "b", seq: 5 }, { author: "c", seq: 1 }], ours, none));
  });
});
