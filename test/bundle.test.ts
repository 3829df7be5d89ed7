/**
 * Bundles end to end on real SQLite files: site A (holding everyone's feeds)
 * exports; B and C import and then hold the same events and the same view.
 * Sealed and unsealed, idempotent re-import, export `since` a frontier (and
 * the gap it leaves at a site that lacks the start), every kind of input and
 * output, progress, an empty site.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import {
  BundleSignerError, exportBundle, importBundle, UNSEALED_IMPORT_WARNING, UNSEALED_WARNING, type ImportResult,
} from "../src/bundle/index.js";
import { generateSigner } from "../src/engine/crypto.js";
import {
  assertSameState, carry, frontierOf, joinNetwork, KEY, NETWORK, openSite, progressLog, writeEvents, type Site,
} from "./support/bundle-sites.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-bundle-"));
const sites: Site[] = [];
after(() => {
  for (const s of sites) s.store.close();
  rmSync(dir, { recursive: true, force: true });
});

function site(name: string): Site {
  const s = openSite(dir, name);
  sites.push(s);
  return s;
}

/** A new, empty site that knows A, B, C and D as members (and `without` not). */
function freshSite(name: string, without: readonly Site[] = []): Site {
  const s = site(name);
  for (const m of [A, B, C, D]) if (!without.includes(m)) s.store.addMember(m.signer.author, m.name);
  return s;
}

function ok(r: ImportResult): Extract<ImportResult, { ok: true }> {
  assert.ok(r.ok, r.ok ? "" : `import refused: ${r.problem}: ${r.message}`);
  return r;
}

const exportOptions = { signer: undefined as never, networkKey: KEY, network: NETWORK };
const importOptions = { networkKey: KEY, network: NETWORK };

let A: Site, B: Site, C: Site, D: Site;
let sealedPath: string;

before(async () => {
  [A, B, C, D] = [site("A"), site("B"), site("C"), site("D")];
  joinNetwork([A, B, C, D]);
  writeEvents(A, 40);
  writeEvents(B, 25);
  writeEvents(C, 10);
  writeEvents(D, 30);
  for (const author of [B, C, D]) carry(author, A, author);
  carry(D, B, D, 12); // B heard part of D's feed by radio
  sealedPath = join(dir, "a-sealed.bundle");
  await exportBundle(A.store, { path: sealedPath }, { ...exportOptions, signer: A.signer });
});

describe("bundle export and import", () => {
  it("carries A's copy of every feed to B and C, whose views then equal A's", async () => {
    const progress = progressLog();
    const path = join(dir, "a-progress.bundle");
    const exported = await exportBundle(A.store, { path }, { ...exportOptions, signer: A.signer, onProgress: progress.onProgress });
    assert.equal(exported.events, 105);
    assert.equal(exported.sealed, true);
    assert.deepEqual(exported.warnings, []);
    assert.deepEqual(exported.feeds.map((f) => [f.from, f.to]).sort(), [[1, 10], [1, 25], [1, 30], [1, 40]]);
    progress.assertComplete("export");

    const atB = ok(await importBundle(B.store, { path }, { ...importOptions, onProgress: progress.onProgress }));
    assert.deepEqual(atB.counts, { events: 105, applied: 68, duplicates: 37, buffered: 0, refused: {}, skipped: 0 });
    assert.deepEqual(atB.warnings, []);
    assert.match(atB.message, /68 new events; 37 already here/);
    progress.assertComplete("verify");
    progress.assertComplete("ingest");
    assertSameState(A, B);

    const atC = ok(await importBundle(C.store, { path: sealedPath }, importOptions));
    assert.equal(atC.counts.applied, 95);
    assert.equal(atC.counts.duplicates, 10);
    assertSameState(A, C);
  });

  it("changes nothing when the same bundle is imported again", async () => {
    const E = freshSite("E");
    ok(await importBundle(E.store, { path: sealedPath }, importOptions));
    const before = { frontier: frontierOf(E), view: E.store.viewBytes(), events: E.store.eventCount(), gap: E.store.gapBufferSize() };
    const again = ok(await importBundle(E.store, { path: sealedPath }, importOptions));
    assert.deepEqual(again.counts, { events: 105, applied: 0, duplicates: 105, buffered: 0, refused: {}, skipped: 0 });
    assert.deepEqual(frontierOf(E), before.frontier);
    assert.ok(E.store.viewBytes().equals(before.view));
    assert.equal(E.store.eventCount(), before.events);
    assert.equal(E.store.gapBufferSize(), before.gap);
  });

  it("seals records: a sealed file shows none of them, an unsealed one does and says so", async () => {
    const recordText = Buffer.from("uuid:A-1");
    assert.equal(readFileSync(sealedPath).includes(recordText), false, "a record id is readable in the sealed bundle");

    const plainPath = join(dir, "a-plain.bundle");
    const plain = await exportBundle(A.store, { path: plainPath }, { signer: A.signer, networkKey: null, network: NETWORK, compress: false });
    assert.equal(plain.sealed, false);
    assert.deepEqual(plain.warnings, [UNSEALED_WARNING]);
    assert.ok(readFileSync(plainPath).includes(recordText), "the unsealed, uncompressed bundle should show its records");

    const keyless = freshSite("F");
    const atF = ok(await importBundle(keyless.store, { path: plainPath }, { networkKey: null, network: NETWORK }));
    assert.deepEqual(atF.warnings, [UNSEALED_IMPORT_WARNING]);
    assertSameState(A, keyless);
    const keyed = freshSite("G");
    ok(await importBundle(keyed.store, { path: plainPath }, importOptions)); // integrity rests on the signature
    assertSameState(A, keyed);
  });

  it("exports only what another site's frontier lacks, and reports the gap where the start is missing", async () => {
    const H = freshSite("H");
    carry(A, H, A, 20);
    carry(A, H, B);
    const since = H.store.frontier();
    const path = join(dir, "a-since-h.bundle");
    const exported = await exportBundle(A.store, { path }, { ...exportOptions, signer: A.signer, since });
    const byAuthor = new Map(exported.feeds.map((f) => [f.author, [f.from, f.to]]));
    assert.deepEqual(byAuthor.get(A.signer.author), [21, 40]);
    assert.equal(byAuthor.has(B.signer.author), false, "B's feed is complete at H");
    assert.equal(exported.events, 20 + 10 + 30);
    const atH = ok(await importBundle(H.store, { path }, importOptions));
    assert.equal(atH.counts.applied, 60);
    assertSameState(A, H);

    const I = freshSite("I");
    const atI = ok(await importBundle(I.store, { path }, importOptions));
    assert.deepEqual(atI.gaps, [{ author: A.signer.author, from: 21, to: 40, have: 0 }]);
    assert.equal(atI.counts.skipped, 20);
    assert.equal(atI.counts.applied, 40, "C's and D's feeds start at 1 and apply");
    assert.equal(I.store.gapBufferSize(), 0, "skipped events do not fill the gap buffer");
    assert.ok(atI.warnings.some((w) => w.includes("only up to 0") && w.includes("since this site's frontier")));
    ok(await importBundle(I.store, { path: sealedPath }, importOptions));
    assertSameState(A, I);
  });

  it("counts the events of authors that are not members here as refused", async () => {
    const J = freshSite("J", [D]);
    const atJ = ok(await importBundle(J.store, { path: sealedPath }, importOptions));
    assert.deepEqual(atJ.counts.refused, { "non-member": 30 });
    assert.equal(atJ.counts.applied, 75);
  });

  it("writes the same bytes to a file and to a stream, and reads them from a path, bytes or a stream", async () => {
    const fixed = { ...exportOptions, signer: A.signer, now: () => 1_800_000_000_000, randomBytes: (n: number) => new Uint8Array(n).fill(7) };
    const path = join(dir, "a-fixed.bundle");
    await exportBundle(A.store, { path }, fixed);
    const pieces: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (pieces.push(chunk), cb()) });
    await exportBundle(A.store, { stream: sink }, fixed);
    const bytes = readFileSync(path);
    assert.ok(Buffer.concat(pieces).equals(bytes), "stream and file exports differ");
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".partial")), [], "a partial file was left behind");

    ok(await importBundle(freshSite("K").store, { bytes }, importOptions));
    const spoolDir = join(dir, "spool");
    mkdirSync(spoolDir);
    const progress = progressLog();
    const upload = Readable.from(Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) => bytes.subarray(i * 1000, (i + 1) * 1000)));
    const L = freshSite("L");
    const atL = ok(await importBundle(L.store, { stream: upload, spoolDir }, { ...importOptions, onProgress: progress.onProgress }));
    assert.equal(atL.counts.applied, 105);
    assertSameState(A, L);
    assert.equal(progress.phases.get("receive")?.at(-1)?.bytes, bytes.length);
    progress.assertComplete("receive");
    progress.assertComplete("ingest");
    assert.deepEqual(readdirSync(spoolDir), [], "the spool file was not deleted");
  });

  it("exports and imports an empty site", async () => {
    const Z = site("Z");
    B.store.addMember(Z.signer.author, "Z");
    const progress = progressLog();
    const path = join(dir, "z.bundle");
    const exported = await exportBundle(Z.store, { path }, { ...exportOptions, signer: Z.signer, onProgress: progress.onProgress });
    assert.deepEqual([exported.events, exported.chunks, exported.feeds.length], [0, 1, 0]);
    progress.assertComplete("export");
    const before = frontierOf(B);
    const r = ok(await importBundle(B.store, { path }, { ...importOptions, onProgress: progress.onProgress }));
    assert.deepEqual(r.counts, { events: 0, applied: 0, duplicates: 0, buffered: 0, refused: {}, skipped: 0 });
    progress.assertComplete("ingest");
    assert.deepEqual(frontierOf(B), before);
  });

  it("refuses to sign with an identity that is not the store's, leaving no file", async () => {
    const path = join(dir, "wrong-signer.bundle");
    await assert.rejects(exportBundle(A.store, { path }, { ...exportOptions, signer: generateSigner().signer }), BundleSignerError);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith("wrong-signer")), []);
  });
});
