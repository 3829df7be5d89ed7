/**
 * A large bundle (20,000 events from four sites) streams both ways: export
 * writes it chunk by chunk (no write larger than one chunk), import reads it
 * back from a stream of small pieces, and the importing site ends with the
 * same feeds and view. Nothing here is timed (bench/bundle.ts measures
 * 100,000). The size is kept down because every event costs a signature and
 * two verifications here, on a machine whose two cores run the whole suite.
 */
import assert from "node:assert/strict";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { exportBundle, importBundle } from "../src/bundle/index.js";
import { CHUNK_HEAD_BYTES, MAX_CHUNK_BYTES, SEAL_TAG_BYTES } from "../src/bundle/bundle-format.js";
import { generateSigner } from "../src/engine/crypto.js";
import type { SignedEvent } from "../src/engine/event.js";
import { assertSameState, joinNetwork, KEY, NETWORK, openSite, progressLog, signedFeed, type Site } from "./support/bundle-sites.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-bundle-large-"));
const sites: Site[] = [];
after(() => {
  for (const s of sites) s.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const AUTHORS = 4;
const PER_AUTHOR = 5_000;

describe("a large bundle", () => {
  it("streams 20,000 events out and in", async () => {
    const signers = Array.from({ length: AUTHORS }, () => generateSigner().signer);
    const A = openSite(dir, "A", signers[0]);
    const B = openSite(dir, "B");
    sites.push(A, B);
    for (const s of signers) for (const site of [A, B]) if (s.author !== site.signer.author) site.store.addMember(s.author);
    joinNetwork([A, B]);
    for (const s of signers) {
      let batch: SignedEvent[] = [];
      for (const ev of signedFeed(s, PER_AUTHOR, 1_790_000_000_000)) {
        batch.push(ev);
        if (batch.length === 1000) {
          assert.equal(A.store.ingest(batch).applied, 1000);
          batch = [];
        }
      }
    }
    assert.equal(A.store.eventCount(), AUTHORS * PER_AUTHOR);

    const writes: number[] = [];
    const counting = new Writable({ write: (chunk: Buffer, _enc, cb) => (writes.push(chunk.length), cb()) });
    const streamed = await exportBundle(A.store, { stream: counting }, { signer: A.signer, networkKey: KEY, network: NETWORK });
    assert.equal(streamed.events, AUTHORS * PER_AUTHOR);
    assert.ok(writes.length >= streamed.chunks && streamed.chunks > 20, `${streamed.chunks} chunks in ${writes.length} writes`);
    assert.ok(Math.max(...writes) <= CHUNK_HEAD_BYTES + MAX_CHUNK_BYTES + SEAL_TAG_BYTES, "a write larger than a chunk");

    const path = join(dir, "a.bundle");
    const progress = progressLog();
    const exported = await exportBundle(A.store, { path }, { signer: A.signer, networkKey: KEY, network: NETWORK, onProgress: progress.onProgress });
    assert.equal(exported.bytes, statSync(path).size);
    progress.assertComplete("export");

    const pieces = createReadStream(path, { highWaterMark: 16 * 1024 });
    const r = await importBundle(B.store, { stream: pieces, spoolDir: dir }, { networkKey: KEY, network: NETWORK, onProgress: progress.onProgress });
    assert.ok(r.ok, r.ok ? "" : r.message);
    assert.equal(r.counts.applied, AUTHORS * PER_AUTHOR);
    for (const phase of ["receive", "verify", "ingest"]) progress.assertComplete(phase);
    assert.ok((progress.phases.get("ingest")?.length ?? 0) >= 20, "ingest progress is reported batch by batch");
    assertSameState(A, B);
  });
});
