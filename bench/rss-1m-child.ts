/**
 * Child process of the 1M-event memory benchmark: a clean node process that
 * opens a file store, ingests every "events" message framed on stdin
 * (4-byte big-endian length, then the message), and reports its resident
 * memory as one JSON line on stdout. Arguments: the member author ids.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAuthorId, type AuthorId } from "../src/engine/ids.js";
import { openStore, type SqliteStore } from "../src/engine/store/sqlite-store.js";
import { decodeMessage } from "../src/engine/sync/messages.js";

/** The child's report. */
export interface RssReport {
  readonly events: number;
  readonly records: number;
  readonly ingestMs: number;
  readonly rssBytes: number;
  /** RSS before the forced GC (equal to rssBytes when gc is not exposed). */
  readonly rssBeforeGcBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly gcForced: boolean;
}

function ingestFrame(store: SqliteStore, frame: Buffer): number {
  const parsed = decodeMessage(frame);
  if (!parsed.ok || parsed.message.type !== "events") throw new Error("undecodable frame");
  const author = store.authorByShort(parsed.message.short);
  if (!author) throw new Error("frame from a non-member");
  const report = store.ingestWire(author, parsed.message.start, parsed.message.items);
  if (report.applied !== parsed.message.items.length) throw new Error(`frame not fully applied: ${JSON.stringify(report.refused)}`);
  return report.applied;
}

async function main(): Promise<void> {
  const authors = process.argv.slice(2).map(parseAuthorId);
  if (authors.length === 0 || authors.some((a) => a === undefined)) throw new Error("usage: rss-1m-child.js <author-id>...");
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-rss-"));
  try {
    const store = openStore({ path: join(dir, "store.db") });
    for (const a of authors as AuthorId[]) store.addMember(a);
    let pending: Buffer = Buffer.alloc(0);
    let events = 0;
    let ingestMs = 0;
    const start = performance.now();
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 4) {
        const len = pending.readUInt32BE(at);
        if (pending.length - at - 4 < len) break;
        const t = performance.now();
        events += ingestFrame(store, pending.subarray(at + 4, at + 4 + len));
        ingestMs += performance.now() - t;
        at += 4 + len;
        if (events % 100_000 === 0) {
          const s = (performance.now() - start) / 1000;
          process.stderr.write(`[bench] rss child: ${events} events in ${s.toFixed(0)} s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
        }
      }
      pending = pending.subarray(at);
    }
    if (pending.length > 0) throw new Error("stdin ended inside a frame");
    const rssBeforeGcBytes = process.memoryUsage().rss;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const mem = process.memoryUsage();
    const report: RssReport = {
      events, records: store.recordCount(), ingestMs, rssBytes: mem.rss, rssBeforeGcBytes,
      heapUsedBytes: mem.heapUsed, externalBytes: mem.external, gcForced: gc !== undefined,
    };
    store.close();
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
