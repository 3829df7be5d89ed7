/**
 * Attachment bytes on the simulated LoRa air at the reference settings
 * (SF9/125 kHz/CR 4:5, 1 % duty cycle, 10 % loss): a 10 kB photo held at one
 * end of a line reaches the far end.
 *
 * - radio.blob_bytes_per_hour_one_hop: photo bytes over the hours from the
 *   attachment's creation until the neighbour holds it whole (two stations).
 * - radio.blob_bytes_per_hour_three_hops: the same across four stations in a
 *   line (relays serve the chunks they hold while still fetching).
 * - radio.blob_bytes_per_airtime_s: photo bytes delivered one hop per second
 *   of airtime its blob frames (wants and chunks, repeats included) took.
 */
import { type RadioSite } from "../src/demo/radio-network.js";
import { attachPhoto, blobLine, isBlobPacket, photoBytes } from "../test/support/blob-net.js";
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
  const net = blobLine(stations, { seed: w.seed, loss: w.loss, dutyFraction: w.duty });
  let blobAirtimeMs = 0;
  const untap = net.medium.tap((p) => {
    if (isBlobPacket(p.bytes)) blobAirtimeMs += p.airtimeMs;
  });
  try {
    await net.start();
    const hash = attachPhoto(net.sites[0] as RadioSite, "uuid:bench-photo", photoBytes(w.photoBytes, w.seed));
    const start = net.scheduler.now();
    const far = net.sites[stations - 1] as RadioSite;
    net.runFor(14 * 24 * HOUR, () => far.store.blobs.has(hash));
    if (!far.store.blobs.has(hash)) throw new Error(`the photo did not cross ${stations} stations in two weeks`);
    if (blobAirtimeMs === 0) throw new Error("no blob frame was recognised on the air: the packet filter no longer matches the frame layout");
    const chunksSent = net.sites.reduce((n, s) => n + s.node.stats.framesSent["blob-chunk"], 0);
    const run = { stations, elapsedMs: net.scheduler.now() - start, blobAirtimeMs, chunksSent };
    log(`blob: ${w.photoBytes} B across ${stations} stations in ${(run.elapsedMs / HOUR).toFixed(1)} h; ${chunksSent} chunks, ${(blobAirtimeMs / 1000).toFixed(0)} s of blob airtime`);
    return run;
  } finally {
    untap();
    await net.close();
  }
}
