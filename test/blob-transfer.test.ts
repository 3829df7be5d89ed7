/**
 * Blob transfer piece by piece: the messages (one sealed frame each, parsed
 * strictly), the partial chunks kept in SQLite, a fetch that resumes after a
 * restart asking only for what it lacks, a holder that strikes chunks it
 * overheard, and hostile blob messages that are dropped and counted and
 * never leave a blob stored under a hash it does not match.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { encodeCanonical, type CborValue } from "../src/engine/cbor.js";
import { generateSigner, sha256, type Signer } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import {
  BLOB_CHUNK_BYTES, BLOB_PREFIX_BYTES, MAX_BLOB_CHUNKS, chunkCount, type BlobChunkMessage, type BlobWantMessage,
} from "../src/engine/sync/blob-messages.js";
import { AttachmentIndex } from "../src/engine/sync/attachment-index.js";
import { decodeMessage, encodeMessage, type SyncMessage } from "../src/engine/sync/messages.js";
import { SyncNode } from "../src/engine/sync/sync-node.js";
import { createAirCodec } from "../src/radio/air/codec.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-blob-transfer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_767_225_600_000;
const prefixOf = (hash: Uint8Array) => hash.subarray(0, BLOB_PREFIX_BYTES);

describe("blob messages", () => {
  const prefix = sha256(Buffer.from("photo")).subarray(0, BLOB_PREFIX_BYTES);
  const samples: SyncMessage[] = [
    { type: "blob-want", prefix, ranges: [[0, 0], [2, 47]] },
    { type: "blob-want", prefix, ranges: [[MAX_BLOB_CHUNKS - 1, MAX_BLOB_CHUNKS - 1]] },
    { type: "blob-chunk", prefix, index: 0, bytes: randomBytes(BLOB_CHUNK_BYTES) },
    { type: "blob-chunk", prefix, index: 1234, bytes: randomBytes(17) },
  ];
  samples.forEach((m, i) => {
    it(`${m.type} round-trips (${i})`, () => {
      const parsed = decodeMessage(encodeMessage(m));
      assert.ok(parsed.ok);
      assert.equal(parsed.message.type, m.type);
      assert.deepEqual(encodeMessage(parsed.message), encodeMessage(m), "the same message, byte for byte");
    });
  });

  it("the largest chunk fills one sealed 254-byte frame", () => {
    const codec = createAirCodec({ networkId: 1, stationId: Buffer.alloc(4, 1), networkKey: randomBytes(32), clock: { now: () => 0 }, random: Math.random });
    const largest = encodeMessage({ type: "blob-chunk", prefix, index: MAX_BLOB_CHUNKS - 1, bytes: randomBytes(BLOB_CHUNK_BYTES) });
    assert.ok(largest.length <= codec.payloadCapacity(), `${largest.length} > ${codec.payloadCapacity()}`);
    assert.ok(largest.length >= codec.payloadCapacity() - 4, "and leaves little of it unused");
    assert.equal(codec.encode(largest).length, 1);
  });

  it("refuses bad shapes: prefix length, empty or oversized chunks, ranges out of order, touching or past the limit", () => {
    const bad: CborValue[][] = [
      [1, 6, prefix.subarray(0, 7), 0, Buffer.of(1)],
      [1, 6, prefix, 0, Buffer.alloc(0)],
      [1, 6, prefix, 0, Buffer.alloc(BLOB_CHUNK_BYTES + 1)],
      [1, 6, prefix, -1, Buffer.of(1)],
      [1, 6, prefix, MAX_BLOB_CHUNKS, Buffer.of(1)],
      [1, 6, prefix, 0, Buffer.of(1), 0],
      [1, 5, prefix, []],
      [1, 5, prefix, [3, 2]],
      [1, 5, prefix, [0, 2, 2, 4]],
      [1, 5, prefix, [0, 2, 3, 4]],
      [1, 5, prefix, [5, 6, 0, 1]],
      [1, 5, prefix, [0]],
      [1, 5, prefix, [0, MAX_BLOB_CHUNKS]],
      [1, 5, prefix, [0, 1], 0],
    ];
    for (const v of bad) {
      const encoded = encodeCanonical(v as CborValue);
      assert.deepEqual(decodeMessage(encoded), { ok: false, reason: "malformed-message" }, JSON.stringify(v));
    }
  });
});

describe("partial blobs in the store", () => {
  it("keep chunks across a reopen, store the joined bytes only under their hash, and discard a bad join", () => {
    const path = join(dir, "partials.db");
    const signer = generateSigner().signer;
    const photo = randomBytes(1000);
    const hash = sha256(photo);
    let s = openStore({ path, signer, verifyPool: null });
    s.blobs.partials.begin(hash, photo.length, "image/jpeg");
    assert.equal(s.blobs.partials.addChunk(hash, 1, photo.subarray(500)), true);
    assert.equal(s.blobs.partials.addChunk(hash, 1, photo.subarray(500)), false, "held already");
    assert.equal(s.blobs.partials.addChunk(sha256(Buffer.of(1)), 0, photo), false, "no partial begun for that hash");
    s.close();
    s = openStore({ path, signer, verifyPool: null });
    assert.deepEqual(s.blobs.partials.chunkIndices(hash), [1]);
    assert.deepEqual(s.blobs.partials.list().map((p) => [p.size, p.chunks, p.bytes]), [[1000, 1, 500]]);
    s.blobs.partials.addChunk(hash, 0, Buffer.alloc(500)); // wrong bytes
    assert.equal(s.blobs.partials.complete(hash), "mismatch");
    assert.equal(s.blobs.has(hash), false);
    assert.equal(s.blobs.partials.list().length, 0, "the bad join is gone");
    s.blobs.partials.begin(hash, photo.length, "image/jpeg");
    s.blobs.partials.addChunk(hash, 0, photo.subarray(0, 500));
    s.blobs.partials.addChunk(hash, 1, photo.subarray(500));
    assert.equal(s.blobs.partials.complete(hash), "stored");
    assert.deepEqual(s.blobs.get(hash), photo);
    assert.deepEqual(s.blobs.slice(hash, 990, 50), photo.subarray(990));
    assert.deepEqual(s.blobs.byPrefix(prefixOf(hash))?.size, 1000);
    assert.equal(s.blobs.byPrefix(prefixOf(sha256(Buffer.of(2)))), null);
    s.close();
  });
});

/** A site holding a photo's bytes and its attachment event, and a node over a second store that has the event. */
function pair(path: string, photo: Buffer, clock: { now: number }) {
  const signers = [generateSigner().signer, generateSigner().signer];
  const holder = openStore({ path: ":memory:", signer: signers[0], verifyPool: null, now: () => clock.now });
  holder.addMember(signers[1]!.author);
  const hash = sha256(photo);
  holder.blobs.put(photo, "image/jpeg", hash);
  holder.append({ kind: "upsert", record: recordId("uuid:1"), type: recordType("household"), base: null, fields: { village: "north" } });
  holder.append({ kind: "attachment", record: recordId("uuid:1"), type: recordType("household"), field: "photo", hash, size: photo.length, mime: "image/jpeg" });
  const open = () => {
    const s = openStore({ path, signer: signers[1], verifyPool: null, now: () => clock.now });
    s.addMember(signers[0]!.author);
    return s;
  };
  const fetcher = open();
  fetcher.ingest(holder.readEvents(signers[0]!.author, 1, 2));
  return { holder, fetcher, open, hash, signers: signers as [Signer, Signer] };
}

function nodeOver(store: SqliteStore, clock: { now: number }, seed: number): SyncNode {
  return new SyncNode({ store, blobStore: store, wantsBlob: () => true, now: () => clock.now, wallNow: () => clock.now, random: seededRandom(seed) });
}

/** Polls `node` as time passes until it sends a blob want; returns it. */
function nextWant(node: SyncNode, clock: { now: number }): BlobWantMessage {
  for (let i = 0; i < 10_000; i++) {
    for (const bytes of node.poll()) {
      const d = decodeMessage(bytes);
      if (d.ok && d.message.type === "blob-want") return d.message;
    }
    clock.now = Math.max(clock.now + 1000, Math.min(node.nextWake(), clock.now + 60_000));
  }
  throw new Error("no want");
}

function chunkOf(photo: Buffer, hash: Uint8Array, index: number): Buffer {
  const m: BlobChunkMessage = { type: "blob-chunk", prefix: prefixOf(hash), index, bytes: photo.subarray(index * BLOB_CHUNK_BYTES, (index + 1) * BLOB_CHUNK_BYTES) };
  return encodeMessage(m);
}

describe("fetching a blob", () => {
  it("resumes after a restart, asking only for the chunks it lacks", () => {
    const clock = { now: T0 };
    const photo = randomBytes(5_000);
    const p = pair(join(dir, "resume.db"), photo, clock);
    const chunks = chunkCount(photo.length);
    let node = nodeOver(p.fetcher, clock, 1);
    assert.deepEqual(nextWant(node, clock).ranges, [[0, chunks - 1]]);
    for (let i = 0; i < 10; i++) node.receive(chunkOf(photo, p.hash, i));
    assert.equal(node.blobStatus()?.partial.received, 10 * BLOB_CHUNK_BYTES);
    p.fetcher.close();
    const reopened = p.open();
    node = nodeOver(reopened, clock, 2);
    assert.equal(node.blobStatus()?.partial.received, 10 * BLOB_CHUNK_BYTES, "the chunks survived the restart");
    assert.deepEqual(nextWant(node, clock).ranges, [[10, chunks - 1]]);
    for (let i = 10; i < chunks; i++) node.receive(chunkOf(photo, p.hash, i));
    assert.deepEqual(reopened.blobs.get(p.hash), photo);
    assert.deepEqual(node.blobStatus()?.partial, { count: 0, bytes: 0, received: 0 });
    assert.equal(node.blobStatus()?.counters.blobsStored, 1);
    reopened.close();
    p.holder.close();
  });

  it("a holder answers a want after its back-off, and strikes the chunks it overheard meanwhile", () => {
    const clock = { now: T0 };
    const photo = randomBytes(2_000);
    const p = pair(":memory:", photo, clock);
    const holder = nodeOver(p.holder, clock, 3);
    const want: BlobWantMessage = { type: "blob-want", prefix: prefixOf(p.hash), ranges: [[0, chunkCount(photo.length) - 1]] };
    holder.receive(encodeMessage(want));
    holder.receive(chunkOf(photo, p.hash, 0)); // another holder was quicker with chunk 0
    const sent: number[] = [];
    for (let i = 0; i < 2_000 && sent.length < chunkCount(photo.length); i++) {
      for (const bytes of holder.poll()) {
        const d = decodeMessage(bytes);
        if (d.ok && d.message.type === "blob-chunk") sent.push(d.message.index);
      }
      clock.now += 500;
    }
    assert.deepEqual(sent, Array.from({ length: chunkCount(photo.length) - 1 }, (_, i) => i + 1));
    assert.equal(holder.blobStatus()?.counters.suppressedChunks, 1);
    p.holder.close();
    p.fetcher.close();
  });

  it("hostile blob messages are dropped or ignored and counted, never thrown, and store nothing but true blobs", () => {
    const clock = { now: T0 };
    const photo = randomBytes(3_000);
    const p = pair(":memory:", photo, clock);
    const node = nodeOver(p.fetcher, clock, 4);
    const random = seededRandom(77);
    const valid = [
      ...Array.from({ length: chunkCount(photo.length) }, (_, i) => chunkOf(photo, p.hash, i)),
      encodeMessage({ type: "blob-want", prefix: prefixOf(p.hash), ranges: [[0, 3], [5, 9]] }),
    ];
    const FRAMES = 20_000;
    let parsed = 0;
    for (let n = 0; n < FRAMES; n++) {
      const frame = Buffer.from(valid[Math.floor(random() * valid.length)]!);
      mutate(frame, random);
      const cut = random() < 0.1 ? frame.subarray(0, Math.floor(random() * frame.length)) : frame;
      if (node.receive(cut)) parsed++;
      if (n % 50 === 0) node.poll();
      clock.now += 1000;
      assert.ok(p.fetcher.blobs.partials.list().length <= 1, "a partial only for the one blob the fetcher wants");
    }
    const dropped = Object.values(node.stats.dropped).reduce((a, b) => a + b, 0);
    assert.equal(parsed + dropped, FRAMES, "every frame parsed or dropped by reason");
    const c = node.blobStatus()!.counters;
    assert.ok(c.badChunks > 0 && c.unwantedChunks > 0 && c.chunksKept > 0, JSON.stringify(c));
    const held = p.fetcher.blobs.stats().count;
    assert.ok(held <= 1);
    if (held === 1) assert.deepEqual(p.fetcher.blobs.get(p.hash), photo, "the only blob it may hold is the true one");
    p.holder.close();
    p.fetcher.close();
  });
});

/** Flips a few bits, or a byte, of `frame` in place. */
function mutate(frame: Buffer, random: () => number): void {
  const flips = Math.floor(random() * 3);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(random() * frame.length);
    frame[at] = random() < 0.5 ? frame[at]! ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
  }
}

describe("attachment index", () => {
  it("reports a change only when a live record's attachments (or its liveness) change", () => {
    const store = openStore({ path: ":memory:", signer: generateSigner().signer, verifyPool: null });
    const index = new AttachmentIndex(store);
    const rec = recordId("uuid:00000000-0000-4000-8000-0000000000a1");
    const type = recordType("household");
    store.append({ kind: "upsert", record: rec, type, base: null, fields: { village: "north" } });
    assert.equal(index.refresh(), false, "a record without attachments");
    const photo = Buffer.from("a photo");
    store.append({ kind: "attachment", record: rec, type, field: "p.jpg", hash: sha256(photo), size: photo.length, mime: "image/jpeg" });
    assert.equal(index.refresh(), true, "an attachment appeared");
    assert.deepEqual([...index.entries()].map(([h]) => h), [sha256(photo).toString("hex")]);
    store.append({ kind: "upsert", record: rec, type, base: null, fields: { village: "south" } });
    assert.equal(index.refresh(), false, "an answer changed, the attachments did not");
    store.append({ kind: "delete", record: rec, type, base: null });
    assert.equal(index.refresh(), true, "the record is gone, and its attachment with it");
    assert.deepEqual([...index.entries()], []);
    store.close();
  });
});
