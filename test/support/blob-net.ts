/**
 * Simulated LoRa sites in a line that move attachment bytes: helpers shared
 * by the blob radio tests and the blob benchmark.
 */
import { sha256 } from "../../src/engine/crypto.js";
import { recordId, recordType } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";
import type { WantsBlob } from "../../src/engine/sync/blob-transfer.js";
import { RadioNetwork, type RadioNetworkOptions, type RadioSite } from "../../src/demo/radio-network.js";
import { lineTopology } from "../../src/radio/lora-topology.js";

export const HOUR = 3_600_000;

/** The record type whose attachments travel in these tests (policy "transfer", max_bytes 64 KiB). */
export const PHOTO_TYPE = "household";
export const PHOTO_MAX_BYTES = 64 * 1024;

/** The policy of a site whose mapping transfers household photos up to PHOTO_MAX_BYTES. */
export const transferPhotos: WantsBlob = (m) => m.type === PHOTO_TYPE && m.size <= PHOTO_MAX_BYTES;

/** Sites s0..s{n-1} in a line with `loss`, every one moving blobs by `wantsBlob(name)`. */
export function blobLine(n: number, o: { seed: number; loss: number; dutyFraction?: number; wantsBlob?: (site: string) => WantsBlob } & Partial<RadioNetworkOptions>): RadioNetwork {
  const names = Array.from({ length: n }, (_, i) => `s${i}`);
  return new RadioNetwork({
    names, topology: lineTopology(names, { loss: o.loss }), wantsBlob: o.wantsBlob ?? (() => transferPhotos), ...o,
  });
}

/** `size` bytes that do not compress and are reproducible from `seed`. */
export function photoBytes(size: number, seed: number): Buffer {
  const random = seededRandom(seed);
  return Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256)));
}

/** A record with a photo at `site`: the submission, the photo's bytes in its blob store and the attachment event. */
export function attachPhoto(site: RadioSite, record: string, bytes: Buffer, type = PHOTO_TYPE): Uint8Array {
  const hash = sha256(bytes);
  site.upsert(record, type, { village: "north" });
  site.store.blobs.put(bytes, "image/jpeg", hash);
  site.store.append({ kind: "attachment", record: recordId(record), type: recordType(type), field: "photo", hash, size: bytes.length, mime: "image/jpeg" });
  site.announce();
  return hash;
}

/** A record id for test `n`. */
export function uuid(n: number): string {
  return `uuid:00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/** An unsealed whole-message packet (RNode header, 8-byte air header) carrying a blob message (type 5 or 6). */
export function isBlobPacket(bytes: Uint8Array): boolean {
  if (((bytes[1 + 3] ?? 0) & 0x7f) !== 1) return false; // not a whole message
  const message = bytes.subarray(1 + 8);
  return message[0] === 0x84 || message[0] === 0x85 ? message[2] === 5 || message[2] === 6 : false;
}
