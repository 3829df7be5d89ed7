// @ts-check
/**
 * Attachment bytes by radio, under each link's airtime: the files this site
 * holds, those it still wants and how much of them has come, a bar of that,
 * and the link's chunk traffic. The numbers are the link's `blobs` in
 * /api/radio (and /api/status); a link that moves no blobs shows nothing.
 */
import { stackedBar } from "./charts.js";
import { empty, h, table } from "./dom.js";
import { bytes, count } from "./format.js";

/**
 * "2 chunks" / "1 chunk".
 * @param {number} n
 * @param {string} word
 */
const counted = (n, word) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;

/**
 * The bytes wanted as a bar: received so far, and still to come.
 * @param {any} b the link's blobs
 */
function wantedBar(b) {
  if (b.wanted.bytes <= 0) return null;
  const got = Math.min(b.partial.received, b.wanted.bytes);
  const words = `${bytes(got)} of ${bytes(b.wanted.bytes)} wanted received so far`;
  return h("div", { class: "bar-row blob-bar" },
    h("span", { class: "bar-name" }, "Fetching"),
    stackedBar([
      { value: got, cls: "seg-common", title: `${bytes(got)} received` },
      { value: b.wanted.bytes - got, cls: "seg-we-lack", title: `${bytes(b.wanted.bytes - got)} still to come` },
    ], b.wanted.bytes),
    h("span", { class: "bar-words" }, words));
}

/**
 * What the link received and sent of attachment chunks, in one line each.
 * @param {any} c the blob counters
 */
function trafficLines(c) {
  const received = [
    `${count(c.chunksKept)} kept`, `${count(c.unwantedChunks)} not wanted here`, `${count(c.duplicateChunks)} already held`, `${count(c.badChunks)} bad`,
  ].join(", ");
  return [
    h("p", {}, `${counted(c.chunksReceived, "chunk")} received: ${received}. ${counted(c.blobsStored, "file")} completed`,
      c.badAssemblies > 0 ? h("span", { class: "error-text" }, ` (${count(c.badAssemblies)} failed the hash check and are fetched again)`) : null, "."),
    h("p", {}, `${counted(c.chunksSent, "chunk")} sent (${count(c.partialChunksSent)} passed on from files still arriving), ${count(c.suppressedChunks)} left to another station that sent them first; ${counted(c.wantsSent, "request")} sent.`),
  ];
}

/**
 * The attachments section of a link's card; null when the link moves no blobs.
 * @param {any} l a link of /api/radio
 */
export function blobSection(l) {
  const b = l.blobs;
  if (!b) return null;
  const c = b.counters;
  const quiet = b.held.count === 0 && b.wanted.count === 0 && c.chunksReceived === 0 && c.chunksSent === 0;
  return h("section", { class: "blobs", "data-blobs": l.index },
    h("h4", {}, "Attachments by radio"),
    quiet ? empty("No attachment held, wanted or moved on this link yet. Files come by radio for the forms whose mapping here says transfer.") : [
      table({
        caption: `Attachments by radio on ${l.target}`,
        columns: ["Files", "How many", "Size"],
        numeric: [1, 2],
        rowHeader: true,
        rows: [
          ["Held at this site", count(b.held.count), bytes(b.held.bytes)],
          ["Wanted, not held yet", count(b.wanted.count), bytes(b.wanted.bytes)],
          ["Part-way received", count(b.partial.count), `${bytes(b.partial.received)} of ${bytes(b.partial.bytes)}`],
        ],
      }),
      wantedBar(b),
      trafficLines(c),
    ]);
}
