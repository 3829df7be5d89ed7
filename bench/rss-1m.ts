/**
 * Resident memory after ingesting 1,000,000 events into a file store,
 * measured in a clean child process. This process signs the events (a
 * water-point form: smaller bodies keep signing and ingest within the bench's
 * time budget) and streams them to the child as framed "events" messages,
 * so neither side ever holds the whole workload.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { signedBatches } from "./feeds.js";
import { benchSigners, type WorkloadOptions } from "./fixtures.js";
import { log, since } from "./metrics.js";
import type { RssReport } from "./rss-1m-child.js";

/** Default workload: a million water-point upserts from 5 sites, 20% corrections. */
export const RSS_WORKLOAD: WorkloadOptions = { seed: 1_000_000, authors: 5, events: 1_000_000, editShare: 0.2, form: "water_point_check" };

function isRssReport(v: unknown): v is RssReport {
  const r = v as Partial<RssReport> | null;
  return typeof r === "object" && r !== null && typeof r.rssBytes === "number" && typeof r.events === "number";
}

/** Runs the child, feeds it the workload, and returns its report. */
export async function benchRss(workload: WorkloadOptions = RSS_WORKLOAD, batchSize = 100): Promise<RssReport> {
  const signers = benchSigners(workload.authors);
  const script = fileURLToPath(new URL("./rss-1m-child.js", import.meta.url));
  const child = spawn(process.execPath, ["--expose-gc", script, ...signers.map((s) => s.author)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  exited.catch(() => undefined); // awaited below; this only keeps an early spawn failure from going unhandled
  child.stdin.on("error", () => undefined); // a child that died early is reported by its exit status below
  const start = performance.now();
  try {
    for (const b of signedBatches(workload, signers, batchSize)) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(b.bytes.length);
      child.stdin.write(head);
      if (!child.stdin.write(b.bytes)) await Promise.race([once(child.stdin, "drain"), exited]);
      if (child.exitCode !== null) break;
    }
  } finally {
    child.stdin.end();
  }
  const [code, signal] = await exited;
  if (code !== 0) throw new Error(`rss child failed (exit ${code ?? signal})`);
  const report: unknown = JSON.parse(out.trim().split("\n").pop() ?? "null");
  if (!isRssReport(report)) throw new Error(`rss child printed no report: ${out}`);
  log(
    `rss: ${report.events} events, ${report.records} records in ${(since(start) / 1000).toFixed(0)} s ` +
      `(ingest ${((report.ingestMs * 1000) / report.events).toFixed(0)} µs/event); rss ${(report.rssBeforeGcBytes / 2 ** 20).toFixed(0)} MiB ` +
      `before GC, ${(report.rssBytes / 2 ** 20).toFixed(0)} MiB after; heap ${(report.heapUsedBytes / 2 ** 20).toFixed(0)} MiB, external ${(report.externalBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  return report;
}
