/**
 * A record that only a removed member's voided events wrote: cutting the
 * feed takes it out of the view (as a re-fold of the events left has it), and
 * the view's change sequence names it gone, so its readers (the bridge's
 * writer, the radio's attachment index) learn of it. And start-up does not
 * apply cuts again that it applied before.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { sha256 } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { AttachmentIndex } from "../src/engine/sync/attachment-index.js";
import { refold, trio, upsert } from "./support/removal-trio.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-removal-gone-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const PHOTO = Buffer.from("the bytes of a photo");

/** `m` writes r0 (kept: below the cut), then r1 with a photo and an edit of r0 (voided); `b` holds all of it, `a` only r0. */
function removedWriter(tag: string) {
  const { signers, stores } = trio((i) => join(dir, `${tag}-${i}.db`));
  const [a, b, m] = stores as [SqliteStore, SqliteStore, SqliteStore];
  const [aAuthor, mAuthor] = [signers[0]!.author, signers[2]!.author];
  upsert(m, "r0", { x: 1 });
  a.ingest(m.readEvents(mAuthor, 1, 1));
  upsert(m, "r1", { y: 1 });
  m.append({ kind: "attachment", record: recordId("r1"), type: recordType("t"), field: "p.jpg", hash: sha256(PHOTO), size: PHOTO.length, mime: "image/jpeg" });
  upsert(m, "r0", { x: 2 });
  assert.equal(b.ingest(m.readEvents(mAuthor, 1, 4)).applied, 4);
  const removal = a.removeMemberEverywhere(mAuthor);
  assert.ok(removal.ok && removal.event.body.kind === "removal" && removal.event.body.after === 1, "a cuts m after the one event it holds");
  return { a, b, m, aAuthor, mAuthor, signers, stores };
}

describe("a record only voided events wrote", () => {
  it("leaves the view as a re-fold has it; the change sequence names it gone, and the attachment index drops its photo", () => {
    const { a, b, aAuthor, stores } = removedWriter("gone");
    const index = new AttachmentIndex(b);
    index.refresh();
    assert.deepEqual([...index.entries()].map(([h]) => h), [sha256(PHOTO).toString("hex")], "b wants the photo r1 names");
    const mark = b.viewChangeSeq();
    assert.equal(b.ingest(a.readEvents(aAuthor, 1, a.headSeq(aAuthor))).applied, a.headSeq(aAuthor));

    assert.equal(b.getRecord(recordId("r1")), undefined, "r1 is not in the view");
    assert.ok(b.viewBytes().equals(refold(b)), "the view is a re-fold of the events left");
    assert.ok(b.viewBytes().equals(a.viewBytes()), "and the view of the site that never took them");
    const changes = b.changedRecords(mark, 10);
    assert.deepEqual(
      changes.map((c) => [c.record, c.type, c.state === null ? "gone" : c.state.fields.get("x")?.value]).sort(),
      [[recordId("r0"), "t", 1], [recordId("r1"), "t", "gone"]],
      "r0 changed back to m's first value, r1 is gone",
    );
    assert.ok(changes.every((c) => c.change > mark && c.change <= b.viewChangeSeq()));
    assert.deepEqual(b.changedRecords(mark, 10, ["other"]), [], "the type filter applies to gone records too");
    assert.deepEqual(b.changedRecords(mark, 1).length, 1, "the limit counts gone records");
    assert.equal(index.refresh(), true, "the index hears of it");
    assert.deepEqual([...index.entries()], [], "and no longer wants the photo");
    for (const s of stores) s.close();
  });

  it("stays gone across a restart, and a later write of the record makes it present again, reported once", () => {
    const { a, b, m, aAuthor, signers } = removedWriter("back");
    const mark = b.viewChangeSeq();
    b.ingest(a.readEvents(aAuthor, 1, a.headSeq(aAuthor)));
    const seq = b.viewChangeSeq();
    b.close();
    const again = openStore({ path: join(dir, "back-1.db"), signer: signers[1]!, verifyPool: null });
    assert.equal(again.viewChangeSeq(), seq, "the sequence resumes after the gone record's change");
    assert.deepEqual(again.changedRecords(mark, 10).filter((c) => c.state === null).map((c) => c.record), [recordId("r1")]);
    upsert(again, "r1", { y: 5 });
    const r1 = (after: number) => again.changedRecords(after, 10).filter((c) => c.record === recordId("r1"));
    for (const from of [mark, seq]) {
      assert.deepEqual(r1(from).map((c) => c.state?.fields.get("y")?.value), [5], `from ${from}: r1 once, present`);
    }
    assert.ok(again.viewBytes().equals(refold(again)));
    for (const s of [a, m, again]) s.close();
  });

  it("start-up applies the cuts of a store written before it knew of removals, and skips cuts it applied before", () => {
    const { a, b, m, aAuthor, mAuthor, signers } = removedWriter("open");
    const path = join(dir, "open-1.db");
    b.close();
    // As a version before removals (schema 5) stored it: a's removal held as an event of an unknown kind, m's feed not cut.
    const db = new Database(path);
    const ev = a.db.prepare("SELECT seq, id, wall, counter, kind, body, sig FROM events WHERE kind = 5").get() as Record<string, unknown>;
    const aIx = (db.prepare("SELECT ix FROM authors WHERE key = ?").get(Buffer.from(aAuthor, "hex")) as { ix: number }).ix;
    db.prepare("INSERT INTO events (author_ix, seq, id, wall, counter, kind, body, sig, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)")
      .run(aIx, ev.seq, ev.id, ev.wall, ev.counter, ev.kind, ev.body, ev.sig);
    db.prepare("UPDATE authors SET head_seq = ?, head_id = ?, head_wall = ?, head_counter = ? WHERE ix = ?").run(ev.seq, ev.id, ev.wall, ev.counter, aIx);
    db.exec("DELETE FROM removals; UPDATE meta SET value = 5 WHERE key = 'schema_version'");
    db.close();

    const open = () => openStore({ path, signer: signers[1]!, verifyPool: null });
    let s = open();
    assert.equal(s.headSeq(mAuthor), 1, "the cut is applied at open");
    assert.equal(s.getRecord(recordId("r1")), undefined);
    assert.deepEqual(s.changedRecords(0, 10).filter((c) => c.state === null).map((c) => c.record), [recordId("r1")], "and r1 is named gone");
    assert.ok(s.viewBytes().equals(a.viewBytes()));
    // A row of m's feed beyond its cut, waiting in the gap buffer: what applying the cuts again would drop.
    s.db.prepare("INSERT INTO gap_buffer (author_ix, seq, digest, form, item, received_at) SELECT ix, 9, x'00', 0, x'00', 0 FROM authors WHERE key = ?")
      .run(Buffer.from(mAuthor, "hex"));
    s.close();
    s = open();
    assert.equal(s.gapBufferSize(), 1, "the cuts held are those applied: start-up leaves the store alone");
    s.db.prepare("DELETE FROM meta WHERE key = 'removal.cuts-applied'").run();
    s.close();
    s = open();
    assert.equal(s.gapBufferSize(), 0, "without the record of what was applied, start-up applies the cuts");
    for (const x of [a, m, s]) x.close();
  });
});
