/**
 * Attachment bytes on the simulated LoRa air (SF9/125 kHz, 1 % duty cycle):
 * a photo held at one end of a line of lossy links reaches the far end
 * through the relays, byte for byte, after the events; a fresh event made
 * while it is on its way goes first; no station ever exceeds its budget, and
 * blob traffic keeps to its share of it; a station whose policy does not
 * fetch the photo neither stores nor relays it; forged chunks never yield a
 * stored blob; sealed, the air carries none of the photo's bytes in clear.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "../src/engine/crypto.js";
import { BLOB_CHUNK_BYTES, BLOB_PREFIX_BYTES, chunkCount } from "../src/engine/sync/blob-messages.js";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { BLOB_BUDGET_SHARE } from "../src/radio/station-timing.js";
import { auditAir } from "./support/airtime-audit.js";
import { attachPhoto, blobLine, HOUR, isBlobPacket, photoBytes, transferPhotos, uuid } from "./support/blob-net.js";

const DUTY = 0.01;
const PHOTO_BYTES = 10_000;

const chunksSent = (net: ReturnType<typeof blobLine>) => net.sites.reduce((n, s) => n + s.node.stats.framesSent["blob-chunk"], 0);

describe("attachment bytes over the simulated LoRa air", () => {
  for (const [n, loss, seed] of [[4, 0.2, 5], [5, 0.3, 11], [3, 0.1, 2]] as const) {
    it(`a ${PHOTO_BYTES / 1000} kB photo crosses ${n} stations in a line at ${loss * 100} % loss, after the events, within the budget`, async () => {
      const net = blobLine(n, { seed, loss, dutyFraction: DUTY });
      const audit = auditAir(net.medium);
      try {
        await net.start();
        const photo = photoBytes(PHOTO_BYTES, seed);
        const hash = attachPhoto(net.sites[0]!, uuid(1), photo);
        const far = net.sites[n - 1]!;
        let chunksBeforeConverged = -1;
        net.runFor(96 * HOUR, () => {
          if (chunksBeforeConverged < 0 && net.converged()) chunksBeforeConverged = chunksSent(net);
          return far.store.blobs.has(hash);
        });
        assert.ok(far.store.blobs.has(hash), "the photo reached the far end");
        assert.deepEqual(far.store.blobs.get(hash), photo, "byte for byte");
        assert.equal(chunksBeforeConverged, 0, "no chunk went on air before every station held the events");
        for (const s of net.sites) {
          assert.ok(s.store.blobs.has(hash), `${s.name} holds it (every relay wants it, and relays only what it holds)`);
          assert.equal(s.store.blobs.partials.list().length, 0, `${s.name} keeps no partial`);
          const worst = audit.maxWindowAirtime(s.name, HOUR);
          assert.ok(worst <= DUTY * HOUR + 1e-6, `${s.name} used ${worst.toFixed(0)} ms of airtime in one hour`);
          assert.equal(s.node.blobStatus()?.counters.badAssemblies, 0);
        }
        // Blob frames alone (one per chunk or want message) stay within their share of any hour's budget.
        assert.ok(blobWindowAirtime(audit, "s0") > 0, "the holder's blob frames are recognised on the air (else the check below checks nothing)");
        for (const s of net.sites) {
          const blobAirtime = blobWindowAirtime(audit, s.name);
          assert.ok(blobAirtime <= BLOB_BUDGET_SHARE * DUTY * HOUR + 1e-6, `${s.name}: blob frames took ${blobAirtime.toFixed(0)} ms of an hour`);
        }
      } finally {
        audit.stop();
        await net.close();
      }
    });
  }

  it("a fresh event made while the photo is on its way reaches every station before further chunks go", async () => {
    const net = blobLine(4, { seed: 7, loss: 0.2, dutyFraction: DUTY });
    try {
      await net.start();
      const hash = attachPhoto(net.sites[0]!, uuid(1), photoBytes(PHOTO_BYTES, 7));
      const far = net.sites[3]!;
      net.runFor(96 * HOUR, () => (far.node.blobStatus()?.partial.received ?? 0) > 0);
      assert.ok((far.node.blobStatus()?.partial.received ?? 0) > 0, "the far end has part of the photo");
      for (const [i, writer] of [[10, net.sites[0]!], [11, far]] as const) {
        const before = chunksSent(net);
        writer.upsert(uuid(i), "household", { village: "south" });
        net.runFor(24 * HOUR, () => net.converged());
        assert.ok(net.converged(), `the event from ${writer.name} reached everyone`);
        const during = chunksSent(net) - before;
        // A station may have one chunk already on its way when it hears of the event; no more.
        assert.ok(during <= net.sites.length, `${during} chunks went on air while an event made at ${writer.name} was on its way`);
      }
      assert.equal(far.store.blobs.has(hash), false, "the photo was still on its way: the events went first");
      net.runFor(96 * HOUR, () => far.store.blobs.has(hash));
      assert.ok(far.store.blobs.has(hash), "and it arrives after them");
    } finally {
      await net.close();
    }
  });

  it("a station whose policy does not fetch the photo neither stores nor relays it", async () => {
    // s0, s1 and s2 hear each other; s3 hears only s2. s2's mapping has no transfer policy for households.
    const pairs = [["s0", "s1"], ["s0", "s2"], ["s1", "s2"], ["s2", "s3"]] as const;
    const links = pairs.flatMap(([a, b]) => [{ from: a, to: b, quality: { loss: 0.1 } }, { from: b, to: a, quality: { loss: 0.1 } }]);
    const net = blobLine(4, { seed: 3, loss: 0.1, dutyFraction: DUTY, topology: { links, unlisted: "deaf" }, wantsBlob: (name) => (name === "s2" ? () => false : transferPhotos) });
    try {
      await net.start();
      const hash = attachPhoto(net.sites[0]!, uuid(1), photoBytes(PHOTO_BYTES, 3));
      net.runFor(48 * HOUR, () => net.site("s1").store.blobs.has(hash));
      assert.ok(net.site("s1").store.blobs.has(hash), "s1 wants it and fetched it");
      net.runFor(24 * HOUR);
      const s2 = net.site("s2");
      assert.ok((s2.node.blobStatus()?.counters.unwantedChunks ?? 0) > 0, "s2 heard the chunks s1 was sent");
      assert.equal(s2.store.blobs.has(hash), false, "but does not fetch what its policy keeps out");
      assert.equal(s2.store.blobs.partials.list().length, 0, "nor keeps any of its chunks");
      assert.equal(s2.node.stats.framesSent["blob-chunk"], 0, "and sends none");
      const s3 = net.site("s3");
      assert.equal(s3.store.blobs.has(hash), false, "s3 behind it has no holder in range: relays need the bytes");
      assert.equal(s3.node.blobStatus()?.wanted.count, 1, "s3 still wants it (and its status says so)");
    } finally {
      await net.close();
    }
  });

  it("a photo beyond the mapping's max_bytes is not fetched", async () => {
    const net = blobLine(2, { seed: 4, loss: 0.1, dutyFraction: 0.1 });
    try {
      await net.start();
      const hash = attachPhoto(net.sites[0]!, uuid(1), photoBytes(70_000, 4));
      net.runFor(12 * HOUR);
      assert.ok(net.converged());
      assert.equal(net.sites[1]!.store.blobs.has(hash), false);
      assert.equal(net.sites[1]!.node.blobStatus()?.wanted.count, 0);
      assert.equal(net.sites[0]!.node.stats.framesSent["blob-chunk"], 0);
    } finally {
      await net.close();
    }
  });

  it("forged chunks under the photo's prefix never yield a stored blob; the real one still arrives", async () => {
    const net = blobLine(2, { seed: 9, loss: 0.1, dutyFraction: 0.1 });
    try {
      await net.start();
      const photo = photoBytes(3_000, 9);
      const hash = attachPhoto(net.sites[0]!, uuid(1), photo);
      const s1 = net.sites[1]!;
      net.runFor(6 * HOUR, () => net.converged());
      assert.ok(net.converged());
      // A key holder gone bad sends a whole forged photo under the real prefix before any real chunk arrives.
      const forged = photoBytes(photo.length, 99);
      for (let i = 0; i < chunkCount(photo.length); i++) {
        const bytes = forged.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES);
        s1.node.receive(encodeMessage({ type: "blob-chunk", prefix: hash.subarray(0, BLOB_PREFIX_BYTES), index: i, bytes }));
      }
      const status = s1.node.blobStatus()!;
      assert.equal(status.counters.badAssemblies, 1, "the joined forgery failed the hash, counted");
      assert.equal(s1.store.blobs.stats().count, 0, "nothing stored");
      assert.equal(s1.store.blobs.has(sha256(forged)), false);
      net.runFor(24 * HOUR, () => s1.store.blobs.has(hash));
      assert.deepEqual(s1.store.blobs.get(hash), photo, "the real photo arrives after all");
      assert.equal(s1.store.blobs.stats().count, 1);
    } finally {
      await net.close();
    }
  });

  it("a relay passes on chunks it holds before the photo is whole; a forged one it passed on never yields a stored blob", async () => {
    const net = blobLine(3, { seed: 12, loss: 0.1, dutyFraction: 0.1 });
    try {
      await net.start();
      const photo = photoBytes(3_000, 12);
      const hash = attachPhoto(net.sites[0]!, uuid(1), photo);
      const [, relay, far] = net.sites as [unknown, (typeof net.sites)[number], (typeof net.sites)[number]];
      net.runFor(6 * HOUR, () => net.converged());
      assert.ok(net.converged());
      // A key holder gone bad, heard by the relay only, sends a forged first chunk before any real one.
      const forged = photoBytes(BLOB_CHUNK_BYTES, 98);
      relay.node.receive(encodeMessage({ type: "blob-chunk", prefix: hash.subarray(0, BLOB_PREFIX_BYTES), index: 0, bytes: forged }));
      assert.deepEqual(relay.store.blobs.partials.chunkIndices(hash), [0], "the relay keeps it: it cannot tell yet");
      net.runFor(48 * HOUR, () => net.sites.every((s) => s.store.blobs.has(hash)));
      for (const s of net.sites) {
        assert.deepEqual(s.store.blobs.get(hash), photo, `${s.name} holds the real photo`);
        assert.equal(s.store.blobs.stats().count, 1, `${s.name} stored nothing else`);
      }
      assert.ok((relay.node.blobStatus()?.counters.partialChunksSent ?? 0) > 0, "the relay served chunks of its partial");
      assert.ok((relay.node.blobStatus()?.counters.badAssemblies ?? 0) >= 1, "its own join with the forgery failed the hash");
      assert.ok((far.node.blobStatus()?.counters.badAssemblies ?? 0) >= 1, "the forgery was passed on, and the far end's join failed the hash too");
    } finally {
      await net.close();
    }
  });

  it("sealed, a capture of the air holds none of the photo's bytes in clear", async () => {
    const net = blobLine(3, { seed: 6, loss: 0.1, dutyFraction: 0.1, sealed: true });
    const audit = auditAir(net.medium);
    try {
      await net.start();
      const photo = photoBytes(4_000, 6);
      const hash = attachPhoto(net.sites[0]!, uuid(1), photo);
      net.runFor(48 * HOUR, () => net.sites[2]!.store.blobs.has(hash));
      assert.deepEqual(net.sites[2]!.store.blobs.get(hash), photo, "it crossed, sealed");
      const capture = Buffer.concat(audit.packets.map((p) => p.bytes));
      // Any 12 bytes of the photo (a chunk carries 211) would show up in clear.
      for (let at = 0; at + 12 <= photo.length; at += 6) {
        assert.equal(capture.indexOf(photo.subarray(at, at + 12)), -1, `the photo's bytes at ${at} are in the capture`);
      }
      assert.equal(capture.indexOf(hash.subarray(0, BLOB_PREFIX_BYTES)), -1, "nor its hash prefix");
    } finally {
      audit.stop();
      await net.close();
    }
  });
});

/** The most airtime `station`'s blob frames took in any hour (a blob frame is one packet of a blob message: type 5 or 6). */
function blobWindowAirtime(audit: ReturnType<typeof auditAir>, station: string): number {
  const mine = audit.packets.filter((p) => p.sender === station && isBlobPacket(p.bytes)).map((p) => [p.atMs, p.atMs + p.airtimeMs] as const);
  let worst = 0;
  for (const [, end] of mine) {
    let sum = 0;
    for (const [s, e] of mine) sum += Math.max(0, Math.min(e, end) - Math.max(s, end - HOUR));
    worst = Math.max(worst, sum);
  }
  return worst;
}

