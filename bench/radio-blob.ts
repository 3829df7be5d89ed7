/**
 * Attachment bytes on the simulated LoRa air at the reference settings
 * (SF9/125 kHz/CR 4:5, 1 % duty cycle, 10 % loss): a 10 kB photo held at one
 * end of a line reaches the far end.
 *
 * - radio.blob_bytes_per_hour_one_hop: photo bytes over the hours from the
 *   attachment's creation until the neighbour holds it whole (two stations).
 * - radio.blob_bytes_per_hour_three_hops: the same across four stations in a
 *   line (relays fetch whole blobs before serving them).
 * - radio.blob_bytes_per_airtime_s: photo bytes delivered one hop per second
 *   of airtime its blob frames (wants and chunks, repeats included) took.
 */
import { randomBytes } from "node:crypto";
import { RadioNetwork, type RadioSite } from "../src/demo/radio-network.js";
import { sha256 } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { lineTopology } from "../src/radio/lora-topology.js";
import { log } from "./metrics.js";

const HOUR = 3_600_000;

export const BLOB_WORKLOAD = { photoBytes: 10_000, loss: 0.1, duty: 0.01, seed: 3 };

export interface BlobRun {
  readonly stations: number;
  /** Virtual ms from the attachment's creation until the far end held the photo. */
  readonly elapsedMs: number;
  /** Airtime of blob frames, all stations. */
  readonly blobAirtimeMs: number;
  readonly chunksSent: number;
}

/** Runs one line of `stations` and measures the photo's way to its far end. */
export async function benchBlobLine(stations: number, w = BLOB_WORKLOAD): Promise<BlobRun> {
  const names = Array.from({ length: stations }, (_, i) => `s${i}`);
  const net = new RadioNetwork({
    names, seed: w.seed, dutyFraction: w.duty, topology: lineTopology(names, { loss: w.loss }), wantsBlob: () => (m) => m.type === "household",
  });
  let blobAirtimeMs = 0;
  const untap = net.medium.tap((p) => {
    if (isBlobPacket(p.bytes)) blobAirtimeMs += p.airtimeMs;
  });
  try {
    await net.start();
    const photo = randomBytes(w.photoBytes);
    const hash = attach(net.sites[0] as RadioSite, photo);
    const start = net.scheduler.now();
    const far = net.sites[stations - 1] as RadioSite;
    net.runFor(14 * 24 * HOUR, () => far.store.blobs.has(hash));
    if (!far.store.blobs.has(hash)) throw new Error(`the photo did not cross ${stations} stations in two weeks`);
    const chunksSent = net.sites.reduce((n, s) => n + s.node.stats.framesSent["blob-chunk"], 0);
    const run = { stations, elapsedMs: net.scheduler.now() - start, blobAirtimeMs, chunksSent };
    log(`blob: ${w.photoBytes} B across ${stations} stations in ${(run.elapsedMs / HOUR).toFixed(1)} h; ${chunksSent} chunks, ${(blobAirtimeMs / 1000).toFixed(0)} s of blob airtime`);
    return run;
  } finally {
    untap();
    await net.close();
  }
}

function attach(site: RadioSite, photo: Buffer): Uint8Array {
  const hash = sha256(photo);
  site.upsert("uuid:bench-photo", "household", { village: "north" });
  site.store.blobs.put(photo, "image/jpeg", hash);
  site.store.append({ kind: "attachment", record: recordId("uuid:bench-photo"), type: recordType("household"), field: "photo", hash, size: photo.length, mime: "image/jpeg" });
  site.announce();
  return hash;
}

/** An unsealed whole-message packet (RNode header, 8-byte air header) carrying a blob message (type 5 or 6). */
function isBlobPacket(bytes: Uint8Array): boolean {
  if (((bytes[4] ?? 0) & 0x7f) !== 1) return false;
  const m = bytes.subarray(9);
  return (m[0] === 0x84 || m[0] === 0x85) && (m[2] === 5 || m[2] === 6);
}
